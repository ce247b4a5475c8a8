import * as mediasoup from "mediasoup";
import type { types } from "mediasoup";
import { backoffSleep, type BackoffOptions, type Logger } from "@meridian/protocol";

export interface WorkerPoolOptions {
  readonly numWorkers: number;
  readonly workerBin: string;
  readonly listenIp: string;
  readonly announcedAddress: string | undefined;
  readonly rtcPortBase: number;
  readonly logLevel: types.WorkerLogLevel;
}

/** One mediasoup worker process with the WebRtcServer that owns its fixed port. */
export interface PooledWorker {
  readonly index: number;
  readonly worker: types.Worker;
  readonly webRtcServer: types.WebRtcServer;
  /** Routers placed on this worker: placement's last tie-break, which spreads empty rooms. */
  routers: number;
  /**
   * Producers and consumers on this worker's routers: what it forwards, so placement's
   * main key (a 100-person room is not one router's worth like a 2-person one).
   */
  producers: number;
  consumers: number;
  /** CPU share (0..1) at the last sample; undefined until sampled. */
  cpu: number | undefined;
  /** CPU seconds at the previous sample, for utilization. */
  lastCpuSeconds: number;
}

/** A dead worker's port frees within moments of its exit: retries start at 100 ms and stay under 2 s. */
const RESPAWN_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 2000 };

/** CPU shares this close are sampling jitter, no reason to prefer one worker over another. */
const CPU_NOISE = 0.05;

/**
 * Whether `a` should take a new router rather than `b`: fewer producers + consumers;
 * on a tie, clearly less sampled CPU (the same count of audio and of HD video differ);
 * then fewer routers.
 */
export function lighter(
  a: Pick<PooledWorker, "routers" | "producers" | "consumers" | "cpu">,
  b: Pick<PooledWorker, "routers" | "producers" | "consumers" | "cpu">,
): boolean {
  const media = a.producers + a.consumers - (b.producers + b.consumers);
  if (media !== 0) return media < 0;
  if (a.cpu !== undefined && b.cpu !== undefined && Math.abs(a.cpu - b.cpu) > CPU_NOISE) return a.cpu < b.cpu;
  return a.routers < b.routers;
}

/**
 * One mediasoup worker per core, each with a WebRtcServer on UDP+TCP port base+i, so the
 * firewall opens a handful of ports instead of a range.
 */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #log: Logger;
  readonly #workers: PooledWorker[] = [];
  #closing = false;
  #onDied: ((worker: PooledWorker, error: Error) => void) | undefined;

  constructor(options: WorkerPoolOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
  }

  get workers(): readonly PooledWorker[] {
    return this.#workers;
  }

  /** Called after a dead worker has been replaced (or the replacement failed). */
  onWorkerDied(listener: (worker: PooledWorker, error: Error) => void): void {
    this.#onDied = listener;
  }

  /**
   * Replaces a dead worker at the same index, so it serves the same port again (the old
   * process's sockets went with it). Retries with backoff while the port is still held.
   */
  async #replace(index: number): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      if (this.#closing) return;
      try {
        this.#workers[index] = await this.#spawn(index);
        this.#log.info("mediasoup worker replaced", { worker: index, pid: this.#workers[index]!.worker.pid });
        return;
      } catch (error) {
        this.#log.warn("worker replacement failed; retrying", { worker: index, attempt, error: (error as Error).message });
        await backoffSleep(attempt, RESPAWN_BACKOFF);
      }
    }
    this.#log.error("could not replace a dead mediasoup worker", { worker: index });
  }

  async start(): Promise<void> {
    for (let index = 0; index < this.#options.numWorkers; index++) {
      this.#workers.push(await this.#spawn(index));
    }
    this.#log.info("workers started", { workers: this.#workers.length, ports: this.#workers.map((w) => this.portOf(w)) });
  }

  portOf(worker: PooledWorker): number {
    return this.#options.rtcPortBase + worker.index;
  }

  /**
   * The live worker to place a new router on (see `lighter`; ties: lowest index). When
   * every worker is dead, waits (bounded) for a replacement: a room moving off a dead
   * worker lands on it.
   */
  async leastLoaded(waitMs = 5000): Promise<PooledWorker> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const alive = this.#workers.filter((w) => !w.worker.closed);
      if (alive.length > 0) return alive.reduce((best, w) => (lighter(w, best) ? w : best));
      if (this.#closing || Date.now() > deadline) throw new Error("no mediasoup worker is running");
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Each worker's CPU share since the previous call (0..1; a dead worker reads 0). */
  async sampleCpu(elapsedSeconds: number): Promise<number[]> {
    const shares: number[] = [];
    for (const w of this.#workers) {
      if (w.worker.closed || elapsedSeconds <= 0) {
        shares.push(0);
        continue;
      }
      const usage = await w.worker.getResourceUsage();
      const seconds = (usage.ru_utime + usage.ru_stime) / 1000;
      const share = Math.min(1, Math.max(0, (seconds - w.lastCpuSeconds) / elapsedSeconds));
      shares.push(share);
      w.cpu = share;
      w.lastCpuSeconds = seconds;
    }
    return shares;
  }

  close(): void {
    this.#closing = true;
    for (const w of this.#workers) w.worker.close();
  }

  async #spawn(index: number): Promise<PooledWorker> {
    const o = this.#options;
    const worker = await mediasoup.createWorker({ logLevel: o.logLevel, workerBin: o.workerBin });
    // mediasoup closes every worker on the process's first SIGINT/SIGTERM; the node owns
    // shutdown (SIGTERM drains: rooms go on until they end), so those listeners go.
    const onSignal = (worker as unknown as { onSignal?: (...args: unknown[]) => void }).onSignal;
    if (onSignal) {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    }
    const port = o.rtcPortBase + index;
    const listen = { ip: o.listenIp, port, ...(o.announcedAddress ? { announcedAddress: o.announcedAddress } : {}) };
    let webRtcServer: types.WebRtcServer;
    try {
      webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { protocol: "udp", ...listen },
          { protocol: "tcp", ...listen },
        ],
      });
    } catch (error) {
      worker.close();
      throw new Error(`cannot listen on ${o.listenIp}:${port} (UDP+TCP) for worker ${index}: ${(error as Error).message}`);
    }
    const pooled: PooledWorker = { index, worker, webRtcServer, routers: 0, producers: 0, consumers: 0, cpu: undefined, lastCpuSeconds: 0 };
    worker.on("died", (error) => {
      this.#log.error("mediasoup worker died", { worker: index, pid: worker.pid, error: error.message });
      void this.#replace(index).then(() => this.#onDied?.(pooled, error));
    });
    return pooled;
  }
}
