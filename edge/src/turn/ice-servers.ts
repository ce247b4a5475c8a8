import type { IceServer } from "@meridian/protocol";
import { mintTurnCredential } from "../../../turn/src/credentials.ts";
import type { RequestGeo } from "../lib/geo.ts";
import { registryStub } from "../registry/registry-do.ts";

/** TURN credentials live this long unless TURN_CREDENTIAL_TTL_S says otherwise. */
export const DEFAULT_TURN_TTL_S = 600;
/** How many TURN nodes (the nearest) a participant gets. */
export const TURN_NODES_PER_PARTICIPANT = 2;

/**
 * STUN and TURN servers for one room member: the nearest healthy TURN nodes, with a
 * TURN REST API credential (username `<expiry>:<participant>`, HMAC-SHA1 with the current
 * TURN secret) that expires in minutes. Only room members get here (after `hello`).
 */
export async function iceServersFor(
  env: Pick<Env, "REGISTRY" | "TURN_SECRET" | "TURN_CREDENTIAL_TTL_S">,
  geo: RequestGeo,
  participantId: string,
): Promise<IceServer[]> {
  const secret = (env.TURN_SECRET ?? "").split(/[\s,]+/).find(Boolean);
  if (!secret) return [];
  const nodes = await registryStub(env as Env).pickMany(
    { kind: "turn", ...(geo.point ? { point: geo.point } : {}) },
    TURN_NODES_PER_PARTICIPANT,
  );
  const withUrls = nodes.filter((n) => n.urls && n.urls.length > 0);
  if (withUrls.length === 0) return [];
  const ttl = Math.max(60, Number(env.TURN_CREDENTIAL_TTL_S) || DEFAULT_TURN_TTL_S);
  const { username, credential } = await mintTurnCredential({ secret, userId: participantId, ttlSeconds: ttl });
  const stun = [...new Set(withUrls.flatMap((n) => n.urls!.filter((u) => u.startsWith("turn:")).map(stunUrlOf)))];
  return [
    ...(stun.length ? [{ urls: stun }] : []),
    ...withUrls.map((n) => ({ urls: n.urls!, username, credential })),
  ];
}

/** turn:host:port?transport=udp → stun:host:port (coturn answers STUN on its TURN port). */
function stunUrlOf(turnUrl: string): string {
  return `stun:${turnUrl.slice("turn:".length).split("?")[0]}`;
}
