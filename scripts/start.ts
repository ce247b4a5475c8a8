import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { envFile, newEdgeSecrets, parseEnvFile } from "./lib/secrets.ts";
import { ROOT, startStack } from "./lib/stack.ts";

/** `npm start`: build the web app, start wrangler dev and one SFU node, print the URL. */

const PORT = Number(process.env.PORT ?? 8787);
const say = (line: string) => process.stdout.write(`[meridian] ${line}\n`);

/**
 * The edge's local secrets live in `.dev.vars` (git-ignored), created on first run and
 * completed when a newer version needs more; the SFU node gets the same NODE_SECRET.
 */
function localSecrets(): Record<string, string> {
  const file = join(ROOT, ".dev.vars");
  const existing = existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")) : {};
  const merged = { ...newEdgeSecrets(), ...existing };
  if (Object.keys(merged).some((k) => !(k in existing))) {
    writeFileSync(file, envFile(merged), { mode: 0o600 });
    say("wrote local secrets to .dev.vars");
  }
  return merged;
}

say("building the web app");
const build = spawnSync(process.execPath, [join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "warn"], {
  cwd: join(ROOT, "web"),
  stdio: "inherit",
});
if (build.status !== 0) process.exit(build.status ?? 1);

say("starting the edge (wrangler dev) and an SFU node");
const secrets = localSecrets();
const stack = await startStack({
  port: PORT,
  nodeSecret: secrets.NODE_SECRET!,
  edgeEnv: secrets,
  persistTo: join(ROOT, ".wrangler/state"),
  nodes: [
    {
      id: "local-1",
      region: "local",
      rtcPortBase: Number(process.env.RTC_PORT_BASE ?? 40000),
      workers: 1,
      env: { METRICS_PORT: process.env.METRICS_PORT ?? "9310" },
    },
  ],
  logs: "inherit",
  edgeLogLevel: "warn",
  turn: {},
});
say(stack.turn ? `TURN relay: coturn on 127.0.0.1:${stack.turn.port} (loopback only)` : "coturn is not installed: no TURN relay (apt-get install coturn adds one)");
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
