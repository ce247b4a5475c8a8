import type { MiddlewareHandler } from "hono";
import { errorResponse } from "../lib/http.ts";

/**
 * Refuses browser WebSocket upgrades from pages of other sites (cross-site WebSocket
 * hijacking). Allowed: the Worker's own origin and those in `ALLOWED_ORIGINS`
 * (comma-separated, `*` for any). Clients that send no Origin (not browsers) pass: they
 * still need a token.
 */
export const checkOrigin: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  const origin = c.req.header("origin");
  if (origin && !originAllowed(origin, new URL(c.req.url).origin, c.env.ALLOWED_ORIGINS)) {
    return errorResponse(403, "forbidden", `origin ${origin} is not allowed`);
  }
  await next();
};

export function originAllowed(origin: string, self: string, allowed: string | undefined): boolean {
  if (origin === self) return true;
  const list = (allowed ?? "").split(/[\s,]+/).filter(Boolean);
  return list.includes("*") || list.includes(origin);
}
