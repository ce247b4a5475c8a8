/**
 * One run of `start` per key at a time: callers arriving while it runs share its promise
 * (a Durable Object interleaves its requests at every await, so two of them can need the
 * same slow setup at once).
 */
export function shared<T>(pending: Map<string, Promise<T>>, key: string, start: () => Promise<T>): Promise<T> {
  let run = pending.get(key);
  if (!run) {
    run = start().finally(() => pending.delete(key));
    pending.set(key, run);
  }
  return run;
}
