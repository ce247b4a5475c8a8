/**
 * The one retry discipline of every client of the edge (SFU nodes and TURN agents
 * redialling, browsers resuming, webhook deliveries, worker respawns): exponential
 * backoff with full jitter. A fleet or a whole room that lost the edge at the same
 * moment then comes back spread over the window instead of in lockstep.
 */

export interface BackoffOptions {
  /** The first window's ceiling; later windows double it. */
  readonly baseMs: number;
  /** No window grows beyond this. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/**
 * Delay before retry `attempt` (0-based): uniform in [0, min(max, base * 2^attempt)]
 * ("full jitter"), never under base/2 so a flapping peer is not hammered.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.max(options.baseMs / 2, Math.round(random() * ceiling));
}

/** Resolves after `backoffDelay(attempt, options)`. */
export function backoffSleep(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, options)));
}
