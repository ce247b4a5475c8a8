import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "terraform",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["**/*.test.ts"],
    // Runs terraform (init + apply of a provider-free fixture) once per file.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
