import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build, type Manifest } from "vite";
import solid from "vite-plugin-solid";
import { ROOT } from "../../scripts/lib/stack.ts";
import { progress } from "../lib/stats.ts";

/**
 * bench/web-bundle: what a browser downloads (gzip) before the landing page runs, and
 * what the call adds when it opens, from a production build of web/ (its own vite config).
 * Baseline in the same run: a Solid hello world built by the same Vite and Solid plugin —
 * the floor for "a Solid app that renders something".
 */

const TARGET_INITIAL_JS = 80 * 1024;
const WEB = join(ROOT, "web");

const gzip = (path: string) => gzipSync(readFileSync(path), { level: 9 }).length;

/** The files index.html loads before anything runs: the entry script, its preloads, its styles. */
function initialFiles(outDir: string): { js: string[]; css: string[] } {
  const html = readFileSync(join(outDir, "index.html"), "utf8");
  const attr = (pattern: RegExp) => [...html.matchAll(pattern)].map((m) => join(outDir, m[1]!));
  return {
    js: [...attr(/<script[^>]+type="module"[^>]+src="([^"]+)"/g), ...attr(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g)],
    css: attr(/<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"/g),
  };
}

/** Every chunk (and its CSS) a dynamic import pulls in, not counting what is already loaded. */
function closure(manifest: Manifest, key: string, loaded: Set<string>): { js: string[]; css: string[] } {
  const js: string[] = [];
  const css: string[] = [];
  const visit = (k: string) => {
    const chunk = manifest[k];
    if (!chunk || loaded.has(chunk.file)) return;
    loaded.add(chunk.file);
    js.push(chunk.file);
    for (const file of chunk.css ?? []) if (!loaded.has(file)) (loaded.add(file), css.push(file));
    for (const imported of chunk.imports ?? []) visit(imported);
  };
  visit(key);
  return { js, css };
}

const sum = (files: string[], dir: string) => files.reduce((total, file) => total + gzip(join(dir, file)), 0);

async function buildApp(outDir: string): Promise<void> {
  await build({
    root: WEB,
    configFile: join(WEB, "vite.config.ts"),
    logLevel: "silent",
    build: { outDir, emptyOutDir: true, manifest: true, sourcemap: false },
  });
}

async function buildHelloWorld(dir: string): Promise<void> {
  writeFileSync(join(dir, "index.html"), `<!doctype html><html><body><div id="root"></div><script type="module" src="/main.tsx"></script></body></html>`);
  writeFileSync(join(dir, "main.tsx"), `import { render } from "solid-js/web";\nrender(() => <h1>Hello</h1>, document.getElementById("root")!);\n`);
  await build({
    root: dir,
    configFile: false,
    logLevel: "silent",
    plugins: [solid()],
    build: { outDir: join(dir, "dist"), emptyOutDir: true, target: "es2022" },
  });
}

// Inside the repo's node_modules, so the baseline resolves solid-js like the app does.
mkdirSync(join(ROOT, "node_modules/.cache"), { recursive: true });
const work = mkdtempSync(join(ROOT, "node_modules/.cache/meridian-bench-bundle-"));
try {
  const outDir = join(work, "app");
  progress("building web/");
  await buildApp(outDir);
  const manifest = JSON.parse(readFileSync(join(outDir, ".vite/manifest.json"), "utf8")) as Manifest;
  const initial = initialFiles(outDir);
  const loaded = new Set([...initial.js, ...initial.css].map((path) => path.slice(outDir.length + 1)));
  const roomKey = Object.keys(manifest).find((key) => key.endsWith("src/pages/room.tsx"));
  if (!roomKey) throw new Error("no room page chunk in the manifest: is it still lazy-loaded?");
  const call = closure(manifest, roomKey, new Set(loaded));
  const initialJs = initial.js.reduce((t, path) => t + gzip(path), 0);
  const initialCss = initial.css.reduce((t, path) => t + gzip(path), 0);
  const callJs = sum(call.js, outDir);
  const callCss = sum(call.css, outDir);

  progress("building the Solid hello-world baseline");
  const hello = join(work, "hello");
  mkdirSync(hello, { recursive: true });
  await buildHelloWorld(hello);
  const helloJs = initialFiles(join(hello, "dist")).js.reduce((t, path) => t + gzip(path), 0);

  const kb = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;
  progress(`initial JS ${kb(initialJs)} KB, CSS ${kb(initialCss)} KB; the call adds JS ${kb(callJs)} KB, CSS ${kb(callCss)} KB; hello world ${kb(helloJs)} KB`);
  process.stdout.write(
    JSON.stringify({
      bench: "web-bundle",
      unit: "bytes (gzip -9)",
      initial: { what: "index.html's entry script, modulepreloads and stylesheets (the landing page)", js: initialJs, css: initialCss },
      call: { what: "added when a meeting page opens (lazy room chunk: call UI, stores, mediasoup-client, protocol)", js: callJs, css: callCss, chunks: call.js },
      baseline: { what: "Solid hello world, same Vite and Solid plugin", js: helloJs },
      ratio: Math.round((initialJs / helloJs) * 100) / 100,
      target: { initial_js_max: TARGET_INITIAL_JS },
      pass: initialJs <= TARGET_INITIAL_JS,
    }) + "\n",
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
