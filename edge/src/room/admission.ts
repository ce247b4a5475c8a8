import type { SocketClaims, Session } from "./peer-sockets.ts";

/** Limits on who may open a socket to a room; see RoomConfig for their defaults. */
export interface AdmissionLimits {
  /** Open sockets one identity (token subject) may hold in the room. */
  readonly socketsPerIdentity: number;
  /** Sockets from one client address that are not in the call (before hello, pre-join, lobby). */
  readonly pendingPerAddress: number;
  /** Sockets not in the call, all addresses together, beyond the room's capacity. */
  readonly pendingOverCapacity: number;
}

export type Refusal = { readonly status: 429 | 503; readonly code: "too_many_connections" | "room_full"; readonly message: string };

/**
 * Whether a new socket may join the room's open ones. Capacity is about people in the
 * call (join enforces it); these limits stop one client from filling the room with
 * sockets that never join. Hosts and moderators pass the room-wide ones: whatever
 * guests do, the people running the meeting get in.
 */
export function admit(open: readonly Session[], claims: SocketClaims, address: string | undefined, capacity: number, limits: AdmissionLimits): Refusal | undefined {
  const mine = open.filter((s) => s.claims.sub === claims.sub).length;
  if (mine >= limits.socketsPerIdentity) {
    return { status: 429, code: "too_many_connections", message: `this identity already holds ${mine} connections to the room` };
  }
  if (claims.role === "host" || claims.role === "moderator") return undefined;
  const pending = open.filter((s) => s.state !== "joined");
  if (address && pending.filter((s) => s.address === address).length >= limits.pendingPerAddress) {
    return { status: 429, code: "too_many_connections", message: "too many connections from this address that have not joined" };
  }
  if (pending.length >= capacity + limits.pendingOverCapacity) {
    return { status: 503, code: "room_full", message: "the room is full" };
  }
  return undefined;
}
