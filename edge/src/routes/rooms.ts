import { Hono, type MiddlewareHandler } from "hono";
import * as v from "valibot";
import { DisplayName, ROOM_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX, isProtocolError } from "@meridian/protocol";
import { bearerToken, mintJoinToken, verifyJoinToken } from "../auth/tokens.ts";
import { geoFromCf } from "../lib/geo.ts";
import { roomPlacement } from "../lib/location-hint.ts";
import { errorResponse, isWebSocketUpgrade } from "../lib/http.ts";
import { isRoomId, newRoomId } from "../lib/ids.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { clientAddress, rateLimit } from "../middleware/limits.ts";
import { checkOrigin } from "../middleware/origin.ts";
import { CLAIMS_HEADER, CLIENT_ADDRESS_HEADER, GEO_HEADER, SUBPROTOCOL_HEADER, headerJson } from "../lib/headers.ts";
import type { SocketClaims } from "../room/peer-sockets.ts";

/** Rooms: create one (you become its host), get a guest token for an open one, open its socket. */
export const rooms = new Hono<{ Bindings: Env }>();

export const HOST_TOKEN_TTL_S = 24 * 3600;
export const GUEST_TOKEN_TTL_S = 12 * 3600;

const CreateRoom = v.object({
  lobby: v.optional(v.boolean()),
  capacity: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(1000))),
  /** false: every call on the SFU, never browser to browser. */
  p2p: v.optional(v.boolean()),
});
const JoinRoom = v.object({ displayName: v.optional(DisplayName) });

/** A previous token's identity, so a returning browser keeps its user id (and profile). */
async function returningIdentity(env: Env, authorization: string | undefined): Promise<{ sub: string; name: string } | undefined> {
  const token = bearerToken(authorization);
  if (!token) return undefined;
  try {
    const claims = await verifyJoinToken(env.SIGNING_KEYS, token);
    return { sub: claims.sub, name: claims.name };
  } catch {
    return undefined;
  }
}

const newSubject = () => `u_${crypto.randomUUID()}`;

/** Deployments that set ALLOW_ANONYMOUS_ROOMS=false make rooms through the integrator API only. */
const anonymousRooms: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  if (c.env.ALLOW_ANONYMOUS_ROOMS === "false") {
    return errorResponse(403, "forbidden", "creating rooms needs an API key here (POST /api/v1/rooms)");
  }
  await next();
};

rooms.post("/", anonymousRooms, rateLimit("RATE_ROOM_CREATE", clientAddress), jsonBody(CreateRoom), async (c) => {
  const body = c.req.valid("json");
  const geo = geoFromCf(c.req.raw.cf as Record<string, unknown> | undefined);
  const roomId = newRoomId();
  // The creator's continent places the room's DO; later joins reach it wherever it is.
  const info = await c.env.ROOMS.getByName(roomId, roomPlacement(geo)).create(roomId, { open: true, ...body });
  const who = (await returningIdentity(c.env, c.req.header("authorization"))) ?? { sub: newSubject(), name: "" };
  const { token, claims } = await mintJoinToken(c.env.SIGNING_KEYS, {
    room: roomId,
    subject: who.sub,
    name: who.name,
    role: "host",
    ttlSeconds: HOST_TOKEN_TTL_S,
  });
  return c.json({ roomId: info.roomId, createdAt: info.createdAt, settings: info.settings, token, expiresAt: claims.exp }, 201);
});

rooms.get("/:id", async (c) => {
  const roomId = c.req.param("id");
  const info = isRoomId(roomId) ? await c.env.ROOMS.getByName(roomId).info() : null;
  if (!info) return errorResponse(404, "room_not_found", "no such room");
  return c.json({ roomId: info.roomId, open: info.settings.open, lobby: info.settings.lobby, locked: info.settings.locked, participants: info.participants, ended: info.ended });
});

/** A guest token for an open room: anyone with the link may come in (or wait in its lobby). */
rooms.post("/:id/join", rateLimit("RATE_GUEST_TOKEN", clientAddress), jsonBody(JoinRoom), async (c) => {
  const roomId = c.req.param("id");
  const body = c.req.valid("json");
  const info = isRoomId(roomId) ? await c.env.ROOMS.getByName(roomId).info() : null;
  if (!info) return errorResponse(404, "room_not_found", "no such room");
  if (info.ended) return errorResponse(410, "room_closed", "this room has ended");
  if (!info.settings.open) return errorResponse(403, "forbidden", "this room is by invitation only");
  const who = (await returningIdentity(c.env, c.req.header("authorization"))) ?? { sub: newSubject(), name: "" };
  const { token, claims } = await mintJoinToken(c.env.SIGNING_KEYS, {
    room: roomId,
    subject: who.sub,
    name: body.displayName ?? who.name,
    role: "guest",
    ttlSeconds: GUEST_TOKEN_TTL_S,
  });
  return c.json({ token, expiresAt: claims.exp, role: claims.role }, 201);
});

/**
 * The room socket. The token comes as the `bearer.<jwt>` subprotocol next to
 * `meridian.v1`; it is verified here, before any Durable Object runs.
 */
rooms.get("/:id/ws", checkOrigin, rateLimit("RATE_SOCKET", clientAddress), async (c) => {
  const roomId = c.req.param("id");
  if (!isRoomId(roomId)) return errorResponse(404, "room_not_found", "no such room");
  if (!isWebSocketUpgrade(c.req.raw)) return errorResponse(426, "bad_frame", "expected a WebSocket upgrade");
  const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const token = offered.find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX))?.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
  if (!offered.includes(ROOM_SUBPROTOCOL) || !token) {
    return errorResponse(401, "unauthorized", `offer the "${ROOM_SUBPROTOCOL}" and "${TOKEN_SUBPROTOCOL_PREFIX}<token>" subprotocols`);
  }
  let claims: SocketClaims;
  try {
    const verified = await verifyJoinToken(c.env.SIGNING_KEYS, token, { room: roomId });
    claims = { sub: verified.sub, name: verified.name, role: verified.role, exp: verified.exp };
  } catch (error) {
    if (isProtocolError(error)) return errorResponse(401, "unauthorized", error.message);
    throw error;
  }
  // Only the Worker speaks for request.cf and the token: whatever the client sent in these headers is replaced.
  const headers = new Headers(c.req.raw.headers);
  headers.delete("sec-websocket-protocol");
  headers.set(GEO_HEADER, headerJson(geoFromCf(c.req.raw.cf as Record<string, unknown> | undefined)));
  headers.set(CLAIMS_HEADER, headerJson(claims));
  headers.set(SUBPROTOCOL_HEADER, ROOM_SUBPROTOCOL);
  headers.delete(CLIENT_ADDRESS_HEADER);
  headers.set(CLIENT_ADDRESS_HEADER, clientAddress(c));
  return c.env.ROOMS.getByName(roomId).fetch(new Request(c.req.raw, { headers }));
});
