import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import {
  NODE_PROTOCOL_VERSION,
  ProtocolError,
  edgeToNodeMethods,
  type EdgeToNodeMethods,
  type Handlers,
  type MethodTable,
  type NodeLoad,
} from "@meridian/protocol";
import { EdgeLink } from "../src/edge-link.ts";
import { edgeConnectUrl } from "../src/edge-url.ts";
import { createLogger } from "../src/log.ts";
import { startFakeEdge, type FakeEdge, type FakeEdgeOptions } from "./support/fake-edge.ts";

/**
 * The node's link against a scripted edge endpoint on loopback: these tests pin the
 * link's own behaviour (registration, answering calls, reconnecting, heartbeats). The
 * real edge is exercised end to end in e2e/signalling.test.ts.
 */

const LOAD: NodeLoad = { state: "active", workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0, utilization: 0 };

const handlers = {
  createRouter: async ({ roomId }) => ({ routerId: `router-of-${roomId}`, rtpCapabilities: {} }),
  closeRouter: async () => {
    throw new ProtocolError("not_found", "no such router");
  },
  createWebRtcTransport: async () => {
    throw new Error("boom");
  },
} as Partial<Handlers<EdgeToNodeMethods, unknown>> as Handlers<EdgeToNodeMethods, unknown>;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startEdge(options: FakeEdgeOptions = {}): Promise<FakeEdge> {
  const edge = await startFakeEdge(options);
  cleanups.push(() => edge.close());
  return edge;
}

/** Everything but the method table: a node's identity and the tests' short timers. */
function linkOptions(edge: FakeEdge, over: { heartbeatMs?: number; loadIntervalMs?: number } = {}) {
  return {
    url: edgeConnectUrl(edge.url),
    nodeId: "node-7",
    secret: "secret-0123456789abcdef",
    registration: () => ({ protocol: NODE_PROTOCOL_VERSION, nodeId: "node-7", kind: "sfu" as const, version: "t", region: "r", lat: 1, lon: 2, load: LOAD }),
    load: async () => LOAD,
    loadIntervalMs: over.loadIntervalMs ?? 60_000,
    log: createLogger("test", "silent"),
    backoff: { baseMs: 20, maxMs: 100 },
    heartbeatMs: over.heartbeatMs ?? 60_000,
  };
}

function started<M extends MethodTable>(link: EdgeLink<M>): EdgeLink<M> {
  cleanups.push(() => link.stop());
  link.start();
  return link;
}

/** A link answering the SFU node's calls with the handlers above. */
function startLink(edge: FakeEdge, over: { heartbeatMs?: number; loadIntervalMs?: number } = {}): EdgeLink<EdgeToNodeMethods> {
  return started(new EdgeLink({ ...linkOptions(edge, over), methods: edgeToNodeMethods, handlers }));
}

/** Sends the edge's call `id` on the first node socket; resolves with the node's answer. */
async function ask(edge: FakeEdge, id: number, method: string, params: unknown) {
  edge.sockets[0]!.send(JSON.stringify({ kind: "req", id, method, params }));
  return edge.next((f) => f.kind === "res" && f.id === id);
}

describe("EdgeLink", () => {
  it("dials with its credentials and registers", async () => {
    const edge = await startEdge();
    const link = startLink(edge);
    const register = await edge.next((f) => f.method === "register");
    expect(register.params).toMatchObject({ nodeId: "node-7", kind: "sfu", protocol: NODE_PROTOCOL_VERSION });
    expect(register.headers).toMatchObject({ authorization: "Bearer secret-0123456789abcdef", "x-meridian-node-id": "node-7" });
    await once(link, "registered");
    expect(link.registered).toBe(true);
  });

  it("answers the edge's calls with results and typed errors", async () => {
    const edge = await startEdge();
    const link = startLink(edge);
    await once(link, "registered");
    expect(await ask(edge, 1, "createRouter", { roomId: "r1" })).toMatchObject({ result: { routerId: "router-of-r1" } });
    expect(await ask(edge, 2, "closeRouter", { routerId: "x" })).toMatchObject({ error: { code: "not_found" } });
    expect(await ask(edge, 3, "createRouter", { roomId: 5 })).toMatchObject({ error: { code: "invalid_params" } });
    expect(await ask(edge, 4, "rm -rf", {})).toMatchObject({ error: { code: "unknown_method" } });
    expect(await ask(edge, 5, "createWebRtcTransport", { routerId: "r", participantId: "p", direction: "send" })).toMatchObject({
      error: { code: "internal", message: "internal error" },
    });
    edge.sockets[0]!.send("garbage");
    expect(await edge.next((f) => f.kind === "evt" && f.event === "error")).toMatchObject({ data: { code: "bad_frame" } });
    expect(link.registered).toBe(true);
  });

  it("answers every call with a typed unknown_method when its table is empty (a TURN node's)", async () => {
    const edge = await startEdge();
    const link = started(new EdgeLink({ ...linkOptions(edge), methods: {}, handlers: {} }));
    await once(link, "registered");
    expect(await ask(edge, 1, "createRouter", { roomId: "r1" })).toMatchObject({
      error: { code: "unknown_method", message: 'unknown method "createRouter"' },
    });
    expect(await ask(edge, 2, "toString", {})).toMatchObject({ error: { code: "unknown_method" } });
    expect(link.registered).toBe(true);
  });

  it("reports load on its timer and on demand", async () => {
    const edge = await startEdge();
    const link = startLink(edge, { loadIntervalMs: 50 });
    await once(link, "registered");
    const first = await edge.next((f) => f.event === "load");
    expect(first.data).toEqual(LOAD);
    await edge.next((f) => f.event === "load");
  });

  it("redials and registers again after the edge drops the socket", async () => {
    const edge = await startEdge();
    const link = startLink(edge);
    await once(link, "registered");
    edge.sockets[0]!.close(1012, "edge restarting");
    const [info] = await once(link, "disconnected");
    expect(info).toMatchObject({ code: 1012 });
    await once(link, "registered");
    expect(edge.sockets).toHaveLength(2);
  });

  it("keeps retrying with backoff when the edge refuses the secret", async () => {
    const edge = await startEdge({ status: 401 });
    const link = startLink(edge);
    const [first] = await once(link, "refused");
    expect(first).toEqual({ status: 401 });
    await once(link, "refused");
    expect(link.registered).toBe(false);
  });

  it("stays unregistered, sending no load, while the edge does not answer register", async () => {
    const edge = await startEdge({ answerRegister: false });
    const link = startLink(edge, { loadIntervalMs: 20 });
    await edge.next((f) => f.method === "register");
    await link.reportLoad();
    await expect(edge.next((f) => f.event === "load", 200)).rejects.toThrow(/timed out/);
    expect(link.registered).toBe(false);
  });

  it("drops a half-open socket whose pings go unanswered, then redials", async () => {
    const edge = await startEdge({ autoPong: false });
    const link = startLink(edge, { heartbeatMs: 50 });
    await once(link, "registered");
    const [info] = await once(link, "disconnected");
    expect((info as { code: number }).code).toBe(1006);
    await once(link, "registered");
  });

  it("does not redial after stop()", async () => {
    const edge = await startEdge();
    const link = startLink(edge);
    await once(link, "registered");
    await link.stop();
    expect(edge.sockets).toHaveLength(1);
    expect(await edge.nextClose()).toBe(1001);
    // Any redial would be a second connection; the server would see it within a few backoff periods.
    const redial = once(edge.server, "connection");
    const quiet = new Promise((resolve) => setTimeout(resolve, 300, "quiet"));
    expect(await Promise.race([redial.then(() => "redialled"), quiet])).toBe("quiet");
  });
});
