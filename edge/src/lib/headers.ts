/**
 * Headers only the Worker sets, after it has verified the caller, on requests it hands
 * to a Durable Object; whatever a client sent under these names is replaced or dropped.
 */

/** The caller's `request.cf` location (RequestGeo as JSON). */
export const GEO_HEADER = "x-meridian-geo";
/** The verified join token's claims (SocketClaims as JSON). */
export const CLAIMS_HEADER = "x-meridian-claims";
/** The room subprotocol the Worker accepted, for the DO to echo in its 101 answer. */
export const SUBPROTOCOL_HEADER = "x-meridian-subprotocol";
/** The client's address (Cloudflare's CF-Connecting-IP), for per-client admission limits. */
export const CLIENT_ADDRESS_HEADER = "x-meridian-client-address";
/** The node id the Worker authenticated. */
export const NODE_ID_HEADER = "x-meridian-node-id";

/**
 * JSON for a header value: headers carry ASCII, so anything else (a display name like
 * "São Paulo") is written as a JSON \u escape, which JSON.parse reads back unchanged.
 */
export function headerJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
