import { defineConfig } from "vitest/config";

// `vitest run` at the root runs every package's own suite; the browser tests have their
// own config (e2e/vitest.config.ts) because they need the built web app.
export default defineConfig({
  test: {
    projects: ["protocol", "node-agent", "edge", "sfu-nodes", "web", "turn", "terraform/test"],
  },
});
