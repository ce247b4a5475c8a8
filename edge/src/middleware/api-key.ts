import type { MiddlewareHandler } from "hono";
import { verifyApiKey, type ApiKeyIdentity } from "../auth/api-keys.ts";
import { bearerToken } from "../auth/tokens.ts";
import { errorResponse } from "../lib/http.ts";

export type ApiKeyVariables = { apiKey: ApiKeyIdentity };

/** Integrator endpoints: `Authorization: Bearer mk_<id>_<secret>`, checked against `API_KEYS` hashes. */
export const apiKeyAuth: MiddlewareHandler<{ Bindings: Env; Variables: ApiKeyVariables }> = async (c, next) => {
  const identity = await verifyApiKey(c.env.API_KEYS, bearerToken(c.req.header("authorization")));
  if (!identity) return errorResponse(401, "unauthorized", "missing or invalid API key", { "www-authenticate": "Bearer" });
  c.set("apiKey", identity);
  await next();
};
