import { Hono } from "hono";
import { keyRing } from "../auth/keys.ts";

/** `/.well-known/jwks.json`: the public keys join tokens are signed with, by kid. */
export const wellKnown = new Hono<{ Bindings: Env }>();

wellKnown.get("/jwks.json", async (c) => {
  const ring = await keyRing(c.env.SIGNING_KEYS);
  return c.json(ring.publicJwks, 200, { "cache-control": "public, max-age=300" });
});
