import * as mediasoup from "mediasoup";
import type { types } from "mediasoup";
import type { Logger } from "../log.ts";

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
  /** Routers placed on this worker; the placement key. */
  routers: number;
  /** CPU seconds at the previous sample, for utilization. */
  lastCpuSeconds: number;
}

/**
 * One mediasoup worker per core, each with a WebRtcServer on UDP+TCP port base+i, so the
 * firewall opens a handful of ports instead of a range.
 */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #log: Logger;
  readonly #workers: PooledWorker[] = [];
  #onDied: ((worker: PooledWorker, error: Error) => void) | undefined;

  constructor(options: WorkerPoolOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
  }

  get workers(): readonly PooledWorker[] {
    return this.#workers;
  }

  onWorkerDied(listener: (worker: PooledWorker, error: Error) => void): void {
    this.#onDied = listener;
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

  /** The worker with the fewest routers; ties go to the lowest index. */
  leastLoaded(): PooledWorker {
    const alive = this.#workers.filter((w) => !w.worker.closed);
    if (alive.length === 0) throw new Error("no mediasoup worker is running");
    return alive.reduce((best, w) => (w.routers < best.routers ? w : best));
  }

  /** Mean CPU share of the workers since the last call (0..1 each). */
  async sampleCpu(elapsedSeconds: number): Promise<number> {
    if (elapsedSeconds <= 0 || this.#workers.length === 0) return 0;
    let total = 0;
    for (const w of this.#workers) {
      if (w.worker.closed) continue;
      const usage = await w.worker.getResourceUsage();
      const seconds = (usage.ru_utime + usage.ru_stime) / 1000;
      total += Math.min(1, Math.max(0, (seconds - w.lastCpuSeconds) / elapsedSeconds));
      w.lastCpuSeconds = seconds;
    }
    return total / this.#workers.length;
  }

  close(): void {
    for (const w of this.#workers) w.worker.close();
  }

  async #spawn(index: number): Promise<PooledWorker> {
    const o = this.#options;
    const worker = await mediasoup.createWorker({ logLevel: o.logLevel, workerBin: o.workerBin });
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
    const pooled: PooledWorker = { index, worker, webRtcServer, routers: 0, lastCpuSeconds: 0 };
    worker.on("died", (error) => {
      this.#log.error("mediasoup worker died", { worker: index, pid: worker.pid, error: error.message });
      this.#onDied?.(pooled, error);
    });
    return pooled;
  }
}
