import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "@meridian/protocol";
import { createLogger } from "../../sfu-nodes/src/log.ts";
import { loadAgentConfig, type AgentConfig } from "../src/agent-config.ts";
import { devParams } from "../src/render-config.ts";
import { TurnAgent } from "../src/turn-agent.ts";
import { coturnAvailable, killAndWait, startCoturn, type RunningCoturn } from "./support/coturn.ts";
import { startFakeEdge, type FakeEdge, type Frame } from "./support/fake-edge.ts";

/** The TURN agent against a scripted edge and a real coturn it health-checks. */

const NODE_SECRET = "node-secret-0123456789abcdef";
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function edge(): Promise<FakeEdge> {
  const e = await startFakeEdge();
  cleanups.push(() => e.close());
  return e;
}

async function coturn(ports?: RunningCoturn["ports"]): Promise<RunningCoturn> {
  const c = await startCoturn({ params: (p) => devParams("dev-secret-agent", { ports: p }), ...(ports ? { ports } : {}) });
  cleanups.push(() => c.stop());
  return c;
}

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
});

describe.runIf(coturnAvailable())("TURN agent", () => {
  it("registers as an active TURN node, refuses media calls, drains while coturn is down and recovers", async () => {
    const e = await edge();
    const server = await coturn();
    const config: AgentConfig = loadAgentConfig(env(e.url, server.ports.listeningPort));
    const agent = new TurnAgent(config, createLogger("test", "silent"), { backoff: { baseMs: 20, maxMs: 100 } });
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
      env: { PATH: process.env.PATH ?? "", ...env(e.url, server.ports.listeningPort), LOG_LEVEL: "info" },
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
  });
});
