import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "@meridian/protocol";
import { createLogger, type Logger } from "../../sfu-nodes/src/log.ts";
import { loadAgentConfig, type AgentConfig } from "../src/agent-config.ts";
import { REFUSED_SECRET_REASON, probeStun } from "../src/probe.ts";
import { devParams } from "../src/render-config.ts";
import { TurnAgent } from "../src/turn-agent.ts";
import { coturnAvailable, killAndWait, startCoturn, type RunningCoturn } from "./support/coturn.ts";
import { startFakeEdge, type FakeEdge, type Frame } from "./support/fake-edge.ts";
import { startUdpTap } from "./support/udp-tap.ts";

/** The TURN agent against a scripted edge and a real coturn it health-checks. */

const NODE_SECRET = "node-secret-0123456789abcdef";
/** The edge's TURN secret, and one coturn was wrongly given instead. */
const TURN_SECRET = "dev-secret-agent-0123456789abcdef";
const STALE_TURN_SECRET = "stale-secret-agent-0123456789abcd";
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function edge(): Promise<FakeEdge> {
  const e = await startFakeEdge();
  cleanups.push(() => e.close());
  return e;
}

async function coturn(ports?: RunningCoturn["ports"], secret = TURN_SECRET): Promise<RunningCoturn> {
  const c = await startCoturn({ params: (p) => devParams(secret, { ports: p }), ...(ports ? { ports } : {}) });
  cleanups.push(() => c.stop());
  return c;
}

type LogLine = Record<string, unknown> & { level: string; msg: string };

/** A logger that keeps its lines, and waits for one. */
function captureLog(): { log: Logger; lines: LogLine[]; next(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine> } {
  const lines: LogLine[] = [];
  const waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  const log = createLogger("test", "info", (text) => {
    const line = JSON.parse(text) as LogLine;
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.match(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  return {
    log,
    lines,
    next(match, timeoutMs = 8000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (line: LogLine) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no matching log line in ${timeoutMs} ms; got:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
  };
}

const refusedSecret = (line: LogLine) => line.level === "warn" && String(line.reason).includes(REFUSED_SECRET_REASON);
const authProbeOff = (line: LogLine) => line.level === "warn" && line.msg.startsWith("TURN_SECRET is not set");

function env(edgeUrl: string, probePort: number): Record<string, string> {
  return {
    EDGE_URL: edgeUrl,
    NODE_SECRET,
    NODE_ID: "turn-fra-1",
    NODE_REGION: "eu-central-1",
    NODE_LAT: "50.11",
    NODE_LON: "8.68",
    TURN_PROBE_HOST: "127.0.0.1",
    TURN_PROBE_PORT: String(probePort),
    TURN_URLS: "turn:203.0.113.9:3478?transport=udp,turn:203.0.113.9:3478?transport=tcp",
    HEALTH_INTERVAL_MS: "100",
    HEALTH_FAILURES: "2",
    LOAD_REPORT_INTERVAL_MS: "60000",
    LOG_LEVEL: "silent",
  };
}

const isRegister = (f: Frame) => f.kind === "req" && f.method === "register";
const loadWith = (state: string) => (f: Frame) => f.kind === "evt" && f.event === "load" && (f.data as { state: string }).state === state;

describe("agent configuration", () => {
  it("reads the SFU node's variable names and defaults the probe port from ports.json", () => {
    const config = loadAgentConfig({ NODE_SECRET, NODE_ID: "t1", NODE_LAT: "-33.9", NODE_LON: "151.2" });
    expect(config).toMatchObject({ nodeId: "t1", lat: -33.9, lon: 151.2, probe: { host: "127.0.0.1", port: 3478 } });
  });

  it("refuses a missing or short secret and a bad node id", () => {
    expect(() => loadAgentConfig({})).toThrow(/NODE_SECRET is required/);
    expect(() => loadAgentConfig({ NODE_SECRET: "short" })).toThrow(/at least 16/);
    expect(() => loadAgentConfig({ NODE_SECRET, NODE_ID: "bad id!" })).toThrow(/NODE_ID/);
    expect(() => loadAgentConfig({ NODE_SECRET, TURN_URLS: "http://203.0.113.9" })).toThrow(/TURN_URLS/);
  });

  it("reads TURN_SECRET like the edge (the first of its secrets) and leaves it unset when absent or empty", () => {
    expect(loadAgentConfig({ NODE_SECRET, TURN_SECRET: "current-one previous-one" }).turnSecret).toBe("current-one");
    expect(loadAgentConfig({ NODE_SECRET, TURN_SECRET: " current-one,previous-one" }).turnSecret).toBe("current-one");
    expect(loadAgentConfig({ NODE_SECRET }).turnSecret).toBeUndefined();
    expect(loadAgentConfig({ NODE_SECRET, TURN_SECRET: "" }).turnSecret).toBeUndefined();
  });
});

describe.runIf(coturnAvailable())("TURN agent", () => {
  it("registers as an active TURN node, refuses media calls, drains while coturn is down and recovers", async () => {
    const e = await edge();
    const server = await coturn();
    // No TURN_SECRET: the STUN-only check of before, which says so once.
    const config: AgentConfig = loadAgentConfig(env(e.url, server.ports.listeningPort));
    const captured = captureLog();
    const agent = new TurnAgent(config, captured.log, { backoff: { baseMs: 20, maxMs: 100 } });
    cleanups.push(() => agent.stop());
    await agent.start();

    const register = await e.next(isRegister);
    expect(register.headers?.authorization).toBe(`Bearer ${NODE_SECRET}`);
    expect(register.headers?.["x-meridian-node-id"]).toBe("turn-fra-1");
    expect(register.params).toMatchObject({
      protocol: PROTOCOL_VERSION,
      nodeId: "turn-fra-1",
      kind: "turn",
      region: "eu-central-1",
      lat: 50.11,
      lon: 8.68,
      load: { state: "active", workers: 1, routers: 0 },
      urls: ["turn:203.0.113.9:3478?transport=udp", "turn:203.0.113.9:3478?transport=tcp"],
    });

    e.sockets[0]!.send(JSON.stringify({ kind: "req", id: 9, method: "createRouter", params: { roomId: "room-1" } }));
    const answer = await e.next((f) => f.kind === "res" && f.id === 9);
    expect(answer.error).toMatchObject({ code: "unknown_method" });

    const ports = server.ports;
    await server.stop();
    await e.next(loadWith("draining"));
    expect(agent.state).toBe("draining");

    await coturn(ports);
    await e.next(loadWith("active"));
    expect(agent.state).toBe("active");
    expect(captured.lines.filter(authProbeOff)).toHaveLength(1);
  });

  it("with the edge's TURN secret: active while coturn grants an allocation, draining with the reason when coturn's secret stops matching, active again once it matches", async () => {
    const e = await edge();
    const matching = await coturn();
    const stale = await coturn(undefined, STALE_TURN_SECRET);
    // The agent probes through the tap, which can switch it to the other coturn with
    // no gap in STUN answers: only the secret changes under the agent.
    const tap = await startUdpTap({ host: matching.host, port: matching.ports.listeningPort });
    cleanups.push(() => tap.close());
    const captured = captureLog();
    // Probes 200 ms apart: coturn frees a released allocation a second later, and the
    // probe's user may hold 12 (user-quota).
    const config = loadAgentConfig({ ...env(e.url, tap.port), TURN_SECRET, HEALTH_INTERVAL_MS: "200" });
    const agent = new TurnAgent(config, captured.log, { backoff: { baseMs: 20, maxMs: 100 } });
    cleanups.push(() => agent.stop());
    await agent.start();
    expect((await e.next(isRegister)).params).toMatchObject({ load: { state: "active", workers: 1 } });
    expect(captured.lines.filter(authProbeOff)).toHaveLength(0);

    tap.retarget({ host: stale.host, port: stale.ports.listeningPort });
    const drained = await captured.next((line) => line.msg === "coturn health check failed; node draining");
    expect(String(drained.reason)).toContain(REFUSED_SECRET_REASON);
    expect(drained.failures).toBe(2);
    await e.next(loadWith("draining"));
    expect(agent.state).toBe("draining");

    tap.retarget({ host: matching.host, port: matching.ports.listeningPort });
    await e.next(loadWith("active"));
    expect(agent.state).toBe("active");
  });

  it("registers as draining, and says why, while coturn answers STUN but refuses the edge's TURN secret", async () => {
    const e = await edge();
    const server = await coturn(undefined, STALE_TURN_SECRET);
    // The check of before would call this coturn healthy.
    expect(await probeStun({ host: server.host, port: server.ports.listeningPort })).toBe(true);
    const captured = captureLog();
    const agent = new TurnAgent(
      loadAgentConfig({ ...env(e.url, server.ports.listeningPort), TURN_SECRET, HEALTH_INTERVAL_MS: "200" }),
      captured.log,
    );
    cleanups.push(() => agent.stop());
    await agent.start();
    expect((await e.next(isRegister)).params).toMatchObject({ kind: "turn", load: { state: "draining", workers: 0 } });
    const line = await captured.next(refusedSecret);
    expect(line).toMatchObject({ msg: "coturn is not healthy; node stays draining" });
    expect(agent.state).toBe("draining");
    expect(JSON.stringify(captured.lines)).not.toContain(TURN_SECRET);
  });

  it("registers as draining while coturn does not answer", async () => {
    const e = await edge();
    const agent = new TurnAgent(loadAgentConfig(env(e.url, 9)), createLogger("test", "silent"));
    cleanups.push(() => agent.stop());
    await agent.start();
    const register = await e.next(isRegister);
    expect(register.params).toMatchObject({ kind: "turn", load: { state: "draining", workers: 0 } });
  });

  it("runs as `node turn/src/agent.ts` and reports draining before it exits on SIGTERM", async () => {
    const e = await edge();
    const server = await coturn();
    const entry = fileURLToPath(new URL("../src/agent.ts", import.meta.url));
    const child = spawn(process.execPath, [entry], {
      env: { PATH: process.env.PATH ?? "", ...env(e.url, server.ports.listeningPort), TURN_SECRET, HEALTH_INTERVAL_MS: "200", LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    cleanups.push(() => killAndWait(child));

    const register = await e.next(isRegister).catch((error: Error) => {
      throw new Error(`${error.message}\n--- agent output ---\n${output}`);
    });
    expect(register.params).toMatchObject({ kind: "turn", nodeId: "turn-fra-1" });
    // Active at registration, or right after if its first probe raced a busy machine.
    if ((register.params as { load: { state: string } }).load.state !== "active") await e.next(loadWith("active"));

    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await e.next(loadWith("draining"));
    expect(await e.nextClose()).toBe(1001);
    const [code] = await exited;
    expect(code).toBe(0);
    // JSON lines only, and the secret never in them.
    for (const line of output.trim().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
    expect(output).not.toContain(NODE_SECRET);
    expect(output).not.toContain(TURN_SECRET);
    expect(output).not.toContain("TURN_SECRET is not set");
  });
});
