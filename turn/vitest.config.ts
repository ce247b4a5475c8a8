import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "turn",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["test/**/*.test.ts"],
    // Each coturn test owns its ports; 20 s covers a start and a handful of round trips.
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
