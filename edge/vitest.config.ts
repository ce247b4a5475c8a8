import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { newApiKey, newSigningKeys } from "../scripts/lib/secrets.ts";

/**
 * Edge tests run inside workerd. Secrets are generated per run; the test-only bindings
 * (TEST_*) give tests what an integrator or an operator would hold.
 */
export const TEST_NODE_SECRET = "test-node-secret-0123456789";
/** Queue names as in wrangler.toml; the tests retry less than production does (8). */
const ROOM_EVENTS_QUEUE = "meridian-room-events";
const ROOM_EVENTS_DLQ = "meridian-room-events-dlq";
const TEST_WEBHOOK_MAX_RETRIES = 2;
const oldKeys = JSON.parse(newSigningKeys("old-key")) as { keys: object[] };
const activeKeys = JSON.parse(newSigningKeys("active-key")) as { keys: object[] };
const retiredKeys = JSON.parse(newSigningKeys("retired-key")) as { keys: object[] };
const apiKey = newApiKey("acme");
// An operator key that signs node tokens; the edge knows only its public half.
const operator = (JSON.parse(newSigningKeys("operator-1")) as { keys: Array<Record<string, unknown>> }).keys[0]!;
const { d: _operatorPrivate, ...operatorPublic } = operator;

const secrets = {
  NODE_SECRET: `${TEST_NODE_SECRET} rotated-node-secret-9876543210`,
  // The active key signs; the old one still verifies (a rotation in progress).
  SIGNING_KEYS: JSON.stringify({ keys: [...activeKeys.keys, ...oldKeys.keys] }),
  API_KEYS: JSON.stringify([apiKey.entry]),
  WEBHOOK_SECRET: "test-webhook-secret",
  TURN_SECRET: "test-turn-secret-current test-turn-secret-previous",
};
// wrangler.toml declares these as required secrets; the tests provide them.
Object.assign(process.env, secrets);

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../wrangler.toml" },
      miniflare: {
        bindings: {
          ...secrets,
          LOG_LEVEL: "error",
          WEBHOOK_URLS: "https://hooks.example/meridian https://flaky.example/meridian",
          WEBHOOK_RETRY_BASE_S: "1",
          ALLOWED_ORIGINS: "https://embed.example",
          TEST_API_KEY: apiKey.key,
          TEST_OLD_SIGNING_KEYS: JSON.stringify(oldKeys),
          TEST_RETIRED_SIGNING_KEYS: JSON.stringify(retiredKeys),
          NODE_TOKEN_KEYS: JSON.stringify({ keys: [operatorPublic] }),
          TEST_NODE_OPERATOR_KEY: JSON.stringify(operator),
          TEST_WEBHOOK_MAX_RETRIES: String(TEST_WEBHOOK_MAX_RETRIES),
        },
        // The room-events consumer as in wrangler.toml, but giving up sooner: a delivery that
        // keeps failing reaches the dead-letter queue within seconds (1 + maxRetries attempts).
        queueConsumers: {
          [ROOM_EVENTS_QUEUE]: { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: TEST_WEBHOOK_MAX_RETRIES, deadLetterQueue: ROOM_EVENTS_DLQ },
        },
        // Every outbound fetch (webhook deliveries) goes to a receiver in the test.
        outboundService: "webhook-receiver",
        serviceBindings: { WEBHOOK_RECEIVER: "webhook-receiver" },
        workers: [
          {
            name: "webhook-receiver",
            modules: true,
            scriptPath: "./test/support/webhook-receiver.js",
            compatibilityDate: "2026-11-01",
            bindings: { WEBHOOK_SECRET: secrets.WEBHOOK_SECRET },
            // It also consumes the dead-letter queue, so tests can see what was given up on.
            queueConsumers: { [ROOM_EVENTS_DLQ]: { maxBatchTimeout: 1 } },
          },
        ],
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
  },
});
