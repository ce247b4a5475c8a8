import { PROTOCOL_VERSION, type NodeRegistration } from "@meridian/protocol";
import type { NodeConfig } from "./config.ts";
import { edgeConnectUrl } from "./config.ts";
import { EdgeLink } from "./control/edge-link.ts";
import type { Logger } from "./log.ts";
import { MediaService } from "./media/media-service.ts";
import { WorkerPool } from "./media/worker-pool.ts";

export const NODE_VERSION = "0.1.0";

/** The whole node: its workers, its media plane and its link to the edge. */
export class SfuNode {
  readonly config: NodeConfig;
  readonly pool: WorkerPool;
  readonly media: MediaService;
  readonly link: EdgeLink;
  readonly #log: Logger;
  #lastSample = performance.now();

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
    this.media = new MediaService(this.pool, { consumersPerWorker: config.consumersPerWorker }, log.child("media"));
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
      handlers: this.media.handlers,
      loadIntervalMs: config.loadReportIntervalMs,
      log: log.child("edge"),
    });
  }

  registration(): NodeRegistration {
    const c = this.config;
    return {
      protocol: PROTOCOL_VERSION,
      nodeId: c.nodeId,
      kind: "sfu",
      version: NODE_VERSION,
      region: c.region,
      lat: c.lat,
      lon: c.lon,
      load: this.media.load(),
    };
  }

  async start(): Promise<void> {
    await this.pool.start();
    this.pool.onWorkerDied(() => {
      // Routers on a dead worker are gone; until rooms can move (failover), restart clean.
      this.#log.error("a mediasoup worker died; exiting so the supervisor restarts the node");
      process.exitCode = 1;
      void this.stop();
    });
    this.link.start();
  }

  /** Tells the edge it is going away, then closes the link and every worker. */
  async stop(): Promise<void> {
    this.media.setState("draining");
    await this.link.reportLoad();
    await this.link.stop();
    this.media.close();
    this.pool.close();
  }
}
