import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { newApiKey, newSigningKeys } from "../scripts/lib/secrets.ts";

/**
 * Edge tests run inside workerd. Secrets are generated per run; the test-only bindings
 * (TEST_*) give tests what an integrator or an operator would hold.
 */
export const TEST_NODE_SECRET = "test-node-secret-0123456789";
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
          },
        ],
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
  },
});
