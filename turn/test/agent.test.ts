import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { NODE_PROTOCOL_VERSION } from "@meridian/protocol";
import { createLogger } from "@meridian/node-agent";
import { captureLog, startFakeEdge, type FakeEdge, type Frame, type LogLine } from "@meridian/node-agent/testing";
import { mintTurnCredential } from "../src/credentials.ts";
import { loadAgentConfig, type AgentConfig } from "../src/agent-config.ts";
import { loadPorts } from "../src/ports.ts";
import { REFUSED_SECRET_REASON, probeStun } from "../src/probe.ts";
import { devParams } from "../src/render-config.ts";
import { TurnAgent } from "../src/turn-agent.ts";
import { coturnAvailable, findFreePortBlock, killAndWait, startCoturn, type RunningCoturn } from "./support/coturn.ts";
import { parseExposition, sampleValue, type Exposition } from "./support/prometheus.ts";
import { TurnClient } from "./support/turn-client.ts";
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
    // Tests that scrape pick a free port; the others serve nothing.
    METRICS_PORT: "0",
  };
}

async function scrape(port: number): Promise<Exposition> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics: ${response.status}`);
  return parseExposition(await response.text());
}

/** Scrapes until `done` holds for an exposition, up to a deadline; the last one otherwise fails the test. */
async function scrapeUntil(port: number, what: string, done: (e: Exposition) => boolean, timeoutMs = 8000): Promise<Exposition> {
  const deadline = Date.now() + timeoutMs;
  let last = await scrape(port);
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`metrics never showed ${what} within ${timeoutMs} ms; last scrape:\n${JSON.stringify(last.samples)}`);
    await delay(50);
    last = await scrape(port);
  }
  return last;
}

const isRegister = (f: Frame) => f.kind === "req" && f.method === "register";
const loadWith = (state: string) => (f: Frame) => f.kind === "evt" && f.event === "load" && (f.data as { state: string }).state === state;

describe("agent configuration", () => {
  it("reads the SFU node's variable names and defaults the probe port from ports.json", () => {
    const config = loadAgentConfig({ NODE_SECRET, NODE_ID: "t1", NODE_LAT: "-33.9", NODE_LON: "151.2" });
    expect(config).toMatchObject({ nodeId: "t1", lat: -33.9, lon: 151.2, probe: { host: "127.0.0.1", port: 3478 } });
  });

  it("serves metrics on loopback at ports.json's TURN Prometheus port by default, off with port 0, and counts coturn's relay range", () => {
    const ports = loadPorts().turn;
    expect(loadAgentConfig({ NODE_SECRET })).toMatchObject({
      metrics: { ip: "127.0.0.1", port: ports.prometheusPort },
      relayPorts: { min: ports.relayMinPort, max: ports.relayMaxPort },
    });
    const set = loadAgentConfig({ NODE_SECRET, METRICS_IP: "0.0.0.0", METRICS_PORT: "0", TURN_RELAY_MIN_PORT: "50000", TURN_RELAY_MAX_PORT: "50015" });
    expect(set).toMatchObject({ metrics: { ip: "0.0.0.0", port: 0 }, relayPorts: { min: 50000, max: 50015 } });
    expect(() => loadAgentConfig({ NODE_SECRET, METRICS_IP: "localhost" })).toThrow(/METRICS_IP/);
    expect(() => loadAgentConfig({ NODE_SECRET, METRICS_PORT: "65536" })).toThrow(/METRICS_PORT/);
    expect(() => loadAgentConfig({ NODE_SECRET, TURN_RELAY_MIN_PORT: "50016", TURN_RELAY_MAX_PORT: "50015" })).toThrow(/TURN_RELAY_MIN_PORT \(50016\) exceeds TURN_RELAY_MAX_PORT/);
    expect(() => loadAgentConfig({ NODE_SECRET, TURN_RELAY_MIN_PORT: "0" })).toThrow(/TURN_RELAY_MIN_PORT/);
  });

  it("serves no metrics with METRICS_PORT=0, and serves them at METRICS_IP:METRICS_PORT otherwise", async () => {
    const down = async () => false;
    const off = new TurnAgent(loadAgentConfig(env("ws://127.0.0.1:9", 9)), createLogger("test", "silent"), { probe: down });
    cleanups.push(() => off.stop());
    await off.start();
    expect(off.metricsAddress).toBeUndefined();

    const port = await findFreePortBlock(1);
    const on = new TurnAgent(loadAgentConfig({ ...env("ws://127.0.0.1:9", 9), METRICS_PORT: String(port) }), createLogger("test", "silent"), { probe: down });
    cleanups.push(() => on.stop());
    await on.start();
    expect(on.metricsAddress).toMatchObject({ address: "127.0.0.1", port });
    expect(sampleValue(await scrape(port), "meridian_turn_up")).toBe(0);
    await on.stop();
    expect(on.metricsAddress).toBeUndefined();
  });

  it("leaves the allocation count out, and says so once, while the kernel's socket tables cannot be read", async () => {
    const port = await findFreePortBlock(1);
    const captured = captureLog();
    let readable = false;
    const agent = new TurnAgent(loadAgentConfig({ ...env("ws://127.0.0.1:9", 9), METRICS_PORT: String(port) }), captured.log, {
      probe: async () => false,
      relaySockets: async () => {
        if (!readable) throw new Error("EACCES: /proc/net/udp");
        return 3;
      },
    });
    cleanups.push(() => agent.stop());
    await agent.start();
    for (let i = 0; i < 2; i++) {
      const m = await scrape(port);
      expect(sampleValue(m, "meridian_turn_relay_allocations")).toBeUndefined();
      expect(sampleValue(m, "meridian_turn_relay_ports")).toBe(loadPorts().turn.relayMaxPort - loadPorts().turn.relayMinPort + 1);
    }
    expect(captured.lines.filter((l) => l.msg.startsWith("cannot count relay sockets"))).toHaveLength(1);
    readable = true;
    expect(sampleValue(await scrape(port), "meridian_turn_relay_allocations")).toBe(3);
  });

  it("refuses to start, saying how to turn metrics off, when the metrics port is taken (coturn's own exporter, say)", async () => {
    const port = await findFreePortBlock(1);
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const agent = new TurnAgent(
      loadAgentConfig({ ...env("ws://127.0.0.1:9", 9), METRICS_PORT: String(port) }),
      createLogger("test", "silent"),
    );
    cleanups.push(() => agent.stop());
    await expect(agent.start()).rejects.toThrow(new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${port} .*EADDRINUSE.*METRICS_PORT=0`));
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
      protocol: NODE_PROTOCOL_VERSION,
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

  it("serves /metrics: up after both probes pass, the edge link, and a relay allocation while a client holds one, gone once released", async () => {
    const e = await edge();
    const server = await coturn();
    const metricsPort = await findFreePortBlock(1);
    const { relayMinPort, relayMaxPort } = server.ports;
    const config = loadAgentConfig({
      ...env(e.url, server.ports.listeningPort),
      TURN_SECRET,
      // One health check, at start: later probes' own allocations would blur the count.
      HEALTH_INTERVAL_MS: "60000",
      METRICS_PORT: String(metricsPort),
      TURN_RELAY_MIN_PORT: String(relayMinPort),
      TURN_RELAY_MAX_PORT: String(relayMaxPort),
    });
    const agent = new TurnAgent(config, createLogger("test", "silent"), { backoff: { baseMs: 20, maxMs: 100 } });
    cleanups.push(() => agent.stop());
    await agent.start();
    await e.next(isRegister);

    const m = await scrapeUntil(metricsPort, "the edge link registered", (x) => sampleValue(x, "meridian_turn_edge_connected") === 1);
    expect(sampleValue(m, "meridian_turn_info", { node: "turn-fra-1", region: "eu-central-1", version: "0.1.0" })).toBe(1);
    expect(sampleValue(m, "meridian_turn_up")).toBe(1);
    expect(sampleValue(m, "meridian_turn_draining")).toBe(0);
    expect(sampleValue(m, "meridian_turn_probe_success", { probe: "stun" })).toBe(1);
    expect(sampleValue(m, "meridian_turn_probe_success", { probe: "allocate" })).toBe(1);
    for (const probe of ["stun", "allocate"]) {
      const seconds = sampleValue(m, "meridian_turn_probe_duration_seconds", { probe });
      expect(seconds, probe).toBeGreaterThan(0);
      expect(seconds, probe).toBeLessThan(1);
    }
    expect(sampleValue(m, "meridian_turn_consecutive_failures")).toBe(0);
    expect(sampleValue(m, "meridian_turn_health_checks_total")).toBe(1);
    expect(sampleValue(m, "meridian_turn_health_check_failures_total")).toBe(0);
    expect(sampleValue(m, "meridian_turn_relay_ports")).toBe(relayMaxPort - relayMinPort + 1);

    // The probe released its allocation; coturn frees the relay about a second later.
    const allocations = (x: Exposition) => sampleValue(x, "meridian_turn_relay_allocations");
    await scrapeUntil(metricsPort, "no relay allocation", (x) => allocations(x) === 0);
    const client = await TurnClient.open({ host: server.host, port: server.ports.listeningPort });
    cleanups.push(() => client.close());
    const { username, credential } = await mintTurnCredential({ secret: TURN_SECRET, userId: "metrics-test", ttlSeconds: 600 });
    const allocation = await client.allocate(username, credential);
    if (!allocation.ok) throw new Error(`allocation refused: ${allocation.code} ${allocation.reason}`);
    expect(allocation.relayed.port).toBeGreaterThanOrEqual(relayMinPort);
    expect(allocation.relayed.port).toBeLessThanOrEqual(relayMaxPort);
    await scrapeUntil(metricsPort, "the client's allocation", (x) => allocations(x) === 1);
    expect((await client.release()).ok).toBe(true);
    await scrapeUntil(metricsPort, "the allocation released", (x) => allocations(x) === 0);

    const elsewhere = await fetch(`http://127.0.0.1:${metricsPort}/`);
    expect(elsewhere.status).toBe(404);
    await elsewhere.body?.cancel();

    await e.close();
    await scrapeUntil(metricsPort, "the edge link down", (x) => sampleValue(x, "meridian_turn_edge_connected") === 0);

    await agent.stop();
    await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
  });

  it("metrics follow coturn going down: up 0 after one failed check, the STUN probe timing out, failures counted, then the node draining", async () => {
    const e = await edge();
    const server = await coturn();
    const metricsPort = await findFreePortBlock(1);
    const agent = new TurnAgent(
      loadAgentConfig({ ...env(e.url, server.ports.listeningPort), METRICS_PORT: String(metricsPort) }),
      createLogger("test", "silent"),
    );
    cleanups.push(() => agent.stop());
    await agent.start();
    await e.next(isRegister);
    const healthy = await scrape(metricsPort);
    expect(sampleValue(healthy, "meridian_turn_up")).toBe(1);
    expect(sampleValue(healthy, "meridian_turn_draining")).toBe(0);
    // No TURN_SECRET: the agent runs no Allocate probe, and says nothing about one.
    expect(sampleValue(healthy, "meridian_turn_probe_success", { probe: "allocate" })).toBeUndefined();

    await server.stop();
    // One failed check: up says so at once, while the node stays active (HEALTH_FAILURES is 2).
    const first = await scrapeUntil(metricsPort, "one failed check", (x) => sampleValue(x, "meridian_turn_consecutive_failures") === 1);
    expect(sampleValue(first, "meridian_turn_up")).toBe(0);
    expect(sampleValue(first, "meridian_turn_probe_success", { probe: "stun" })).toBe(0);
    expect(sampleValue(first, "meridian_turn_draining")).toBe(0);
    // Nothing answers: the probe waited out its one-second budget.
    const waited = sampleValue(first, "meridian_turn_probe_duration_seconds", { probe: "stun" });
    expect(waited).toBeGreaterThanOrEqual(0.9);
    expect(waited).toBeLessThan(2);

    const down = await scrapeUntil(metricsPort, "the node draining", (x) => sampleValue(x, "meridian_turn_draining") === 1);
    expect(sampleValue(down, "meridian_turn_up")).toBe(0);
    expect(sampleValue(down, "meridian_turn_consecutive_failures")).toBeGreaterThanOrEqual(2);
    const checks = sampleValue(down, "meridian_turn_health_checks_total")!;
    const failed = sampleValue(down, "meridian_turn_health_check_failures_total")!;
    expect(failed).toBeGreaterThanOrEqual(2);
    expect(checks).toBeGreaterThan(failed);
  });

  it("runs as `node turn/src/agent.ts` and reports draining before it exits on SIGTERM", async () => {
    const e = await edge();
    const server = await coturn();
    const entry = fileURLToPath(new URL("../src/agent.ts", import.meta.url));
    const metricsPort = await findFreePortBlock(1);
    const child = spawn(process.execPath, [entry], {
      env: {
        PATH: process.env.PATH ?? "",
        ...env(e.url, server.ports.listeningPort),
        TURN_SECRET,
        HEALTH_INTERVAL_MS: "200",
        LOG_LEVEL: "info",
        METRICS_PORT: String(metricsPort),
      },
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
    expect(sampleValue(await scrape(metricsPort), "meridian_turn_up")).toBe(1);

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
    expect(output).toContain(`"metrics":"127.0.0.1:${metricsPort}"`);
  });
});
