import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { PROTOCOL_VERSION, ProtocolError, type EdgeToNodeMethods, type Handlers, type NodeLoad } from "@meridian/protocol";
import { EdgeLink } from "../src/control/edge-link.ts";
import { createLogger } from "../src/log.ts";

/**
 * The node's link against a scripted edge endpoint on loopback: these tests pin the
 * link's own behaviour (registration, answering calls, reconnecting, heartbeats). The
 * real edge is exercised end to end in e2e/signalling.test.ts.
 */

const LOAD: NodeLoad = { state: "active", workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0, utilization: 0 };

const handlers = {
  createRouter: async ({ roomId }) => ({ routerId: `router-of-${roomId}`, rtpCapabilities: { codecs: [] } }),
  closeRouter: async () => {
    throw new ProtocolError("not_found", "no such router");
  },
  createWebRtcTransport: async () => {
    throw new Error("boom");
  },
} as Partial<Handlers<EdgeToNodeMethods, unknown>> as Handlers<EdgeToNodeMethods, unknown>;

interface Edge {
  server: WebSocketServer;
  url: string;
  sockets: WebSocket[];
  frames: Array<Record<string, unknown>>;
  /** The next frame matching, from any node socket. */
  next(match: (f: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startEdge(options: { status?: number; autoPong?: boolean; answerRegister?: boolean } = {}): Promise<Edge> {
  const frames: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (f: Record<string, unknown>) => boolean; resolve: (f: Record<string, unknown>) => void }> = [];
  const server = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    autoPong: options.autoPong ?? true,
    verifyClient: (_info, done) => (options.status ? done(false, options.status) : done(true)),
  });
  await once(server, "listening");
  const sockets: WebSocket[] = [];
  server.on("connection", (socket, request) => {
    sockets.push(socket);
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      frame.headers = request.headers;
      frames.push(frame);
      if (frame.kind === "req" && frame.method === "register" && options.answerRegister !== false) {
        socket.send(JSON.stringify({ kind: "res", id: frame.id, result: { nodeId: (frame.params as { nodeId: string }).nodeId } }));
      }
      for (const waiter of [...waiters]) {
        if (waiter.match(frame)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    });
  });
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const socket of server.clients) socket.terminate();
    server.close(() => resolve());
  }));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    url: `ws://127.0.0.1:${port}/api/nodes/connect`,
    sockets,
    frames,
    next(match, timeoutMs = 5000) {
      const seen = frames.find(match);
      if (seen) {
        frames.splice(frames.indexOf(seen), 1);
        return Promise.resolve(seen);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("timed out waiting for a frame from the node")), timeoutMs);
        waiters.push({
          match,
          resolve: (f) => {
            clearTimeout(timer);
            frames.splice(frames.indexOf(f), 1);
            resolve(f);
          },
        });
      });
    },
  };
}

function startLink(url: string, over: { heartbeatMs?: number; loadIntervalMs?: number } = {}): EdgeLink {
  const link = new EdgeLink({
    url,
    nodeId: "node-7",
    secret: "secret-0123456789abcdef",
    registration: () => ({ protocol: PROTOCOL_VERSION, nodeId: "node-7", kind: "sfu", version: "t", region: "r", lat: 1, lon: 2, load: LOAD }),
    load: async () => LOAD,
    handlers,
    loadIntervalMs: over.loadIntervalMs ?? 60_000,
    log: createLogger("test", "silent"),
    backoff: { baseMs: 20, maxMs: 100 },
    heartbeatMs: over.heartbeatMs ?? 60_000,
  });
  cleanups.push(() => link.stop());
  link.start();
  return link;
}

describe("EdgeLink", () => {
  it("dials with its credentials and registers", async () => {
    const edge = await startEdge();
    const link = startLink(edge.url);
    const register = await edge.next((f) => f.method === "register");
    expect(register.params).toMatchObject({ nodeId: "node-7", kind: "sfu", protocol: PROTOCOL_VERSION });
    expect(register.headers).toMatchObject({ authorization: "Bearer secret-0123456789abcdef", "x-meridian-node-id": "node-7" });
    await once(link, "registered");
    expect(link.registered).toBe(true);
  });

  it("answers the edge's calls with results and typed errors", async () => {
    const edge = await startEdge();
    const link = startLink(edge.url);
    await once(link, "registered");
    const socket = edge.sockets[0]!;
    const ask = async (id: number, method: string, params: unknown) => {
      socket.send(JSON.stringify({ kind: "req", id, method, params }));
      return edge.next((f) => f.kind === "res" && f.id === id);
    };
    expect(await ask(1, "createRouter", { roomId: "r1" })).toMatchObject({ result: { routerId: "router-of-r1" } });
    expect(await ask(2, "closeRouter", { routerId: "x" })).toMatchObject({ error: { code: "not_found" } });
    expect(await ask(3, "createRouter", { roomId: 5 })).toMatchObject({ error: { code: "invalid_params" } });
    expect(await ask(4, "rm -rf", {})).toMatchObject({ error: { code: "unknown_method" } });
    expect(await ask(5, "createWebRtcTransport", { routerId: "r", participantId: "p", direction: "send" })).toMatchObject({
      error: { code: "internal", message: "internal error" },
    });
    socket.send("garbage");
    expect(await edge.next((f) => f.kind === "evt" && f.event === "error")).toMatchObject({ data: { code: "bad_frame" } });
    expect(link.registered).toBe(true);
  });

  it("reports load on its timer and on demand", async () => {
    const edge = await startEdge();
    const link = startLink(edge.url, { loadIntervalMs: 50 });
    await once(link, "registered");
    const first = await edge.next((f) => f.event === "load");
    expect(first.data).toEqual(LOAD);
    await edge.next((f) => f.event === "load");
  });

  it("redials and registers again after the edge drops the socket", async () => {
    const edge = await startEdge();
    const link = startLink(edge.url);
    await once(link, "registered");
    edge.sockets[0]!.close(1012, "edge restarting");
    const [info] = await once(link, "disconnected");
    expect(info).toMatchObject({ code: 1012 });
    await once(link, "registered");
    expect(edge.sockets).toHaveLength(2);
  });

  it("keeps retrying with backoff when the edge refuses the secret", async () => {
    const edge = await startEdge({ status: 401 });
    const link = startLink(edge.url);
    const [first] = await once(link, "refused");
    expect(first).toEqual({ status: 401 });
    await once(link, "refused");
    expect(link.registered).toBe(false);
  });

  it("drops a half-open socket whose pings go unanswered, then redials", async () => {
    const edge = await startEdge({ autoPong: false });
    const link = startLink(edge.url, { heartbeatMs: 50 });
    await once(link, "registered");
    const [info] = await once(link, "disconnected");
    expect((info as { code: number }).code).toBe(1006);
    await once(link, "registered");
  });

  it("does not redial after stop()", async () => {
    const edge = await startEdge();
    const link = startLink(edge.url);
    await once(link, "registered");
    await link.stop();
    expect(edge.sockets).toHaveLength(1);
    // Any redial would be a second connection; the server would see it within a few backoff periods.
    const redial = once(edge.server, "connection");
    const quiet = new Promise((resolve) => setTimeout(resolve, 300, "quiet"));
    expect(await Promise.race([redial.then(() => "redialled"), quiet])).toBe("quiet");
  });
});
