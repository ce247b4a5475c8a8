/**
 * A token bucket: `capacity` tokens, refilled at `perSecond`. Time is passed in, so the
 * bucket is a pure value that tests can drive.
 */
export class TokenBucket {
  readonly capacity: number;
  readonly perSecond: number;
  #tokens: number;
  #at: number;

  constructor(capacity: number, perSecond: number, now: number) {
    this.capacity = capacity;
    this.perSecond = perSecond;
    this.#tokens = capacity;
    this.#at = now;
  }

  take(now: number, cost = 1): boolean {
    this.#refill(now);
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }

  /** How long until `cost` tokens are there. */
  waitMs(now: number, cost = 1): number {
    this.#refill(now);
    return this.#tokens >= cost ? 0 : Math.ceil(((cost - this.#tokens) / this.perSecond) * 1000);
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = now;
  }
}

export type Admission = { readonly ok: true } | { readonly ok: false; readonly retryMs: number; readonly close: boolean };

/**
 * A token bucket with strikes against a sender that ignores its retry hints. A refused
 * frame is a strike only when it comes before the retry time the previous refusal named,
 * and strikes fade with time, so a client that waits as told never collects any, however
 * greedy, while a steady overrun collects them about as fast as it is refused.
 */
export class RateLimiter {
  readonly #bucket: TokenBucket;
  readonly #maxStrikes: number;
  /** A quarter of the allowed rate: an overrun by more than that is closed, a few stray frames are forgiven. */
  readonly #decayPerSecond: number;
  /**
   * The hint waits for a few tokens, not one: a client steadily over the rate (even at 2x)
   * would otherwise land after every one-token hint and never count as ignoring it.
   */
  readonly #retryTokens: number;
  #strikes = 0;
  #at: number;
  #retryAt = 0;

  constructor(burst: number, perSecond: number, maxStrikes: number, now: number) {
    this.#bucket = new TokenBucket(burst, perSecond, now);
    this.#maxStrikes = maxStrikes;
    this.#decayPerSecond = perSecond / 4;
    this.#retryTokens = Math.min(burst, 4);
    this.#at = now;
  }

  admit(now: number): Admission {
    this.#strikes = Math.max(0, this.#strikes - ((now - this.#at) / 1000) * this.#decayPerSecond);
    this.#at = now;
    if (this.#bucket.take(now)) return { ok: true };
    if (now < this.#retryAt) this.#strikes++;
    const retryMs = this.#bucket.waitMs(now, this.#retryTokens);
    this.#retryAt = now + retryMs;
    return { ok: false, retryMs, close: this.#strikes > this.#maxStrikes };
  }
}
