import type { MediaMode } from "@meridian/protocol";

/**
 * Whether a call goes browser to browser or through the SFU. A call of two goes
 * peer-to-peer where the room allows it: no SFU bandwidth or CPU, the lowest latency
 * there is. A third person moves it to the SFU at once; back at two it returns to P2P only
 * after a hold-off, so someone who drops and comes straight back does not make it flap.
 * A pair whose direct connection failed stays on the SFU until the pair changes.
 */
export const P2P_HOLD_OFF_MS = 10_000;

export interface ModeState {
  readonly mode: MediaMode;
  /** The pair (sorted ids) whose direct connection failed. */
  readonly failedPair?: string;
  /** When a call down to two goes back to P2P, if it stays two. */
  readonly p2pAt?: number;
}

export interface ModeInput {
  readonly state: ModeState;
  /** Who is in the call now. */
  readonly joined: readonly string[];
  readonly allowed: boolean;
  readonly now: number;
  /** The pair in the call just said its direct connection failed. */
  readonly failed?: boolean;
  readonly holdOffMs?: number;
}

/** The next state, and why the mode changed when it did. */
export function decideMode({ state, joined, allowed, now, failed, holdOffMs = P2P_HOLD_OFF_MS }: ModeInput): { state: ModeState; reason?: string } {
  const pair = joined.length === 2 ? [...joined].sort().join("|") : undefined;
  const failedPair = failed && pair ? pair : state.failedPair === pair ? state.failedPair : undefined;
  const [target, reason] = !allowed
    ? (["sfu", "peer-to-peer is off in this room"] as const)
    : joined.length > 2
      ? (["sfu", "a third participant joined"] as const)
      : failedPair
        ? (["sfu", "the direct connection failed"] as const)
        : (["p2p", joined.length === 2 ? "the call is two people" : "the call has no one to connect to yet"] as const);
  const keep = (extra: Partial<ModeState> = {}): ModeState => ({ mode: state.mode, ...(failedPair ? { failedPair } : {}), ...extra });
  if (target === state.mode) return { state: keep() };
  if (target === "sfu") return { state: { mode: "sfu", ...(failedPair ? { failedPair } : {}) }, reason };
  // Back to P2P: at once with no one to flap with, after the hold-off for two.
  if (joined.length === 2) {
    const at = state.p2pAt ?? now + holdOffMs;
    if (now < at) return { state: keep({ p2pAt: at }) };
  }
  return { state: { mode: "p2p" }, reason: joined.length === 2 ? "the call is down to two" : reason };
}

/** The mode before anyone joined. */
export const initialMode = (allowed: boolean): ModeState => ({ mode: allowed ? "p2p" : "sfu" });

/** What a participant joining now would find: P2P while they would be one of at most two (a new pair gets a fresh try). */
export const prospectiveMode = (joined: number, allowed: boolean): MediaMode => (allowed && joined < 2 ? "p2p" : "sfu");
