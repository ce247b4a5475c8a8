import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { probeStun } from "./probe.ts";
import { renderTurnConfig, type TurnConfigParams } from "./render-config.ts";

/**
 * Runs coturn as a child process with a rendered config: for the local stack
 * (`npm start`, e2e) with the dev variant, and for the tests with either variant.
 * Resolves once coturn answers STUN on its listening port.
 */

export const TURNSERVER_BIN = process.env.TURNSERVER_BIN ?? "/usr/bin/turnserver";

export interface LocalCoturnOptions {
  readonly params: TurnConfigParams;
  /** A private directory for the config (mode 0600), pid file and coturn's database. */
  readonly dir: string;
  readonly bin?: string;
  readonly readyTimeoutMs?: number;
  /** Receives coturn's output (it logs to stdout); kept in memory when absent. */
  readonly onOutput?: (chunk: string) => void;
}

export interface LocalCoturn {
  readonly pid: number;
  readonly config: string;
  readonly child: ChildProcess;
  /** coturn's output so far, when no onOutput was given. */
  log(): string;
  stop(): Promise<void>;
}

export async function startLocalCoturn(options: LocalCoturnOptions): Promise<LocalCoturn> {
  const config = renderTurnConfig(options.params);
  const configFile = join(options.dir, "turnserver.conf");
  await writeFile(configFile, config, { mode: 0o600 });
  const child = spawn(
    options.bin ?? TURNSERVER_BIN,
    ["-c", configFile, `--pidfile=${join(options.dir, "turnserver.pid")}`, `--db=${join(options.dir, "turndb")}`],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  const sink = options.onOutput ?? ((chunk: string) => (log += chunk));
  child.stdout!.on("data", (chunk: Buffer) => sink(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => sink(chunk.toString()));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", reject);
  });
  await spawned;
  const running: LocalCoturn = { pid: child.pid!, config, child, log: () => log, stop: () => stopChild(child) };
  try {
    await waitForStun(child, options.params.listeningIps[0]!, options.params.ports.listeningPort, options.readyTimeoutMs ?? 10_000);
  } catch (error) {
    await running.stop();
    throw new Error(`${(error as Error).message}\n--- coturn output ---\n${log.slice(-3000)}`);
  }
  return running;
}

async function waitForStun(child: ChildProcess, host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = `coturn exited early (code ${code}, signal ${signal})`));
  // coturn signals readiness only to systemd (sd_notify), so answering STUN is the
  // observable event: probed with a per-probe timeout, up to an overall deadline.
  while (Date.now() < deadline) {
    if (exited) throw new Error(exited);
    if (await probeStun({ host, port }, 200)) return;
  }
  throw new Error(`coturn did not answer STUN on ${host}:${port} within ${timeoutMs} ms`);
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process has exited. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
