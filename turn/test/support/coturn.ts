import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TURNSERVER_BIN, startLocalCoturn, stopChild } from "../../src/local-coturn.ts";
import type { TurnConfigParams } from "../../src/render-config.ts";
import type { TurnPorts } from "../../src/ports.ts";

/**
 * Real coturn for the tests, on ports of its own (so suites and a running `npm start`
 * never collide), through the same launcher the local stack uses.
 */

/** Missing coturn: the suite fails under CI=true and is skipped with the reason elsewhere. */
export function coturnAvailable(): boolean {
  if (existsSync(TURNSERVER_BIN)) return true;
  const reason = `coturn not found at ${TURNSERVER_BIN} (apt-get install coturn)`;
  if (process.env.CI === "true") throw new Error(reason);
  console.warn(`skipping coturn tests: ${reason}`);
  return false;
}

export interface RunningCoturn {
  readonly host: "127.0.0.1";
  readonly ports: TurnPorts;
  readonly config: string;
  readonly pid: number;
  readonly dir: string;
  log(): string;
  stop(): Promise<void>;
}

const RELAY_PORTS = 16;

export interface StartOptions {
  /** Builds the render parameters once the ports and the scratch directory are known. */
  readonly params: (ports: TurnPorts, dir: string) => TurnConfigParams | Promise<TurnConfigParams>;
  /** Reuse these ports (a restart); otherwise a free block is picked. */
  readonly ports?: TurnPorts;
}

export async function startCoturn(options: StartOptions): Promise<RunningCoturn> {
  const dir = await mkdtemp(join(tmpdir(), "meridian-coturn-"));
  const base = options.ports ? 0 : await findFreePortBlock(2 + RELAY_PORTS);
  const ports: TurnPorts = options.ports ?? {
    listeningPort: base,
    tlsListeningPort: base + 1,
    altTlsListeningPort: base + 1,
    relayMinPort: base + 2,
    relayMaxPort: base + 1 + RELAY_PORTS,
    prometheusPort: 9641,
  };
  try {
    const coturn = await startLocalCoturn({ params: await options.params(ports, dir), dir });
    return {
      host: "127.0.0.1",
      ports,
      config: coturn.config,
      pid: coturn.pid,
      dir,
      log: coturn.log,
      stop: async () => {
        await coturn.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export { stopChild as killAndWait };

/** A block of consecutive ports free for both UDP and TCP on 127.0.0.1. */
export async function findFreePortBlock(count: number, attempts = 50): Promise<number> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (40_000 - count));
    let free = true;
    for (let port = base; port < base + count && free; port++) free = (await udpFree(port)) && (await tcpFree(port));
    if (free) return base;
  }
  throw new Error(`no block of ${count} free ports found in ${attempts} attempts`);
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => resolve(false));
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
  });
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A throwaway certificate for 127.0.0.1 / turn.test, made with the openssl CLI. */
export async function makeTestCertificate(dir: string): Promise<{ cert: string; pkey: string }> {
  const cert = join(dir, "cert.pem");
  const pkey = join(dir, "pkey.pem");
  const result = spawnSync(
    "openssl",
    [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", pkey, "-out", cert, "-days", "1", "-subj", "/CN=turn.test",
      "-addext", "subjectAltName=DNS:turn.test,IP:127.0.0.1",
    ],
    { encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr || result.error?.message}`);
  return { cert, pkey };
}
