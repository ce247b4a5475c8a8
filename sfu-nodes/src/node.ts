import type { Server } from "node:http";
import { NODE_PROTOCOL_VERSION, edgeToNodeMethods, errorFields, type EdgeToNodeMethods, type Logger, type NodeRegistration } from "@meridian/protocol";
import { EdgeLink, edgeConnectUrl, startMetricsServer } from "@meridian/node-agent";
import type { NodeConfig } from "./config.ts";
import { MediaService } from "./media/media-service.ts";
import { WorkerPool } from "./media/worker-pool.ts";
import { sfuMetrics } from "./metrics.ts";

export const NODE_VERSION = "0.1.0";

/** The whole node: its workers, its media plane, its link to the edge and its metrics. */
export class SfuNode {
  readonly config: NodeConfig;
  readonly pool: WorkerPool;
  readonly media: MediaService;
  readonly link: EdgeLink<EdgeToNodeMethods>;
  readonly #log: Logger;
  #lastSample = performance.now();
  #metrics: Server | undefined;

  constructor(config: NodeConfig, workerBin: string, log: Logger) {
    this.config = config;
    this.#log = log;
    this.pool = new WorkerPool(
      {
        numWorkers: config.numWorkers,
        workerBin,
        listenIp: config.listenIp,
        announcedAddress: config.announcedAddress,
        rtcPortBase: config.rtcPortBase,
        logLevel: config.mediasoupLogLevel,
      },
      log.child("workers"),
    );
    this.media = new MediaService(
      this.pool,
      {
        consumersPerWorker: config.consumersPerWorker,
        plainIp: { ip: config.listenIp, ...(config.announcedAddress ? { announcedAddress: config.announcedAddress } : {}) },
        pipes: {
          ip: config.pipe.ip,
          ...(config.pipe.announcedAddress ? { announcedAddress: config.pipe.announcedAddress } : {}),
          portRange: config.pipe.portRange,
          maxPipes: config.pipe.portRange.max - config.pipe.portRange.min + 1,
          maxPipedProducers: config.pipe.maxPipedProducers,
        },
      },
      log.child("media"),
    );
    this.link = new EdgeLink({
      url: edgeConnectUrl(config.edgeUrl),
      nodeId: config.nodeId,
      secret: config.secret,
      registration: () => this.registration(),
      load: async () => {
        const now = performance.now();
        await this.media.sampleLoad((now - this.#lastSample) / 1000);
        this.#lastSample = now;
        return this.media.load();
      },
      methods: edgeToNodeMethods,
      handlers: this.media.handlers,
      loadIntervalMs: config.loadReportIntervalMs,
      log: log.child("edge"),
    });
    // What the media plane notices, the edge hears about; while the link is down the
    // edge learns it from the `carrying` list on the next registration.
    this.media.on("activeSpeaker", (info) => this.link.sendEvent("activeSpeaker", info));
    this.media.on("routersLost", (info) => {
      if (!this.link.sendEvent("routersLost", info)) this.#log.warn("routers lost while the edge link is down", { rooms: info.rooms.length });
    });
  }

  registration(): NodeRegistration {
    const c = this.config;
    return {
      protocol: NODE_PROTOCOL_VERSION,
      nodeId: c.nodeId,
      kind: "sfu",
      version: NODE_VERSION,
      region: c.region,
      lat: c.lat,
      lon: c.lon,
      load: this.media.load(),
      carrying: this.media.carrying(),
      publicAddress: c.announcedAddress ?? c.listenIp,
      pipeAddress: `${c.pipe.announcedAddress ?? c.pipe.ip}:${c.pipe.portRange.min}-${c.pipe.portRange.max}`,
      capacity: { workers: c.numWorkers, consumersPerWorker: c.consumersPerWorker },
      reportIntervalMs: c.loadReportIntervalMs,
    };
  }

  async start(): Promise<void> {
    await this.pool.start();
    if (this.config.metricsPort > 0) {
      this.#metrics = await startMetricsServer({
        ip: this.config.metricsIp,
        port: this.config.metricsPort,
        metrics: sfuMetrics(this.config.nodeId, () => ({ load: this.media.load(), edgeConnected: this.link.registered })),
        log: this.#log.child("metrics"),
      });
    }
    this.link.start();
  }

  /**
   * Graceful stop: report `draining` (no new rooms come), let the current rooms finish
   * for up to the drain timeout, then have the edge move whatever is left, and close.
   */
  async drain(timeoutMs = this.config.drainTimeoutMs): Promise<"empty" | "timeout"> {
    this.media.setState("draining");
    await this.link.reportLoad();
    this.#log.info("draining", { rooms: this.media.roomCount, timeoutMs });
    let outcome: "empty" | "timeout" = "empty";
    if (this.media.roomCount > 0) {
      outcome = await new Promise<"empty" | "timeout">((resolve) => {
        const timer = setTimeout(() => resolve("timeout"), timeoutMs);
        this.media.once("empty", () => {
          clearTimeout(timer);
          resolve("empty");
        });
      });
    }
    if (outcome === "timeout") {
      this.#log.warn("drain timed out; handing the remaining rooms back to the edge", { rooms: this.media.roomCount });
      this.media.abandonAll("node drained");
      // The edge moves them on receipt; give the event a moment to leave before closing.
      await this.link.reportLoad();
    }
    await this.stop();
    return outcome;
  }

  async stop(): Promise<void> {
    this.media.setState("draining");
    await this.link.reportLoad();
    await this.link.stop();
    this.media.close();
    this.pool.close();
    await new Promise<void>((resolve) => (this.#metrics ? this.#metrics.close(() => resolve()) : resolve())).catch((error) =>
      this.#log.warn("metrics server did not close", errorFields(error)),
    );
  }
}
