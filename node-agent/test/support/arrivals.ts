/**
 * What a test waits for (frames from a node, socket closes, log lines): everything that
 * arrived, and `next(match)`, the first arrival matching that no earlier `next` took,
 * whether it came already or comes before the timeout.
 */
export class Arrivals<T> {
  /** Every arrival in order, taken or not. */
  readonly all: T[] = [];
  readonly #untaken: T[] = [];
  readonly #waiters: Array<{ match: (item: T) => boolean; take: (item: T) => void }> = [];
  readonly #what: string;

  /** `what` names the arrivals in a timeout's message ("a frame from the node"). */
  constructor(what: string) {
    this.#what = what;
  }

  push(item: T): void {
    this.all.push(item);
    const waiter = this.#waiters.find((w) => w.match(item));
    if (waiter) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.take(item);
    } else this.#untaken.push(item);
  }

  next(match: (item: T) => boolean, timeoutMs: number): Promise<T> {
    const seen = this.#untaken.find(match);
    if (seen !== undefined) {
      this.#untaken.splice(this.#untaken.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        take: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`timed out waiting for ${this.#what} (${timeoutMs} ms)`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }
}
