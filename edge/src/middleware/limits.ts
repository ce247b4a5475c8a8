import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorResponse } from "../lib/http.ts";

/** Every HTTP body the API takes is a small JSON object: a profile is the largest, well under this. */
export const MAX_BODY_BYTES = 16 * 1024;

/** Refuses a body over MAX_BODY_BYTES with a typed 413, counted as it streams in (a missing or lying Content-Length does not help). */
export const limitBody: MiddlewareHandler = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => errorResponse(413, "body_too_large", `the body exceeds ${MAX_BODY_BYTES} bytes`),
});

/** The rate-limit bindings (wrangler.toml `[[ratelimits]]`); their windows are 60 s. */
export type RateBinding = "RATE_ROOM_CREATE" | "RATE_GUEST_TOKEN" | "RATE_SOCKET" | "RATE_PROFILE_WRITE" | "RATE_INTEGRATOR";
const WINDOW_S = 60;

/** The client's address as Cloudflare saw it. */
export const clientAddress = (c: Context): string => c.req.header("cf-connecting-ip") ?? "unknown";

/**
 * Counts the request against `binding` under the key `keyOf` picks (an address, a token
 * subject, an API key); over the limit it answers 429 with Retry-After, before any
 * Durable Object is woken.
 */
export function rateLimit<E extends { Bindings: Env }>(binding: RateBinding, keyOf: (c: Context<E>) => string): MiddlewareHandler<E> {
  return async (c, next) => {
    const { success } = await c.env[binding].limit({ key: keyOf(c) });
    if (!success) return errorResponse(429, "rate_limited", "too many requests; retry later", { "retry-after": String(WINDOW_S) });
    await next();
  };
}
