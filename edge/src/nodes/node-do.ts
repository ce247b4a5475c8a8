import { DurableObject } from "cloudflare:workers";
import {
  MAX_NODE_FRAME_BYTES,
  NODE_PROTOCOL_VERSION,
  ProtocolError,
  RpcCaller,
  createLogger,
  decodeFrame,
  edgeToNodeMethods,
  encodeError,
  errorFields,
  nodeToEdgeEvents,
  nodeToEdgeMethods,
  parseEvent,
  serveRequest,
  toErrorBody,
  type EdgeToNodeMethods,
  type Handlers,
  type Logger,
  type MethodName,
  type NodeLoad,
  type NodeRegistration,
  type NodeToEdgeMethods,
  type ParamsOf,
  type ResultOf,
} from "@meridian/protocol";
import { NODE_ID_HEADER } from "../lib/headers.ts";
import { isWebSocketUpgrade, errorResponse } from "../lib/http.ts";
import { closeQuietly, sendQuietly } from "../lib/sockets.ts";
import { REGISTRY_NAME } from "../registry/name.ts";
import type { CallOutcome, NodeCalls } from "./node-calls.ts";

/** How long a room's control call may wait for the node. */
export const NODE_CALL_TIMEOUT_MS = 10_000;

/** A node whose socket dropped has this long to come back before its rooms move elsewhere. */
export const RECONNECT_GRACE_MS = 15_000;

/** Why the edge closed a node's socket. The node redials after any close, so each is a way to make it register again. */
export const NodeCloseCode = {
  replaced: 4001,
  /** It stopped reporting while its socket stayed open (hung, or a half-open connection). */
  unresponsive: 4002,
  /** The registry no longer knows it and no registration is kept here to restore it. */
  unregistered: 4003,
} as const;

/** Rooms asked at once while reconciling, so a node carrying thousands does not take thousands of round trips in a row. */
const RECONCILE_PARALLEL = 16;
/** The node's last registration (without `carrying`), to restore a registry record that was lost. */
const REGISTRATION_KEY = "registration";

interface NodeSession {
  nodeId: string;
  registered: boolean;
}

interface Context {
  ws: WebSocket;
  session: NodeSession;
}

/**
 * One per SFU node: holds the WebSocket the node dialled out, relays room DOs' control
 * calls over it (request ids, timeouts, typed errors) and forwards its registration and
 * load reports to the registry. When the socket drops the node is reported gone at once.
 */
export class NodeDO extends DurableObject<Env> implements NodeCalls {
  readonly #log: Logger;
  #socket: WebSocket | undefined;
  #caller: RpcCaller<EdgeToNodeMethods> | undefined;
  /** The reconciliation after the latest registration, kept so `reconciled` can wait for it. */
  #reconciling: Promise<void> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#log = createLogger("node-do", env.LOG_LEVEL);
    // The rooms whose routers live on this node, so they can be moved when it fails.
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS routers (router_id TEXT PRIMARY KEY, room_id TEXT NOT NULL)");
  }

  readonly #handlers: Handlers<NodeToEdgeMethods, Context> = {
    register: async (reg, { ws, session }) => {
      if (reg.protocol !== NODE_PROTOCOL_VERSION) {
        throw new ProtocolError("protocol_mismatch", `edge speaks protocol ${NODE_PROTOCOL_VERSION}, node ${reg.protocol}`);
      }
      if (reg.nodeId !== session.nodeId) {
        throw new ProtocolError("forbidden", `node authenticated as ${session.nodeId} cannot register as ${reg.nodeId}`);
      }
      await this.env.REGISTRY.getByName(REGISTRY_NAME).register(reg);
      const { carrying, ...kept } = reg;
      this.ctx.storage.kv.put(REGISTRATION_KEY, kept);
      session.registered = true;
      ws.serializeAttachment(session);
      await this.ctx.storage.deleteAlarm();
      if (reg.kind === "sfu") {
        // Not awaited: moving rooms can take longer than the node waits for its answer.
        this.#reconciling = this.#reconcile(carrying ?? []).catch((error) =>
          this.#log.error("reconciliation failed", { nodeId: reg.nodeId, ...errorFields(error) }),
        );
        this.ctx.waitUntil(this.#reconciling);
      }
      return { nodeId: reg.nodeId };
    },
  };

  override async fetch(request: Request): Promise<Response> {
    const nodeId = request.headers.get(NODE_ID_HEADER);
    if (!nodeId) return errorResponse(400, "invalid_params", "missing node id");
    if (!isWebSocketUpgrade(request)) return errorResponse(426, "bad_frame", "expected a WebSocket upgrade");
    // One control socket per node: a node that redials replaces its half-dead predecessor.
    for (const old of this.ctx.getWebSockets()) closeQuietly(old, NodeCloseCode.replaced, "replaced by a newer connection");
    this.#caller?.failAll(new ProtocolError("node_unavailable", "node reconnected"));
    this.#socket = undefined;
    this.#caller = undefined;

    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ nodeId, registered: false } satisfies NodeSession);
    return new Response(null, { status: 101, webSocket: client });
  }

  // ── Native RPC for room DOs: one typed method per control call, relayed to the node.

  /** Records which room the new router serves, so the rooms can be moved when the node fails. */
  async createRouter(params: ParamsOf<EdgeToNodeMethods, "createRouter">, timeoutMs?: number) {
    const outcome = await this.#relay("createRouter", params, timeoutMs);
    if (outcome.ok) this.ctx.storage.sql.exec("INSERT OR REPLACE INTO routers (router_id, room_id) VALUES (?, ?)", outcome.result.routerId, params.roomId);
    return outcome;
  }

  /**
   * The room has let go of the router whatever the node answers. Were the row kept after
   * a failed close, a node that comes back still carrying the router would keep it
   * forever; without the row it is an orphan, closed by the next reconciliation.
   */
  closeRouter(params: ParamsOf<EdgeToNodeMethods, "closeRouter">, timeoutMs?: number) {
    this.#forget(params.routerId);
    return this.#relay("closeRouter", params, timeoutMs);
  }

  createWebRtcTransport(params: ParamsOf<EdgeToNodeMethods, "createWebRtcTransport">, timeoutMs?: number) {
    return this.#relay("createWebRtcTransport", params, timeoutMs);
  }

  connectTransport(params: ParamsOf<EdgeToNodeMethods, "connectTransport">, timeoutMs?: number) {
    return this.#relay("connectTransport", params, timeoutMs);
  }

  closeTransport(params: ParamsOf<EdgeToNodeMethods, "closeTransport">, timeoutMs?: number) {
    return this.#relay("closeTransport", params, timeoutMs);
  }

  produce(params: ParamsOf<EdgeToNodeMethods, "produce">, timeoutMs?: number) {
    return this.#relay("produce", params, timeoutMs);
  }

  closeProducer(params: ParamsOf<EdgeToNodeMethods, "closeProducer">, timeoutMs?: number) {
    return this.#relay("closeProducer", params, timeoutMs);
  }

  setProducerPaused(params: ParamsOf<EdgeToNodeMethods, "setProducerPaused">, timeoutMs?: number) {
    return this.#relay("setProducerPaused", params, timeoutMs);
  }

  consume(params: ParamsOf<EdgeToNodeMethods, "consume">, timeoutMs?: number) {
    return this.#relay("consume", params, timeoutMs);
  }

  resumeConsumer(params: ParamsOf<EdgeToNodeMethods, "resumeConsumer">, timeoutMs?: number) {
    return this.#relay("resumeConsumer", params, timeoutMs);
  }

  createPlainTransport(params: ParamsOf<EdgeToNodeMethods, "createPlainTransport">, timeoutMs?: number) {
    return this.#relay("createPlainTransport", params, timeoutMs);
  }

  connectPlainTransport(params: ParamsOf<EdgeToNodeMethods, "connectPlainTransport">, timeoutMs?: number) {
    return this.#relay("connectPlainTransport", params, timeoutMs);
  }

  setPreferredLayers(params: ParamsOf<EdgeToNodeMethods, "setPreferredLayers">, timeoutMs?: number) {
    return this.#relay("setPreferredLayers", params, timeoutMs);
  }

  restartIce(params: ParamsOf<EdgeToNodeMethods, "restartIce">, timeoutMs?: number) {
    return this.#relay("restartIce", params, timeoutMs);
  }

  getTransportStats(params: ParamsOf<EdgeToNodeMethods, "getTransportStats">, timeoutMs?: number) {
    return this.#relay("getTransportStats", params, timeoutMs);
  }

  /** Only on a router this node made for that room: a pipe joins two legs of one room. */
  async createPipeTransport(params: ParamsOf<EdgeToNodeMethods, "createPipeTransport">, timeoutMs?: number): Promise<CallOutcome<ResultOf<EdgeToNodeMethods, "createPipeTransport">>> {
    if (!this.#carries(params.roomId, params.routerId)) return { ok: false, error: { code: "forbidden", message: "that router is not the room's on this node" } };
    return this.#relay("createPipeTransport", params, timeoutMs);
  }

  connectPipeTransport(params: ParamsOf<EdgeToNodeMethods, "connectPipeTransport">, timeoutMs?: number) {
    return this.#relay("connectPipeTransport", params, timeoutMs);
  }

  pipeConsume(params: ParamsOf<EdgeToNodeMethods, "pipeConsume">, timeoutMs?: number) {
    return this.#relay("pipeConsume", params, timeoutMs);
  }

  pipeProduce(params: ParamsOf<EdgeToNodeMethods, "pipeProduce">, timeoutMs?: number) {
    return this.#relay("pipeProduce", params, timeoutMs);
  }

  closeConsumer(params: ParamsOf<EdgeToNodeMethods, "closeConsumer">, timeoutMs?: number) {
    return this.#relay("closeConsumer", params, timeoutMs);
  }

  /** One control call over the node's socket. Never throws: failures come back typed. */
  async #relay<K extends MethodName<EdgeToNodeMethods>>(
    method: K,
    params: ParamsOf<EdgeToNodeMethods, K>,
    timeoutMs = NODE_CALL_TIMEOUT_MS,
  ): Promise<CallOutcome<ResultOf<EdgeToNodeMethods, K>>> {
    const caller = this.#callerForLiveSocket();
    if (!caller) return { ok: false, error: { code: "node_unavailable", message: "SFU node is not connected" } };
    try {
      return { ok: true, result: await caller.call(method, params, { timeoutMs }) };
    } catch (error) {
      return { ok: false, error: toErrorBody(error) };
    }
  }

  #forget(routerId: string): void {
    this.ctx.storage.sql.exec("DELETE FROM routers WHERE router_id = ?", routerId);
  }

  /**
   * After a (re)registration: routers the node lost (it restarted) move their rooms;
   * routers it carries that no room uses any more are closed.
   */
  async #reconcile(carrying: Array<{ roomId: string; routerId: string }>): Promise<void> {
    const carried = new Set(carrying.map((r) => r.routerId));
    const known = this.ctx.storage.sql.exec<{ router_id: string; room_id: string }>("SELECT * FROM routers").toArray();
    const knownIds = new Set(known.map((r) => r.router_id));
    const lost = known.filter((r) => !carried.has(r.router_id)).map((r) => ({ roomId: r.room_id, routerId: r.router_id }));
    await this.#moveRooms(lost, "the media server restarted");
    const unused = carrying.filter((r) => !knownIds.has(r.routerId)).map((r) => r.routerId);
    // The table is not the last word: a room may have let go of its router in a way that
    // never reached this DO. The room decides.
    const kept = known.filter((r) => carried.has(r.router_id));
    for (let i = 0; i < kept.length; i += RECONCILE_PARALLEL) {
      const batch = kept.slice(i, i + RECONCILE_PARALLEL);
      const live = await Promise.all(batch.map((r) => this.#roomGoesOn(r.room_id, r.router_id)));
      unused.push(...batch.filter((_, j) => !live[j]).map((r) => r.router_id));
    }
    for (const routerId of unused) await this.closeRouter({ routerId });
  }

  /** Whether the room still uses this router (a forgotten, ended or moved room does not). */
  async #roomGoesOn(roomId: string, routerId: string): Promise<boolean> {
    try {
      return await this.env.ROOMS.getByName(roomId).usesRouter(routerId);
    } catch (error) {
      // Unsure: closing a router a call still uses is worse than keeping a spare one.
      this.#log.warn("could not ask a room about its router", { roomId, ...errorFields(error) });
      return true;
    }
  }

  /** Resolves once the reconciliation after the latest registration is done, i.e. the routers table is settled again. */
  async reconciled(): Promise<void> {
    await this.#reconciling;
  }

  /**
   * RPC from the registry: the node stopped reporting (or was evicted) while its socket may still be open. Its
   * rooms moved only when the socket dropped, so they would stay on a hung node forever;
   * closing it starts the usual path (a node that is alive redials and reconciles, one
   * that is not loses its rooms after the grace period).
   */
  async hangUp(why: string): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      this.#log.warn("hanging up on the node", { why });
      await this.#drop(ws, NodeCloseCode.unresponsive, why);
    }
  }

  /** A hung peer may never answer the close, so its close handler may never run: the socket counts as gone now. */
  async #drop(ws: WebSocket, code: number, reason: string): Promise<void> {
    closeQuietly(ws, code, reason);
    await this.#gone(ws, `closed by the edge: ${reason}`);
  }

  /** Whether this node's router `routerId` serves `roomId`, as the edge placed it. */
  #carries(roomId: string, routerId: string): boolean {
    return this.ctx.storage.sql.exec("SELECT 1 FROM routers WHERE router_id = ? AND room_id = ?", routerId, roomId).toArray().length > 0;
  }

  /** Tells each room its router is gone; the room moves its media and tells its browsers. */
  async #moveRooms(rooms: Array<{ roomId: string; routerId: string }>, reason: string): Promise<void> {
    for (const { roomId, routerId } of rooms) {
      this.ctx.storage.sql.exec("DELETE FROM routers WHERE router_id = ?", routerId);
      try {
        await this.env.ROOMS.getByName(roomId).mediaLost(routerId, reason);
      } catch (error) {
        this.#log.error("could not move a room", { roomId, ...errorFields(error) });
      }
    }
  }

  /** The node stayed away past the grace period: every room it carried moves. */
  override async alarm(): Promise<void> {
    if (this.#callerForLiveSocket()) return;
    const rooms = this.ctx.storage.sql
      .exec<{ router_id: string; room_id: string }>("SELECT * FROM routers")
      .toArray()
      .map((r) => ({ roomId: r.room_id, routerId: r.router_id }));
    if (rooms.length) this.#log.warn("node did not come back; moving its rooms", { rooms: rooms.length });
    await this.#moveRooms(rooms, "the media server went away");
  }

  /** Whether a registered node is on the line (for tests and health endpoints). */
  connected(): boolean {
    return this.#callerForLiveSocket() !== undefined;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const session = ws.deserializeAttachment() as NodeSession;
    const decoded = decodeFrame(message, MAX_NODE_FRAME_BYTES);
    if (!decoded.ok) {
      this.#log.warn("bad frame from node", { nodeId: session.nodeId, code: decoded.error.code });
      sendQuietly(ws, encodeError(decoded.id, decoded.error.toBody()));
      return;
    }
    const frame = decoded.frame;
    switch (frame.kind) {
      case "res":
        this.#callerFor(ws).handleResponse(frame);
        return;
      case "req":
        sendQuietly(
          ws,
          await serveRequest(nodeToEdgeMethods, this.#handlers, frame, { ws, session }, (error, method) =>
            this.#log.error("node request failed", { method, ...errorFields(error) }),
          ),
        );
        return;
      case "evt":
        await this.#onEvent(ws, session, frame);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    closeQuietly(ws, 1000, "closing");
    await this.#gone(ws, `closed ${code} ${reason}`);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    await this.#gone(ws, `error: ${String(error)}`);
  }

  async #onEvent(ws: WebSocket, session: NodeSession, frame: { kind: "evt"; event: string; data?: unknown }): Promise<void> {
    let event;
    try {
      event = parseEvent(nodeToEdgeEvents, frame);
    } catch (error) {
      sendQuietly(ws, encodeError(undefined, toErrorBody(error)));
      return;
    }
    if (!session.registered) return;
    switch (event.event) {
      case "load":
        if (!(await this.env.REGISTRY.getByName(REGISTRY_NAME).report(session.nodeId, event.data))) await this.#restoreRecord(ws, session, event.data);
        return;
      case "activeSpeaker": {
        const { roomId, routerId, participantId } = event.data;
        if (this.#carries(roomId, routerId)) await this.env.ROOMS.getByName(roomId).activeSpeaker(routerId, participantId);
        return;
      }
      case "routersLost": {
        // Only rooms placed on this node: a node cannot move (or wake) anyone else's rooms.
        const rooms = event.data.rooms.filter((r) => this.#carries(r.roomId, r.routerId));
        this.#log.warn("node lost routers", { nodeId: session.nodeId, rooms: rooms.length, ignored: event.data.rooms.length - rooms.length, reason: event.data.reason });
        await this.#moveRooms(rooms, event.data.reason);
        return;
      }
      case "error":
        this.#log.warn("node reported an error", { nodeId: session.nodeId, ...event.data });
    }
  }

  /**
   * The registry forgot this connected node (it evicts records of long-unhealthy nodes,
   * and drops them all when its schema changes) and ignores its reports, so it would
   * never be chosen again. Its registration is restored; without one, the node is made
   * to redial and register.
   */
  async #restoreRecord(ws: WebSocket, session: NodeSession, load: NodeLoad): Promise<void> {
    const registration = this.ctx.storage.kv.get<Omit<NodeRegistration, "carrying">>(REGISTRATION_KEY);
    if (registration?.nodeId === session.nodeId) {
      this.#log.warn("registry had forgotten the node; registering it again", { nodeId: session.nodeId });
      await this.env.REGISTRY.getByName(REGISTRY_NAME).register({ ...registration, load });
      return;
    }
    await this.#drop(ws, NodeCloseCode.unregistered, "unknown to the registry; register again");
  }

  async #gone(ws: WebSocket, why: string): Promise<void> {
    const session = ws.deserializeAttachment() as NodeSession | null;
    if (ws === this.#socket) {
      this.#caller?.failAll(new ProtocolError("node_unavailable", "SFU node disconnected"));
      this.#socket = undefined;
      this.#caller = undefined;
    }
    const stillConnected = this.ctx.getWebSockets().some((other) => other !== ws && other.readyState === WebSocket.OPEN);
    if (session && !stillConnected) {
      this.#log.warn("node socket gone", { nodeId: session.nodeId, why });
      await this.env.REGISTRY.getByName(REGISTRY_NAME).disconnected(session.nodeId);
      // Media keeps flowing while the control socket is down; rooms move only if it stays
      // down. The grace runs from the first sign of it: a socket the edge closed reports
      // its close again later, which must not push the deadline out.
      if ((await this.ctx.storage.getAlarm()) === null) {
        await this.ctx.storage.setAlarm(Date.now() + RECONNECT_GRACE_MS);
        // Its rooms ask their browsers meanwhile: a node whose media died with its link
        // is known within a second, not at the end of the grace.
        await this.#askRoomsToCheck();
      }
    }
  }

  async #askRoomsToCheck(): Promise<void> {
    const rooms = this.ctx.storage.sql.exec<{ router_id: string; room_id: string }>("SELECT * FROM routers").toArray();
    for (let i = 0; i < rooms.length; i += RECONCILE_PARALLEL) {
      await Promise.all(
        rooms.slice(i, i + RECONCILE_PARALLEL).map(({ room_id, router_id }) =>
          this.env.ROOMS.getByName(room_id)
            .checkMedia(router_id)
            .catch((error: unknown) => this.#log.warn("could not ask a room to check its media", { roomId: room_id, ...errorFields(error) })),
        ),
      );
    }
  }

  /** The caller bound to the live, registered socket (rebuilt after hibernation). */
  #callerForLiveSocket(): RpcCaller<EdgeToNodeMethods> | undefined {
    const live = this.ctx
      .getWebSockets()
      .find((ws) => ws.readyState === WebSocket.OPEN && (ws.deserializeAttachment() as NodeSession | null)?.registered);
    return live ? this.#callerFor(live) : undefined;
  }

  #callerFor(ws: WebSocket): RpcCaller<EdgeToNodeMethods> {
    if (this.#socket !== ws || !this.#caller) {
      this.#caller?.failAll(new ProtocolError("node_unavailable", "SFU node socket replaced"));
      this.#socket = ws;
      this.#caller = new RpcCaller(edgeToNodeMethods, (text) => ws.send(text), { timeoutMs: NODE_CALL_TIMEOUT_MS });
    }
    return this.#caller;
  }
}
