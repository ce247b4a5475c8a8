import { DurableObject } from "cloudflare:workers";
import {
  KEEPALIVE_PING,
  KEEPALIVE_PONG,
  MAX_CLIENT_FRAME_BYTES,
  ProtocolError,
  RoomCloseCode,
  createLogger,
  decodeFrame,
  encodeError,
  errorFields,
  roomMethods,
  serveRequest,
  type Handlers,
  type Logger,
  type RoomMethods,
  type RoomSettings,
} from "@meridian/protocol";
import type { RequestGeo } from "../lib/geo.ts";
import { CLAIMS_HEADER, CLIENT_ADDRESS_HEADER, GEO_HEADER, SUBPROTOCOL_HEADER } from "../lib/headers.ts";
import { errorResponse, isWebSocketUpgrade } from "../lib/http.ts";
import { closeQuietly, sendQuietly } from "../lib/sockets.ts";
import { RateLimiter } from "../lib/token-bucket.ts";
import { admit } from "./admission.ts";
import { chatHandlers } from "./handlers/chat.ts";
import type { RequestContext } from "./handlers/context.ts";
import { mediaHandlers } from "./handlers/media.ts";
import { membershipHandlers } from "./handlers/membership.ts";
import { moderationHandlers } from "./handlers/moderation.ts";
import { p2pHandlers } from "./handlers/p2p.ts";
import { PeerSockets, type SocketClaims } from "./peer-sockets.ts";
import { Room } from "./room.ts";
import { roomConfig, type RoomConfig } from "./room-config.ts";
import { MediaStore } from "./media/media-store.ts";
import { RoomMedia } from "./media/room-media.ts";
import { RoomStore } from "./room-store.ts";

export interface RoomInfo {
  readonly roomId: string;
  readonly createdAt: number;
  readonly settings: RoomSettings;
  readonly participants: number;
  readonly ended: boolean;
  /** The integrator API key id that created the room; null for rooms made in the web app. */
  readonly owner: string | null;
}

/**
 * One per room, near its participants: the single source of truth for who is in the room,
 * in what role, and which media they send; its chat and its event log. Browsers' sockets
 * hibernate; all state is in SQLite or socket attachments, so eviction loses nothing.
 */
export class RoomDO extends DurableObject<Env> {
  readonly #room: Room;
  readonly #handlers: Handlers<RoomMethods, RequestContext>;
  readonly #config: RoomConfig;
  readonly #log: Logger;
  /** Rate limits: per socket until it says hello, then per participant (a resume does not refill it). */
  readonly #socketLimits = new WeakMap<WebSocket, RateLimiter>();
  readonly #participantLimits = new Map<string, RateLimiter>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#log = createLogger("room", env.LOG_LEVEL);
    this.#config = roomConfig(env as unknown as Record<string, string>);
    const store = new RoomStore(ctx.storage.sql);
    const sockets = new PeerSockets(ctx);
    const media = new RoomMedia(env, new MediaStore(ctx.storage.sql), () => store.room()?.roomId ?? "", this.#log);
    this.#room = new Room({ ctx, env, store, sockets, media, config: this.#config, log: this.#log });
    this.#handlers = {
      ...membershipHandlers(this.#room, env),
      ...mediaHandlers(this.#room),
      ...chatHandlers(this.#room),
      ...moderationHandlers(this.#room),
      ...p2pHandlers(this.#room),
    };
    // Keepalives are answered by the runtime without waking the room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(KEEPALIVE_PING, KEEPALIVE_PONG));
  }

  /** Creates the room (idempotent: a second call keeps the first settings). */
  async create(roomId: string, settings: Partial<RoomSettings>, owner: string | null = null): Promise<RoomInfo> {
    const now = Date.now();
    this.#room.store.createRoom(
      roomId,
      {
        open: settings.open ?? true,
        lobby: settings.lobby ?? false,
        locked: settings.locked ?? false,
        capacity: Math.min(settings.capacity ?? this.#config.defaultCapacity, this.#config.defaultCapacity),
        p2p: settings.p2p ?? true,
      },
      now,
      owner,
    );
    // A room nobody ever enters is cleaned up like one everybody left.
    await this.#room.noteIfEmpty(now);
    return this.info()!;
  }

  info(): RoomInfo | null {
    const room = this.#room.store.room();
    if (!room) return null;
    return {
      roomId: room.roomId,
      createdAt: room.createdAt,
      settings: room.settings,
      participants: this.#room.store.countIn("joined"),
      ended: room.endedAt > 0,
      owner: room.owner,
    };
  }

  /** RPC from the node DO: one of this room's routers (a leg) is gone; its participants move. */
  async mediaLost(routerId: string, reason: string): Promise<void> {
    await this.#room.failover.legLost(routerId, reason);
  }

  /** RPC from the node DO: its node's control link closed; the browsers on that leg check their media. */
  checkMedia(routerId: string): void {
    this.#room.checkMedia(routerId);
  }

  /** RPC from the node DO: the loudest participant changed. */
  activeSpeaker(routerId: string, participantId: string | null): void {
    this.#room.activeSpeaker(routerId, participantId);
  }

  /** RPC from the node DO's reconciliation: whether `routerId` is one of this room's legs (an ended or forgotten room has none). */
  usesRouter(routerId: string): boolean {
    const room = this.#room.store.room();
    return !!room && room.endedAt === 0 && this.#room.media.store.leg(routerId) !== undefined;
  }

  /** Whether this identity may still enter (not removed by a host). */
  admits(identity: string): boolean {
    return !this.#room.store.isBanned(identity);
  }

  override async fetch(request: Request): Promise<Response> {
    const room = this.#room.store.room();
    if (!room) return errorResponse(404, "room_not_found", "room does not exist");
    if (room.endedAt) return errorResponse(410, "room_closed", "this room has ended");
    if (!isWebSocketUpgrade(request)) return errorResponse(426, "bad_frame", "expected a WebSocket upgrade");
    const claims = parseHeader<SocketClaims>(request.headers.get(CLAIMS_HEADER));
    if (!claims) return errorResponse(401, "unauthorized", "missing token");
    const address = request.headers.get(CLIENT_ADDRESS_HEADER) ?? undefined;
    const banned = this.#room.store.isBanned(claims.sub);
    if (!banned) {
      const refusal = admit(this.#room.sockets.openSessions(), claims, address, room.settings.capacity, this.#config);
      if (refusal) {
        this.#log.info("socket refused", { code: refusal.code, role: claims.role });
        return errorResponse(refusal.status, refusal.code, refusal.message, refusal.status === 429 ? { "retry-after": "10" } : undefined);
      }
    }
    const geo = parseHeader<RequestGeo>(request.headers.get(GEO_HEADER)) ?? {};
    const { 0: client, 1: server } = new WebSocketPair();
    this.#room.sockets.accept(server, { claims, geo, openedAt: Date.now(), ...(address ? { address } : {}) });
    // Someone a host removed gets told so on a socket (a browser cannot read an HTTP
    // refusal of an upgrade), and nothing else.
    if (banned) this.#room.sockets.dismiss(server, "kicked", RoomCloseCode.kicked);
    else await this.#room.schedule();
    const subprotocol = request.headers.get(SUBPROTOCOL_HEADER);
    return new Response(null, { status: 101, webSocket: client, ...(subprotocol ? { headers: { "sec-websocket-protocol": subprotocol } } : {}) });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const now = Date.now();
    this.#room.lastSeen.set(ws, now);
    if (!this.#allow(ws, now, message)) return;
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
    const context: RequestContext = { ws, session: this.#room.sockets.session(ws) };
    const response = await serveRequest(roomMethods, this.#handlers, frame, context, (error, method) =>
      this.#log.error("request failed", { method, ...errorFields(error) }),
    );
    sendQuietly(ws, response);
    if (context.closeAfterReply) closeQuietly(ws, context.closeAfterReply.code, context.closeAfterReply.reason);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // The runtime refuses to echo reserved codes (1005/1006); answer with a normal close.
    closeQuietly(ws, code === 1005 || code === 1006 ? 1000 : code, "closed");
    await this.#room.socketGone(ws);
    this.#forgetLimits();
  }

  /** Drops the rate-limit state of participants who are gone. */
  #forgetLimits(): void {
    for (const id of this.#participantLimits.keys()) {
      if (!this.#room.store.participant(id)) this.#participantLimits.delete(id);
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.#room.socketGone(ws);
  }

  override async alarm(): Promise<void> {
    await this.#room.alarm();
  }

  /**
   * Rate limit per socket (per participant once known). A frame over the limit gets
   * `rate_limited` (with its request id when readable) and a retry hint; a socket that
   * keeps sending without waiting as told is closed with 4008.
   */
  #allow(ws: WebSocket, now: number, message: string | ArrayBuffer): boolean {
    const participantId = this.#room.sockets.session(ws).participantId;
    let limiter = participantId ? this.#participantLimits.get(participantId) : this.#socketLimits.get(ws);
    if (!limiter) {
      const { rateBurst, ratePerSecond, rateStrikes } = this.#config;
      limiter = this.#socketLimits.get(ws) ?? new RateLimiter(rateBurst, ratePerSecond, rateStrikes, now);
      if (participantId) this.#participantLimits.set(participantId, limiter);
      else this.#socketLimits.set(ws, limiter);
    }
    const admission = limiter.admit(now);
    if (admission.ok) return true;
    if (admission.close) {
      closeQuietly(ws, RoomCloseCode.rateLimited, "rate limit exceeded");
      return false;
    }
    const decoded = decodeFrame(message, MAX_CLIENT_FRAME_BYTES);
    const id = decoded.ok ? (decoded.frame.kind === "req" ? decoded.frame.id : undefined) : decoded.id;
    sendQuietly(ws, encodeError(id, { code: "rate_limited", message: `too many messages; retry in ${admission.retryMs} ms` }));
    return false;
  }
}

function parseHeader<T>(header: string | null): T | undefined {
  if (!header) return undefined;
  try {
    return JSON.parse(header) as T;
  } catch {
    return undefined;
  }
}
