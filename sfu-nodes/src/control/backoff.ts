export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/**
 * Delay before reconnect attempt `attempt` (0-based): "full jitter", uniform in
 * [0, min(max, base * 2^attempt)], so a fleet that lost the edge at once does not come back
 * in lockstep. The floor of base/2 keeps a flapping edge from being hammered.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(options.baseMs / 2, Math.round(random() * ceiling));
}
