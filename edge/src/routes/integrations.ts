import { Hono } from "hono";
import * as v from "valibot";
import { DisplayName, Role } from "@meridian/protocol";
import { mintJoinToken } from "../auth/tokens.ts";
import { geoFromCf } from "../lib/geo.ts";
import { roomPlacement } from "../lib/location-hint.ts";
import { errorResponse } from "../lib/http.ts";
import { isRoomId, newRoomId } from "../lib/ids.ts";
import { apiKeyAuth, type ApiKeyVariables } from "../middleware/api-key.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { rateLimit } from "../middleware/limits.ts";

/** The integrator API (`/api/v1`): products embedding calls create rooms and mint tokens with an API key. */
export const integrations = new Hono<{ Bindings: Env; Variables: ApiKeyVariables }>();

export const MAX_TOKEN_TTL_S = 24 * 3600;

/**
 * Subjects an integrator chooses live in its own namespace (`<key id>:<subject>`), so one
 * integrator's "alice" is not another's, nor a web app user (`u_…`): profiles, bans and
 * resume are all keyed by subject.
 */
export const integratorSubject = (keyId: string, subject: string) => `${keyId}:${subject}`;

integrations.use("*", apiKeyAuth, rateLimit<{ Bindings: Env; Variables: ApiKeyVariables }>("RATE_INTEGRATOR", (c) => c.get("apiKey").id));

const CreateRoom = v.object({
  open: v.optional(v.boolean()),
  lobby: v.optional(v.boolean()),
  capacity: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(1000))),
  /** false: every call on the SFU, never browser to browser. */
  p2p: v.optional(v.boolean()),
});

const MintToken = v.object({
  subject: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  name: v.optional(DisplayName),
  role: v.optional(Role),
  ttlSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(60), v.maxValue(MAX_TOKEN_TTL_S))),
});

integrations.post("/rooms", jsonBody(CreateRoom), async (c) => {
  const body = c.req.valid("json");
  const roomId = newRoomId();
  const geo = geoFromCf(c.req.raw.cf as Record<string, unknown> | undefined);
  // Integrator rooms are by invitation (minted tokens) unless asked otherwise.
  const info = await c.env.ROOMS.getByName(roomId, roomPlacement(geo)).create(roomId, { open: false, ...body }, c.get("apiKey").id);
  return c.json({ roomId: info.roomId, createdAt: info.createdAt, settings: info.settings }, 201);
});

integrations.post("/rooms/:id/tokens", jsonBody(MintToken), async (c) => {
  const roomId = c.req.param("id");
  const body = c.req.valid("json");
  const key = c.get("apiKey");
  const info = isRoomId(roomId) ? await c.env.ROOMS.getByName(roomId).info() : null;
  // Another integrator's room (or one made in the web app) is not there for this key.
  if (!info || info.owner !== key.id) return errorResponse(404, "room_not_found", "no such room");
  const { token, claims } = await mintJoinToken(c.env.SIGNING_KEYS, {
    room: roomId,
    subject: integratorSubject(key.id, body.subject),
    name: body.name ?? "",
    role: body.role ?? "guest",
    ttlSeconds: body.ttlSeconds ?? 3600,
  });
  return c.json({ token, expiresAt: claims.exp, jti: claims.jti }, 201);
});
