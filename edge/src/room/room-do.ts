import { DurableObject } from "cloudflare:workers";
import {
  MAX_CLIENT_FRAME_BYTES,
  ProtocolError,
  decodeFrame,
  encodeError,
  roomMethods,
  serveRequest,
  type Handlers,
  type RoomMethods,
} from "@meridian/protocol";
import type { RequestGeo } from "../lib/geo.ts";
import { errorResponse, isWebSocketUpgrade } from "../lib/http.ts";
import { createLogger, errorFields, type Logger } from "../lib/log.ts";
import { closeQuietly, sendQuietly } from "../lib/sockets.ts";
import { PeerSockets } from "./peer-sockets.ts";
import { RoomMedia } from "./room-media.ts";
import { RoomStore } from "./room-store.ts";
import { signallingHandlers, type RequestContext } from "./signalling.ts";

/** Header carrying the Worker's reading of `request.cf`, set by the Worker only. */
export const GEO_HEADER = "x-meridian-geo";

/** An empty room keeps its router this long, so a quick rejoin (reload) is instant. */
export const EMPTY_ROOM_GRACE_MS = 60_000;

export interface RoomInfo {
  readonly roomId: string;
  readonly createdAt: number;
  readonly participants: number;
}

/**
 * One per room, near its participants: the single source of truth for who is in the room
 * and which media they send. Browsers' sockets are hibernatable; all state is in SQLite
 * or socket attachments, so eviction loses nothing.
 */
export class RoomDO extends DurableObject<Env> {
  readonly #store: RoomStore;
  readonly #sockets: PeerSockets;
  readonly #media: RoomMedia;
  readonly #handlers: Handlers<RoomMethods, RequestContext>;
  readonly #log: Logger;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#log = createLogger("room", env.LOG_LEVEL);
    this.#store = new RoomStore(ctx.storage.sql);
    this.#sockets = new PeerSockets(ctx);
    this.#media = new RoomMedia(env, this.#store, this.#log);
    this.#handlers = signallingHandlers({
      store: this.#store,
      media: this.#media,
      sockets: this.#sockets,
      leave: (participantId) => this.#leave(participantId),
      onArrive: () => ctx.storage.deleteAlarm(),
    });
  }

  /** Creates the room (idempotent). */
  create(roomId: string): RoomInfo {
    this.#store.createRoom(roomId, Date.now());
    return this.info()!;
  }

  info(): RoomInfo | null {
    const room = this.#store.room();
    if (!room) return null;
    return { roomId: room.roomId, createdAt: room.createdAt, participants: this.#store.joinedCount() };
  }

  override async fetch(request: Request): Promise<Response> {
    if (!this.#store.room()) return errorResponse(404, "room_not_found", "room does not exist");
    if (!isWebSocketUpgrade(request)) return errorResponse(426, "bad_frame", "expected a WebSocket upgrade");
    const geo = parseGeo(request.headers.get(GEO_HEADER));
    const { 0: client, 1: server } = new WebSocketPair();
    this.#sockets.accept(server, { geo });
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const decoded = decodeFrame(message, MAX_CLIENT_FRAME_BYTES);
    if (!decoded.ok) {
      sendQuietly(ws, encodeError(decoded.id, decoded.error.toBody()));
      return;
    }
    const frame = decoded.frame;
    if (frame.kind !== "req") {
      const id = frame.kind === "res" ? frame.id : undefined;
      sendQuietly(ws, encodeError(id, new ProtocolError("bad_frame", "a room accepts only requests").toBody()));
      return;
    }
    const context: RequestContext = { ws, session: this.#sockets.session(ws) };
    const response = await serveRequest(roomMethods, this.#handlers, frame, context, (error, method) =>
      this.#log.error("request failed", { method, ...errorFields(error) }),
    );
    sendQuietly(ws, response);
    if (context.closeAfterReply) closeQuietly(ws, context.closeAfterReply.code, context.closeAfterReply.reason);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // The runtime refuses to echo reserved codes (1005/1006); answer with a normal close.
    closeQuietly(ws, code === 1005 || code === 1006 ? 1000 : code, "closed");
    await this.#socketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.#socketGone(ws);
  }

  /** Fires after the room has been empty for the grace period: free the node's router. */
  override async alarm(): Promise<void> {
    if (this.#store.participantCount() === 0) await this.#media.release();
  }

  async #socketGone(ws: WebSocket): Promise<void> {
    const { participantId } = this.#sockets.session(ws);
    if (participantId && this.#store.participant(participantId)) await this.#leave(participantId);
  }

  async #leave(participantId: string): Promise<void> {
    const wasJoined = (this.#store.participant(participantId)?.joinedAt ?? 0) > 0;
    const transports = this.#store.removeParticipant(participantId);
    if (wasJoined) this.#sockets.broadcast("peerLeft", { peerId: participantId }, participantId);
    if (this.#store.participantCount() === 0) await this.ctx.storage.setAlarm(Date.now() + EMPTY_ROOM_GRACE_MS);
    await Promise.all(transports.map((transportId) => this.#media.callQuietly("closeTransport", { transportId })));
  }
}

function parseGeo(header: string | null): RequestGeo {
  if (!header) return {};
  try {
    return JSON.parse(header) as RequestGeo;
  } catch {
    return {};
  }
}

export function roomStub(env: Env, roomId: string, locationHint?: DurableObjectLocationHint): DurableObjectStub<RoomDO> {
  const id = env.ROOMS.idFromName(roomId);
  return locationHint ? env.ROOMS.get(id, { locationHint }) : env.ROOMS.get(id);
}
