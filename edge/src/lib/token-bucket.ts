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
