import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, startStack } from "./lib/stack.ts";

/** `npm start`: build the web app, start wrangler dev and one SFU node, print the URL. */

const PORT = Number(process.env.PORT ?? 8787);
const say = (line: string) => process.stdout.write(`[meridian] ${line}\n`);

/** The node secret both sides share: from the environment, else `.dev.vars`, else a new one kept there. */
function nodeSecret(): string {
  if (process.env.NODE_SECRET) return process.env.NODE_SECRET;
  const file = join(ROOT, ".dev.vars");
  const existing = existsSync(file) ? readFileSync(file, "utf8").match(/^NODE_SECRET\s*=\s*"?([^"\n]+)"?/m)?.[1] : undefined;
  if (existing) return existing;
  const secret = randomBytes(24).toString("base64url");
  writeFileSync(file, `${existsSync(file) ? readFileSync(file, "utf8") : ""}NODE_SECRET="${secret}"\n`, { mode: 0o600 });
  say("generated a local node secret in .dev.vars");
  return secret;
}

say("building the web app");
const build = spawnSync(process.execPath, [join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "warn"], {
  cwd: join(ROOT, "web"),
  stdio: "inherit",
});
if (build.status !== 0) process.exit(build.status ?? 1);

say("starting the edge (wrangler dev) and an SFU node");
const stack = await startStack({
  port: PORT,
  nodeSecret: nodeSecret(),
  persistTo: join(ROOT, ".wrangler/state"),
  nodes: [{ id: "local-1", region: "local", rtcPortBase: Number(process.env.RTC_PORT_BASE ?? 40000), workers: 1 }],
  logs: "inherit",
  edgeLogLevel: "warn",
});
say(`ready: open ${stack.url} in two tabs and start a call (Ctrl-C stops everything)`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  say("stopping");
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
for (const child of [...stack.nodes.values()]) {
  child.on("exit", (code) => {
    if (!stopping) say(`the SFU node exited (${code}); stopping`);
    void stop();
  });
}
