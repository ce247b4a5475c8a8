import type { MiddlewareHandler } from "hono";
import { isProtocolError } from "@meridian/protocol";
import { bearerToken, verifyJoinToken, type JoinClaims } from "../auth/tokens.ts";
import { errorResponse } from "../lib/http.ts";

export type UserVariables = { claims: JoinClaims };

/** Endpoints for a signed-in user: any valid join token, `Authorization: Bearer <jwt>`. */
export const userToken: MiddlewareHandler<{ Bindings: Env; Variables: UserVariables }> = async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) return errorResponse(401, "unauthorized", "missing token", { "www-authenticate": "Bearer" });
  try {
    c.set("claims", await verifyJoinToken(c.env.SIGNING_KEYS, token));
  } catch (error) {
    if (isProtocolError(error)) return errorResponse(401, "unauthorized", error.message, { "www-authenticate": "Bearer" });
    throw error;
  }
  await next();
};
