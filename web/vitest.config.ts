import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Stores are tested with Solid's reactive browser build: Node's resolution picks its server
// build, where effects never run. Only Solid is redirected (ws must stay the Node build).
const solid = (path: string) => fileURLToPath(new URL(`../node_modules/solid-js/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^solid-js$/, replacement: solid("dist/dev.js") },
      { find: /^solid-js\/store$/, replacement: solid("store/dist/dev.js") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    server: { deps: { inline: [/solid-js/] } },
  },
});
