import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { NODE_PROTOCOL_VERSION, decodeFrame, type Frame, type NodeLoad, type NodeRegistration, type RequestFrame } from "@meridian/protocol";
import { expect } from "vitest";
import { nodeLoad } from "./fixtures.ts";
import { TestSocket, nodeHeaders } from "./socket.ts";

export const registry = () => env.REGISTRY.get(env.REGISTRY.idFromName("global"));
export const nodeDo = (nodeId: string) => env.NODES.get(env.NODES.idFromName(nodeId));

export interface CarriedRouter {
  roomId: string;
  routerId: string;
}

/**
 * The SFU side of a node's control socket, as a test peer: it registers (optionally
 * carrying routers from before a reconnect) and answers router calls like a node would,
 * keeping the routers it holds. Requests stay in `socket.received`, so a test can wait
 * for the one it expects with `nextRequest`.
 */
export class FakeNode {
  readonly nodeId: string;
  readonly socket: TestSocket;
  /** Router id → room id, as the node holds them. */
  readonly routers: Map<string, string>;
  /** Router ids the edge asked this node to close, in order. */
  readonly closeRequests: string[] = [];
  /** Answers closeRouter with this error instead of closing, while set. */
  failCloseRouter: { code: string; message: string } | undefined;
  /** Every request the edge sent, in arrival order (never consumed, unlike `socket.received`). */
  readonly requests: Array<{ method: string; params: Record<string, unknown> }> = [];
  /** Media the node holds, like mediasoup would: transport id → its router. */
  readonly transports = new Map<string, { routerId: string; participantId: string; direction: string }>();
  /** Producer id → its transport and kind. */
  readonly producers = new Map<string, { transportId: string; kind: string; paused: boolean }>();
  /** Consumer id → its transport and producer (pipe consumers too). */
  readonly consumers = new Map<string, { transportId: string; producerId: string; paused: boolean }>();
  /** Pipe transports to other nodes: id → its router and, once connected, the far end. */
  readonly pipes = new Map<string, { routerId: string; remote?: { ip: string; port: number } }>();
  /** Answers createPipeTransport with this error while set (a node out of pipes, or failing). */
  failPipes: { code: string; message: string } | undefined;
  static #routerSeq = 0;
  static #mediaSeq = 0;

  private constructor(nodeId: string, socket: TestSocket, routers: Map<string, string>) {
    this.nodeId = nodeId;
    this.socket = socket;
    this.routers = routers;
    socket.ws.addEventListener("message", (event) => {
      const decoded = decodeFrame(event.data as string, 1 << 22);
      if (decoded.ok && decoded.frame.kind === "req") this.#answer(decoded.frame);
    });
  }

  /**
   * Dials in and registers. `routers` are those it still holds (they are announced as
   * `carrying`); a node that restarted holds none.
   */
  static async connect(nodeId: string, options: { routers?: Map<string, string>; registration?: Partial<NodeRegistration> } = {}): Promise<FakeNode> {
    const socket = await TestSocket.open("/api/nodes/connect", nodeHeaders(nodeId));
    const node = new FakeNode(nodeId, socket, new Map(options.routers));
    opened.push(node);
    const answer = await socket.request("register", { ...node.registration(), ...options.registration });
    expect(answer).toMatchObject({ result: { nodeId } });
    return node;
  }

  /** What this node announces when it registers. */
  registration(): NodeRegistration {
    return {
      protocol: NODE_PROTOCOL_VERSION,
      nodeId: this.nodeId,
      kind: "sfu",
      version: "test",
      region: "test-region",
      lat: 0,
      lon: 0,
      load: nodeLoad({ utilization: 0.1 }),
      carrying: this.carrying(),
      // Long enough that the registry's real alarm never fires during a test.
      reportIntervalMs: 60_000,
    };
  }

  carrying(): CarriedRouter[] {
    return [...this.routers].map(([routerId, roomId]) => ({ roomId, routerId }));
  }

  /** The same node dialling in again, still holding its routers (or `routers`, e.g. none after a restart). */
  reconnect(routers: Map<string, string> = this.routers, registration: Partial<NodeRegistration> = {}): Promise<FakeNode> {
    return FakeNode.connect(this.nodeId, { routers, registration });
  }

  report(load: Partial<NodeLoad> = {}): void {
    this.socket.send({ kind: "evt", event: "load", data: nodeLoad({ utilization: 0.1, ...load }) });
  }

  /** The next request of `method` from the edge (already received or still to come). */
  async nextRequest(method: string, match: (params: Record<string, unknown>) => boolean = () => true): Promise<RequestFrame> {
    const isIt = (f: Frame) => f.kind === "req" && f.method === method && match((f.params ?? {}) as Record<string, unknown>);
    return (await this.socket.next(isIt, 5000, `${method} request`)) as RequestFrame;
  }

  /** The node crashes or loses its network: the socket drops and the edge starts the grace period. */
  async drop(): Promise<void> {
    this.socket.close(1011, "node crashed");
    await this.socket.closed;
    await expect.poll(() => graceAlarm(this.nodeId), { timeout: 5000 }).not.toBeNull();
  }

  /** The requests of `method` received so far (optionally only those whose params match). */
  requestsOf(method: string, match: Partial<Record<string, unknown>> = {}): Array<Record<string, unknown>> {
    return this.requests
      .filter((r) => r.method === method && Object.entries(match).every(([k, v]) => r.params[k] === v))
      .map((r) => r.params);
  }

  #answer(frame: RequestFrame): void {
    const params = (frame.params ?? {}) as Record<string, string>;
    this.requests.push({ method: frame.method, params: { ...((frame.params ?? {}) as Record<string, unknown>) } });
    if (this.#answerMedia(frame, (frame.params ?? {}) as Record<string, unknown>)) return;
    switch (frame.method) {
      case "createRouter": {
        const routerId = `${this.nodeId}.router-${++FakeNode.#routerSeq}`;
        this.routers.set(routerId, params.roomId!);
        this.socket.send({ kind: "res", id: frame.id, result: { routerId, rtpCapabilities: { codecs: [], headerExtensions: [] } } });
        return;
      }
      case "closeRouter":
        this.closeRequests.push(params.routerId!);
        if (this.failCloseRouter) {
          this.socket.send({ kind: "res", id: frame.id, error: this.failCloseRouter });
          return;
        }
        this.routers.delete(params.routerId!);
        this.socket.send({ kind: "res", id: frame.id, result: {} });
        return;
      default:
        this.socket.send({ kind: "res", id: frame.id, error: { code: "not_found", message: `the fake node does not do ${frame.method}` } });
    }
  }

  /**
   * Transports, producers and consumers, kept like a node keeps them: a call about one it
   * does not hold is answered `not_found`, as mediasoup's node would. Returns false for
   * methods that are not about media.
   */
  #answerMedia(frame: RequestFrame, params: Record<string, unknown>): boolean {
    const ok = (result: unknown) => this.socket.send({ kind: "res", id: frame.id, result });
    const missing = (what: string, id: unknown) =>
      this.socket.send({ kind: "res", id: frame.id, error: { code: "not_found", message: `no ${what} ${String(id)}` } });
    const nextId = (what: string) => `${this.nodeId}.${what}-${++FakeNode.#mediaSeq}`;
    const transportId = params.transportId as string;
    const producerId = params.producerId as string;
    const consumerId = params.consumerId as string;
    switch (frame.method) {
      case "createWebRtcTransport": {
        if (!this.routers.has(params.routerId as string)) {
          missing("router", params.routerId);
          return true;
        }
        const id = nextId("transport");
        this.transports.set(id, { routerId: params.routerId as string, participantId: params.participantId as string, direction: params.direction as string });
        ok({
          id,
          iceParameters: { usernameFragment: `ufrag-${id}`, password: `pwd-${id}`, iceLite: true },
          iceCandidates: [{ foundation: "udpcandidate", priority: 1, address: "192.0.2.1", protocol: "udp", port: 40000, type: "host" }],
          dtlsParameters: { role: "auto", fingerprints: [{ algorithm: "sha-256", value: "AA:BB" }] },
        });
        return true;
      }
      case "connectTransport":
        if (!this.transports.has(transportId)) missing("transport", transportId);
        else ok({});
        return true;
      case "createPipeTransport": {
        if (this.failPipes) {
          this.socket.send({ kind: "res", id: frame.id, error: this.failPipes });
          return true;
        }
        if (!this.routers.has(params.routerId as string)) {
          missing("router", params.routerId);
          return true;
        }
        const id = nextId("pipe");
        this.pipes.set(id, { routerId: params.routerId as string });
        ok({ transportId: id, ip: "192.0.2.10", port: 41000 + this.pipes.size, srtpParameters: { cryptoSuite: "AEAD_AES_256_GCM", keyBase64: btoa(id) } });
        return true;
      }
      case "connectPipeTransport": {
        const pipe = this.pipes.get(transportId);
        if (!pipe) missing("pipe transport", transportId);
        else {
          pipe.remote = { ip: params.ip as string, port: params.port as number };
          ok({});
        }
        return true;
      }
      case "pipeConsume": {
        const producer = this.producers.get(producerId);
        if (!this.pipes.get(transportId)?.remote) {
          missing("connected pipe transport", transportId);
          return true;
        }
        if (!producer) {
          missing("producer", producerId);
          return true;
        }
        const id = nextId("pipe-consumer");
        this.consumers.set(id, { transportId, producerId, paused: false });
        ok({ consumerId: id, kind: producer.kind, producerPaused: producer.paused, rtpParameters: { codecs: [{ mimeType: producer.kind === "audio" ? "audio/opus" : "video/VP8", payloadType: 100, clockRate: producer.kind === "audio" ? 48000 : 90000 }] } });
        return true;
      }
      case "pipeProduce": {
        if (!this.pipes.get(transportId)?.remote) {
          missing("connected pipe transport", transportId);
          return true;
        }
        this.producers.set(producerId, { transportId, kind: params.kind as string, paused: params.paused === true });
        ok({});
        return true;
      }
      case "closeConsumer":
        this.consumers.delete(consumerId);
        ok({});
        return true;
      case "closeTransport":
        this.pipes.delete(transportId);
        this.transports.delete(transportId);
        for (const [id, p] of this.producers) if (p.transportId === transportId) this.producers.delete(id);
        for (const [id, c] of this.consumers) if (c.transportId === transportId) this.consumers.delete(id);
        ok({});
        return true;
      case "produce": {
        if (!this.transports.has(transportId)) {
          missing("transport", transportId);
          return true;
        }
        const id = nextId("producer");
        this.producers.set(id, { transportId, kind: params.kind as string, paused: params.paused === true });
        ok({ producerId: id });
        return true;
      }
      case "closeProducer":
        this.producers.delete(producerId);
        for (const [id, c] of this.consumers) if (c.producerId === producerId) this.consumers.delete(id);
        ok({});
        return true;
      case "setProducerPaused": {
        const producer = this.producers.get(producerId);
        if (!producer) {
          missing("producer", producerId);
          return true;
        }
        producer.paused = params.paused === true;
        ok({});
        return true;
      }
      case "consume": {
        const producer = this.producers.get(producerId);
        if (!this.transports.has(transportId)) {
          missing("transport", transportId);
          return true;
        }
        if (!producer) {
          missing("producer", producerId);
          return true;
        }
        const id = nextId("consumer");
        this.consumers.set(id, { transportId, producerId, paused: true });
        ok({ consumerId: id, kind: producer.kind, rtpParameters: { codecs: [{ mimeType: producer.kind === "audio" ? "audio/opus" : "video/VP8", payloadType: 100, clockRate: producer.kind === "audio" ? 48000 : 90000 }] } });
        return true;
      }
      case "resumeConsumer": {
        const consumer = this.consumers.get(consumerId);
        if (!consumer) {
          missing("consumer", consumerId);
          return true;
        }
        consumer.paused = false;
        ok({});
        return true;
      }
      case "setPreferredLayers":
        if (!this.consumers.has(consumerId)) missing("consumer", consumerId);
        else ok({});
        return true;
      case "restartIce":
        if (!this.transports.has(transportId)) missing("transport", transportId);
        else ok({ iceParameters: { usernameFragment: `ufrag-${transportId}-restarted`, password: "new-password", iceLite: true } });
        return true;
      case "getTransportStats":
        if (!this.transports.has(transportId)) missing("transport", transportId);
        else ok({ stats: [{ type: "webrtc-transport", transportId, bytesReceived: 0 }] });
        return true;
      default:
        return false;
    }
  }
}

const opened: FakeNode[] = [];

/**
 * For `afterEach`: drops every fake node the test opened, so the next test's rooms are
 * placed on its own nodes, and cancels their grace periods, whose real alarms would
 * otherwise move this test's rooms onto the next test's nodes.
 */
export async function closeFakeNodes(): Promise<void> {
  const ids = new Set<string>();
  for (const node of opened.splice(0)) {
    ids.add(node.nodeId);
    if (node.socket.ws.readyState === WebSocket.OPEN) await node.drop();
  }
  for (const id of ids) {
    await runInDurableObject(nodeDo(id), (_instance, state) => state.storage.deleteAlarm());
    expect(await registry().isHealthy(id)).toBe(false);
  }
}

/** When the node DO will move the node's rooms, if it is waiting for the node to come back. */
export function graceAlarm(nodeId: string): Promise<number | null> {
  return runInDurableObject(nodeDo(nodeId), (_instance, state) => state.storage.getAlarm());
}

/** The node DO's routers table: router id → room id. */
export function routersTable(nodeId: string): Promise<Record<string, string>> {
  return runInDurableObject(nodeDo(nodeId), (_instance, state) =>
    Object.fromEntries(
      state.storage.sql
        .exec<{ router_id: string; room_id: string }>("SELECT router_id, room_id FROM routers")
        .toArray()
        .map((r) => [r.router_id, r.room_id]),
    ),
  );
}

/** Where a room's media is, as the room records it: its one leg (null when it has none). */
export function roomPlacement(roomId: string): Promise<{ nodeId: string | null; routerId: string | null }> {
  return runInDurableObject(env.ROOMS.get(env.ROOMS.idFromName(roomId)), (_instance, state) => {
    const legs = state.storage.sql.exec<{ node_id: string; id: string }>("SELECT node_id, id FROM legs ORDER BY created_at").toArray();
    expect(legs.length, "a room on one node has one leg").toBeLessThanOrEqual(1);
    return { nodeId: legs[0]?.node_id ?? null, routerId: legs[0]?.id ?? null };
  });
}

/** A room's legs, oldest first: node id → router id. */
export function roomLegs(roomId: string): Promise<Array<{ nodeId: string; routerId: string }>> {
  return runInDurableObject(env.ROOMS.get(env.ROOMS.idFromName(roomId)), (_instance, state) =>
    state.storage.sql
      .exec<{ node_id: string; id: string }>("SELECT node_id, id FROM legs ORDER BY created_at, id")
      .toArray()
      .map((r) => ({ nodeId: r.node_id, routerId: r.id })),
  );
}

/** Which node each participant's media is placed on. */
export function placements(roomId: string): Promise<Record<string, string>> {
  return runInDurableObject(env.ROOMS.get(env.ROOMS.idFromName(roomId)), (_instance, state) =>
    Object.fromEntries(
      state.storage.sql
        .exec<{ participant_id: string; node_id: string }>("SELECT p.participant_id, l.node_id FROM placements p JOIN legs l ON l.id = p.leg_id")
        .toArray()
        .map((r) => [r.participant_id, r.node_id]),
    ),
  );
}
