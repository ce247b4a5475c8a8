import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, writeFileSync, type WriteStream } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { TURNSERVER_BIN, startLocalCoturn, type LocalCoturn } from "@meridian/turn/local-coturn";
import { loadPorts } from "@meridian/turn/ports";
import { devParams } from "@meridian/turn/render-config";
import { envFile as toEnvFile, newEdgeSecrets } from "./secrets.ts";

/** Starts the local stack (wrangler dev + SFU nodes) for `npm start`, the e2e tests and benchmarks. */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface NodeSpec {
  readonly id: string;
  readonly region?: string;
  readonly lat?: number;
  readonly lon?: number;
  readonly workers?: number;
  /** First WebRtcServer port; worker i listens on base+i (UDP and TCP). */
  readonly rtcPortBase: number;
  readonly env?: Record<string, string>;
}

export interface StackOptions {
  /** The Worker's wrangler config; the project's by default. */
  readonly config?: string;
  readonly port: number;
  readonly nodeSecret: string;
  /** The edge's other secrets and vars (SIGNING_KEYS, API_KEYS, WEBHOOK_SECRET, …); fresh ones by default. */
  readonly edgeEnv?: Record<string, string>;
  /** Durable Object storage directory (`wrangler dev --persist-to`). */
  readonly persistTo: string;
  readonly nodes: readonly NodeSpec[];
  /** Where child output goes: a directory of log files, or "inherit" to print it with a prefix. */
  readonly logs: { dir: string } | "inherit";
  readonly startTimeoutMs?: number;
  readonly edgeLogLevel?: "debug" | "info" | "warn" | "error";
  /** Worker vars to override (wrangler.toml [vars]), e.g. shorter room timeouts for tests. */
  readonly edgeVars?: Record<string, string>;
  /**
   * A local coturn (dev variant: loopback only) and its registration agent, when coturn
   * is installed; `required` makes a missing coturn an error instead of "no TURN".
   */
  readonly turn?: { readonly listeningPort?: number; readonly required?: boolean };
}

export interface Stack {
  readonly url: string;
  readonly nodes: Map<string, ChildProcess>;
  /** The local coturn's TURN port and the secret the edge mints credentials with; absent without coturn. */
  readonly turn?: { readonly port: number; readonly secret: string };
  /** Starts another node; resolves once it logs a line matching `ready` (default: registered). */
  startNode(spec: NodeSpec, ready?: (entry: Record<string, unknown>) => boolean): Promise<ChildProcess>;
  stop(): Promise<void>;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const timeout = options.startTimeoutMs ?? 60_000;
  const url = `http://127.0.0.1:${options.port}`;
  const children: ChildProcess[] = [];
  const nodes = new Map<string, ChildProcess>();
  const logFiles: WriteStream[] = [];

  const output = (name: string, child: ChildProcess) => {
    if (options.logs === "inherit") {
      for (const stream of [child.stdout, child.stderr]) {
        if (!stream) continue;
        createInterface({ input: stream }).on("line", (line) => process.stdout.write(`[${name}] ${line}\n`));
      }
      return;
    }
    mkdirSync(options.logs.dir, { recursive: true });
    const file = createWriteStream(join(options.logs.dir, `${name}.log`));
    logFiles.push(file);
    child.stdout?.pipe(file, { end: false });
    child.stderr?.pipe(file, { end: false });
  };

  // Nodes first (SIGINT: stop now, no drain), so they close their edge sockets cleanly, then the edge.
  let coturn: LocalCoturn | undefined;
  const stop = async () => {
    const [edge, ...rest] = children;
    await Promise.all(rest.map((child) => stopChild(child, 5000, "SIGINT")));
    if (edge) await stopChild(edge);
    await coturn?.stop();
    for (const file of logFiles) file.end();
  };

  try {
    // The secret goes in an env file of this stack's own: wrangler would otherwise prefer a
    // developer's .dev.vars over the environment, and the nodes would not get in.
    mkdirSync(options.persistTo, { recursive: true });
    const envFile = join(options.persistTo, "stack.env");
    const edgeSecrets = { ...newEdgeSecrets(), ...options.edgeEnv, NODE_SECRET: options.nodeSecret };
    writeFileSync(envFile, toEnvFile(edgeSecrets), { mode: 0o600 });
    const wrangler = spawn(
      process.execPath,
      [
        join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
        "dev",
        "--config", options.config ?? join(ROOT, "wrangler.toml"),
        "--local",
        "--ip", "127.0.0.1",
        "--port", String(options.port),
        "--inspector-port", "0",
        "--show-interactive-dev-session=false",
        "--persist-to", options.persistTo,
        "--env-file", envFile,
        "--log-level", "warn",
        "--var", `LOG_LEVEL:${options.edgeLogLevel ?? "warn"}`,
        ...Object.entries(options.edgeVars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
      ],
      {
        cwd: ROOT,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          // Offline: no cf.json download, no telemetry.
          CLOUDFLARE_CF_FETCH_ENABLED: "false",
          WRANGLER_SEND_METRICS: "false",
          CI: process.env.CI ?? "",
        },
      },
    );
    children.push(wrangler);
    output("edge", wrangler);
    await waitForHttp(`${url}/api/health`, wrangler, timeout);

    const registered = (entry: Record<string, unknown>) => entry.msg === "registered with edge";

    /** A node process (SFU or TURN agent) dialling this edge; resolves when it logs `ready`. */
    const spawnNode = async (script: string, name: string, env: Record<string, string>, ready: (entry: Record<string, unknown>) => boolean) => {
      const child = spawn(process.execPath, [join(ROOT, script)], {
        cwd: ROOT,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, EDGE_URL: url, NODE_SECRET: options.nodeSecret, NODE_REGION: "local", LOAD_REPORT_INTERVAL_MS: "2000", ...env },
      });
      children.push(child);
      const readyLine = waitForLogLine(child, ready, timeout, name);
      output(name, child);
      await readyLine;
      return child;
    };

    const startNode = async (spec: NodeSpec, ready = registered) => {
      const child = await spawnNode(
        "sfu-nodes/src/main.ts",
        `node-${spec.id}`,
        {
          NODE_ID: spec.id,
          ...(spec.region ? { NODE_REGION: spec.region } : {}),
          NODE_LAT: String(spec.lat ?? 0),
          NODE_LON: String(spec.lon ?? 0),
          MEDIASOUP_NUM_WORKERS: String(spec.workers ?? 1),
          LISTEN_IP: "127.0.0.1",
          RTC_PORT_BASE: String(spec.rtcPortBase),
          // Several nodes share this host: metrics only where asked for.
          METRICS_PORT: "0",
          ...spec.env,
        },
        ready,
      );
      nodes.set(spec.id, child);
      return child;
    };

    for (const spec of options.nodes) await startNode(spec);

    let turn: Stack["turn"];
    if (options.turn && existsSync(TURNSERVER_BIN)) {
      const secret = edgeSecrets.TURN_SECRET!.split(/[\s,]+/)[0]!;
      const port = options.turn.listeningPort ?? loadPorts().turn.listeningPort;
      const dir = join(options.persistTo, "coturn");
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const coturnLog = options.logs === "inherit" ? undefined : createWriteStream(join(options.logs.dir, "coturn.log"));
      if (coturnLog) logFiles.push(coturnLog);
      coturn = await startLocalCoturn({
        params: devParams(secret, { ports: { ...loadPorts().turn, listeningPort: port } }),
        dir,
        ...(coturnLog ? { onOutput: (chunk: string) => coturnLog.write(chunk) } : { onOutput: () => undefined }),
      });
      await spawnNode(
        "turn/src/agent.ts",
        "turn-agent",
        {
          NODE_ID: "turn-local",
          // The agent's health check allocates with the edge's secret, as in production.
          TURN_SECRET: secret,
          // No metrics port locally: stacks may run side by side on one loopback.
          METRICS_PORT: "0",
          TURN_PROBE_HOST: "127.0.0.1",
          TURN_PROBE_PORT: String(port),
          TURN_URLS: `turn:127.0.0.1:${port}?transport=udp,turn:127.0.0.1:${port}?transport=tcp`,
        },
        registered,
      );
      turn = { port, secret };
    } else if (options.turn?.required) {
      throw new Error(`coturn is required but ${TURNSERVER_BIN} is not installed (apt-get install coturn)`);
    }
    return { url, nodes, startNode, stop, ...(turn ? { turn } : {}) };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once("exit", () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`edge (wrangler dev) exited before it answered ${url}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`edge did not answer ${url} within ${timeoutMs} ms`);
}

/** Resolves when the child prints a JSON log line matching `match`. */
export function waitForLogLine(
  child: ChildProcess,
  match: (entry: Record<string, unknown>) => boolean,
  timeoutMs: number,
  name: string,
): Promise<Record<string, unknown>> {
  return new Promise((resolveLine, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const tail: string[] = [];
    const timer = setTimeout(() => finish(new Error(`${name}: no matching log line within ${timeoutMs} ms; last output:\n${tail.join("\n")}`)), timeoutMs);
    const onExit = (code: number | null) => finish(new Error(`${name} exited (${code}) before it was ready; last output:\n${tail.join("\n")}`));
    const finish = (error?: Error, entry?: Record<string, unknown>) => {
      clearTimeout(timer);
      lines.off("line", onLine);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolveLine(entry!);
    };
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (match(entry)) finish(undefined, entry);
      } catch {
        // Not a JSON line.
      }
    };
    lines.on("line", onLine);
    child.once("exit", onExit);
  });
}

/** A signal (SIGTERM by default) to the child's process group (wrangler runs workerd below it), then SIGKILL. */
export function stopChild(child: ChildProcess, graceMs = 5000, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((done) => {
    const pid = child.pid!;
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal);
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      kill("SIGKILL"); // anything the child left behind in its group
      done();
    });
    kill(signal);
  });
}
