import { Hono } from "hono";
import { geoFromCf, locationHintFor } from "../lib/geo.ts";
import { errorResponse, isWebSocketUpgrade } from "../lib/http.ts";
import { isRoomId, newRoomId } from "../lib/ids.ts";
import { GEO_HEADER, roomStub } from "../room/room-do.ts";

/** Rooms: create one, look one up, open its signalling socket. */
export const rooms = new Hono<{ Bindings: Env }>();

rooms.post("/", async (c) => {
  const geo = geoFromCf(c.req.raw.cf as Record<string, unknown> | undefined);
  const roomId = newRoomId();
  // The creator's continent places the room's DO; later joins reach it wherever it is.
  const info = await roomStub(c.env, roomId, locationHintFor(geo)).create(roomId);
  return c.json({ roomId: info.roomId, createdAt: info.createdAt }, 201);
});

rooms.get("/:id", async (c) => {
  const roomId = c.req.param("id");
  if (!isRoomId(roomId)) return errorResponse(404, "room_not_found", "no such room");
  const info = await roomStub(c.env, roomId).info();
  if (!info) return errorResponse(404, "room_not_found", "no such room");
  return c.json(info);
});

rooms.get("/:id/ws", async (c) => {
  const roomId = c.req.param("id");
  if (!isRoomId(roomId)) return errorResponse(404, "room_not_found", "no such room");
  if (!isWebSocketUpgrade(c.req.raw)) return errorResponse(426, "bad_frame", "expected a WebSocket upgrade");
  // Only the Worker speaks for request.cf: overwrite whatever the client sent in this header.
  const headers = new Headers(c.req.raw.headers);
  headers.set(GEO_HEADER, JSON.stringify(geoFromCf(c.req.raw.cf as Record<string, unknown> | undefined)));
  return roomStub(c.env, roomId).fetch(new Request(c.req.raw, { headers }));
});
