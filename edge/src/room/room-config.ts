import { P2P_HOLD_OFF_MS } from "./media/mode.ts";

/** Tunables of a room, from Worker vars (strings) with production defaults. */
export interface RoomConfig {
  readonly defaultCapacity: number;
  /** How long a dropped participant may come back with `resume`. */
  readonly resumeWindowMs: number;
  /** A socket that sent nothing (not even a keepalive ping) for this long is dropped. */
  readonly silentAfterMs: number;
  /** How often the alarm looks for silent sockets while any are open. */
  readonly heartbeatCheckMs: number;
  /** An empty room keeps its media router this long (a quick rejoin is instant). */
  readonly emptyGraceMs: number;
  /** An empty room is forgotten entirely after this long. */
  readonly emptyTtlMs: number;
  readonly eventLogKeep: number;
  readonly eventLogMaxAgeMs: number;
  readonly rateBurst: number;
  readonly ratePerSecond: number;
  /** Rate-limited frames tolerated before the socket is closed. */
  readonly rateStrikes: number;
  /** A socket that has not said hello by then is closed; keepalive pings do not extend it. */
  readonly helloDeadlineMs: number;
  /** Admission limits on sockets (room/admission.ts). */
  readonly socketsPerIdentity: number;
  readonly pendingPerAddress: number;
  readonly pendingOverCapacity: number;
  /** A call back down to two returns to peer-to-peer after this long (a quick leave and rejoin does not flap it). */
  readonly p2pHoldOffMs: number;
}

const num = (value: string | undefined, fallback: number): number => {
  const n = Number(value);
  return value !== undefined && value !== "" && Number.isFinite(n) && n > 0 ? n : fallback;
};

export function roomConfig(env: Partial<Record<string, string>>): RoomConfig {
  return {
    defaultCapacity: num(env.ROOM_CAPACITY, 100),
    resumeWindowMs: num(env.RESUME_WINDOW_MS, 30_000),
    silentAfterMs: num(env.SILENT_AFTER_MS, 45_000),
    heartbeatCheckMs: num(env.HEARTBEAT_CHECK_MS, 15_000),
    emptyGraceMs: num(env.EMPTY_ROOM_GRACE_MS, 60_000),
    emptyTtlMs: num(env.EMPTY_ROOM_TTL_MS, 7 * 24 * 3600_000),
    eventLogKeep: num(env.EVENT_LOG_KEEP, 5000),
    eventLogMaxAgeMs: num(env.EVENT_LOG_MAX_AGE_MS, 10 * 60_000),
    rateBurst: num(env.RATE_LIMIT_BURST, 120),
    ratePerSecond: num(env.RATE_LIMIT_PER_SECOND, 40),
    rateStrikes: num(env.RATE_LIMIT_STRIKES, 50),
    helloDeadlineMs: num(env.HELLO_DEADLINE_MS, 10_000),
    socketsPerIdentity: num(env.ROOM_SOCKETS_PER_IDENTITY, 3),
    pendingPerAddress: num(env.ROOM_PENDING_PER_ADDRESS, 10),
    pendingOverCapacity: num(env.ROOM_PENDING_OVER_CAPACITY, 20),
    p2pHoldOffMs: num(env.P2P_HOLD_OFF_MS, P2P_HOLD_OFF_MS),
  };
}
