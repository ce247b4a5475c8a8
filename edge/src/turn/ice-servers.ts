import type { IceServer } from "@meridian/protocol";
import { mintTurnCredential } from "@meridian/turn/credentials";
import type { RequestGeo } from "../lib/geo.ts";
import { REGISTRY_NAME } from "../registry/name.ts";

/** TURN credentials live this long unless TURN_CREDENTIAL_TTL_S says otherwise. */
export const DEFAULT_TURN_TTL_S = 600;
/** A credential never outlives this, whatever is configured: it cannot be revoked. */
export const MAX_TURN_TTL_S = 86_400;
/** How many TURN nodes (the nearest) a participant gets. */
export const TURN_NODES_PER_PARTICIPANT = 2;

/** A TURN node's URLs, as the registry knows them (no secrets: kept on the socket until the member joins). */
export interface TurnNode {
  readonly urls: string[];
}

type IceEnv = Pick<Env, "REGISTRY" | "TURN_SECRET" | "TURN_CREDENTIAL_TTL_S">;

/** The nearest healthy TURN nodes with URLs; empty when TURN is not configured. */
export async function nearestTurnNodes(env: IceEnv, geo: RequestGeo): Promise<TurnNode[]> {
  if (!currentSecret(env)) return [];
  const nodes = await env.REGISTRY.getByName(REGISTRY_NAME).pickMany(
    { kind: "turn", ...(geo.point ? { point: geo.point } : {}) },
    TURN_NODES_PER_PARTICIPANT,
  );
  return nodes.filter((n) => n.urls && n.urls.length > 0).map((n) => ({ urls: n.urls! }));
}

/**
 * STUN and TURN servers for one room member: the given TURN nodes with a TURN REST API
 * credential (username `<expiry>:<participant>`, HMAC-SHA1 with the current TURN secret)
 * that expires in minutes. Only participants in the call get here (join, resume, refresh):
 * not a pre-join page, not a guest waiting in the lobby.
 */
export async function iceServersFrom(env: IceEnv, nodes: readonly TurnNode[], participantId: string): Promise<IceServer[]> {
  const secret = currentSecret(env);
  if (!secret || nodes.length === 0) return [];
  const { username, credential } = await mintTurnCredential({ secret, userId: participantId, ttlSeconds: turnTtlSeconds(env) });
  const stun = [...new Set(nodes.flatMap((n) => n.urls.filter((u) => u.startsWith("turn:")).map(stunUrlOf)))];
  return [...(stun.length ? [{ urls: stun }] : []), ...nodes.map((n) => ({ urls: [...n.urls], username, credential }))];
}

export async function iceServersFor(env: IceEnv, geo: RequestGeo, participantId: string): Promise<IceServer[]> {
  return iceServersFrom(env, await nearestTurnNodes(env, geo), participantId);
}

/** Credential lifetime: TURN_CREDENTIAL_TTL_S, kept between a minute and a day. */
export function turnTtlSeconds(env: Pick<Env, "TURN_CREDENTIAL_TTL_S">): number {
  const configured = Number(env.TURN_CREDENTIAL_TTL_S) || DEFAULT_TURN_TTL_S;
  return Math.min(MAX_TURN_TTL_S, Math.max(60, configured));
}

function currentSecret(env: Pick<Env, "TURN_SECRET">): string | undefined {
  return (env.TURN_SECRET ?? "").split(/[\s,]+/).find(Boolean);
}

/** turn:host:port?transport=udp → stun:host:port (coturn answers STUN on its TURN port). */
function stunUrlOf(turnUrl: string): string {
  return `stun:${turnUrl.slice("turn:".length).split("?")[0]}`;
}
