import type { types } from "mediasoup";
import type { WorkerPool } from "../../src/media/worker-pool.ts";

/**
 * The mediasoup consumers the pool's workers create, by id, seen through mediasoup's own
 * observer API: tests can check what the worker was really asked for (type, paused,
 * layers) without MediaService exposing its internals. Attach before creating routers.
 */
export function watchConsumers(pool: WorkerPool): Map<string, types.Consumer> {
  const consumers = new Map<string, types.Consumer>();
  for (const { worker } of pool.workers) {
    worker.observer.on("newrouter", (router) =>
      router.observer.on("newtransport", (transport) => transport.observer.on("newconsumer", (consumer) => consumers.set(consumer.id, consumer))),
    );
  }
  return consumers;
}

/** The pool worker a router lives on, as the worker itself reports it. */
export async function workerOf(pool: WorkerPool, routerId: string): Promise<number> {
  for (const w of pool.workers) {
    if (w.worker.closed) continue;
    if ((await w.worker.dump()).routerIds.includes(routerId)) return w.index;
  }
  throw new Error(`router ${routerId} is on no live worker`);
}
