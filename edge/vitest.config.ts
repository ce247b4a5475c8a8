import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export const TEST_NODE_SECRET = "test-node-secret-0123456789";
// wrangler.toml declares NODE_SECRET as a required secret; the tests provide it.
process.env.NODE_SECRET ??= TEST_NODE_SECRET;

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../wrangler.toml" },
      miniflare: { bindings: { NODE_SECRET: TEST_NODE_SECRET, LOG_LEVEL: "error" } },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
  },
});
