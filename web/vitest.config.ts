import { defineConfig } from "vitest/config";

// Stores are tested with Solid's reactive (browser) build: the default Node resolution picks
// its server build, where effects never run.
const conditions = ["browser", "development"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    server: { deps: { inline: [/solid-js/] } },
  },
});
