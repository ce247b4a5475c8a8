import type { types } from "mediasoup";
import {
  ProtocolError,
  type EdgeToNodeMethods,
  type Handlers,
  type NodeLoad,
  type NodeState,
  type ParamsOf,
  type ResultOf,
  type TransportOptions,
} from "@meridian/protocol";
import type { Logger } from "../log.ts";
import { INITIAL_OUTGOING_BITRATE, MAX_INCOMING_BITRATE, ROUTER_MEDIA_CODECS } from "./codecs.ts";
import type { PooledWorker, WorkerPool } from "./worker-pool.ts";

type P<K extends keyof EdgeToNodeMethods & string> = ParamsOf<EdgeToNodeMethods, K>;
type R<K extends keyof EdgeToNodeMethods & string> = ResultOf<EdgeToNodeMethods, K>;

interface TransportData {
  [key: string]: unknown;
  routerId: string;
  participantId: string;
  direction: "send" | "recv";
  rtpCapabilities?: types.RtpCapabilities;
}

interface RoomRouter {
  readonly roomId: string;
  readonly router: types.Router;
  readonly worker: PooledWorker;
}

/**
 * The node's media plane: routers (one per room), WebRTC transports, producers and
 * consumers, addressed by id. It holds no membership logic: the room DO decides who may
 * do what and calls in here through the control channel.
 */
export class MediaService {
  readonly #pool: WorkerPool;
  readonly #log: Logger;
  readonly #consumersPerWorker: number;
  readonly #roomRouters = new Map<string, Promise<RoomRouter>>();
  readonly #routers = new Map<string, RoomRouter>();
  readonly #transports = new Map<string, types.WebRtcTransport<TransportData>>();
  readonly #producers = new Map<string, types.Producer>();
  readonly #consumers = new Map<string, types.Consumer>();
  #state: NodeState = "active";
  #utilization = 0;

  constructor(pool: WorkerPool, options: { consumersPerWorker: number }, log: Logger) {
    this.#pool = pool;
    this.#consumersPerWorker = options.consumersPerWorker;
    this.#log = log;
  }

  readonly handlers: Handlers<EdgeToNodeMethods, unknown> = {
    createRouter: (p) => this.createRouter(p),
    closeRouter: (p) => this.closeRouter(p),
    createWebRtcTransport: (p) => this.createWebRtcTransport(p),
    connectTransport: (p) => this.connectTransport(p),
    closeTransport: (p) => this.closeTransport(p),
    produce: (p) => this.produce(p),
    closeProducer: (p) => this.closeProducer(p),
    setProducerPaused: (p) => this.setProducerPaused(p),
    consume: (p) => this.consume(p),
    resumeConsumer: (p) => this.resumeConsumer(p),
    setPreferredLayers: (p) => this.setPreferredLayers(p),
    restartIce: (p) => this.restartIce(p),
    getTransportStats: (p) => this.getTransportStats(p),
  };

  get state(): NodeState {
    return this.#state;
  }

  setState(state: NodeState): void {
    this.#state = state;
  }

  /** Routers per room id, for re-announcing after a reconnect and for shutdown. */
  get roomCount(): number {
    return this.#routers.size;
  }

  async createRouter({ roomId }: P<"createRouter">): Promise<R<"createRouter">> {
    let pending = this.#roomRouters.get(roomId);
    if (!pending) {
      if (this.#state === "draining") throw new ProtocolError("node_unavailable", "node is draining");
      // Kept as a promise so two rooms' first joins racing here get one router, not two.
      pending = this.#spawnRouter(roomId);
      this.#roomRouters.set(roomId, pending);
      pending.catch(() => this.#roomRouters.delete(roomId));
    }
    const { router } = await pending;
    return { routerId: router.id, rtpCapabilities: router.rtpCapabilities as R<"createRouter">["rtpCapabilities"] };
  }

  async closeRouter({ routerId }: P<"closeRouter">): Promise<R<"closeRouter">> {
    this.#routers.get(routerId)?.router.close();
    return {};
  }

  async createWebRtcTransport(p: P<"createWebRtcTransport">): Promise<TransportOptions> {
    const room = this.#router(p.routerId);
    if (p.direction === "recv" && !p.rtpCapabilities) {
      throw new ProtocolError("invalid_params", "a recv transport needs the device's rtpCapabilities");
    }
    const appData: TransportData = { routerId: p.routerId, participantId: p.participantId, direction: p.direction };
    if (p.rtpCapabilities) appData.rtpCapabilities = p.rtpCapabilities as types.RtpCapabilities;
    const transport = await media(() =>
      room.router.createWebRtcTransport<TransportData>({
        webRtcServer: room.worker.webRtcServer,
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        initialAvailableOutgoingBitrate: INITIAL_OUTGOING_BITRATE,
        appData,
      }),
    );
    if (p.direction === "send") await media(() => transport.setMaxIncomingBitrate(MAX_INCOMING_BITRATE));
    this.#transports.set(transport.id, transport);
    transport.observer.on("close", () => this.#transports.delete(transport.id));
    transport.on("dtlsstatechange", (state) => {
      if (state === "failed" || state === "closed") this.#log.debug("dtls state", { transportId: transport.id, state });
    });
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters as TransportOptions["dtlsParameters"],
    };
  }

  async connectTransport(p: P<"connectTransport">): Promise<R<"connectTransport">> {
    const transport = this.#transport(p.transportId);
    await media(() => transport.connect({ dtlsParameters: p.dtlsParameters as types.DtlsParameters }));
    return {};
  }

  async closeTransport({ transportId }: P<"closeTransport">): Promise<R<"closeTransport">> {
    this.#transports.get(transportId)?.close();
    return {};
  }

  async produce(p: P<"produce">): Promise<R<"produce">> {
    const transport = this.#transport(p.transportId);
    if (transport.appData.direction !== "send") throw new ProtocolError("forbidden", "cannot produce on a recv transport");
    const producer = await media(() =>
      transport.produce({
        kind: p.kind,
        rtpParameters: p.rtpParameters as types.RtpParameters,
        paused: p.paused ?? false,
        appData: { participantId: p.participantId, source: p.source },
      }),
    );
    this.#producers.set(producer.id, producer);
    producer.observer.on("close", () => this.#producers.delete(producer.id));
    return { producerId: producer.id };
  }

  async closeProducer({ producerId }: P<"closeProducer">): Promise<R<"closeProducer">> {
    this.#producers.get(producerId)?.close();
    return {};
  }

  /** Pausing stops forwarding (the consumers are told) until resumed: a muted mic costs nothing. */
  async setProducerPaused({ producerId, paused }: P<"setProducerPaused">): Promise<R<"setProducerPaused">> {
    const producer = this.#producers.get(producerId);
    if (!producer || producer.closed) throw new ProtocolError("not_found", `no producer ${producerId}`);
    await media(() => (paused ? producer.pause() : producer.resume()));
    return {};
  }

  async consume(p: P<"consume">): Promise<R<"consume">> {
    const transport = this.#transport(p.transportId);
    const { direction, rtpCapabilities } = transport.appData;
    if (direction !== "recv" || !rtpCapabilities) throw new ProtocolError("forbidden", "consume needs a recv transport");
    if (!this.#producers.has(p.producerId)) throw new ProtocolError("not_found", `no producer ${p.producerId}`);
    const room = this.#router(transport.appData.routerId);
    if (!room.router.canConsume({ producerId: p.producerId, rtpCapabilities })) {
      throw new ProtocolError("media_error", "the device cannot receive this producer's codec");
    }
    // Paused until the browser has wired the track up: no keyframe is wasted on nobody.
    const consumer = await media(() => transport.consume({ producerId: p.producerId, rtpCapabilities, paused: true }));
    this.#consumers.set(consumer.id, consumer);
    consumer.observer.on("close", () => this.#consumers.delete(consumer.id));
    return { consumerId: consumer.id, kind: consumer.kind, rtpParameters: consumer.rtpParameters as R<"consume">["rtpParameters"] };
  }

  async resumeConsumer({ consumerId }: P<"resumeConsumer">): Promise<R<"resumeConsumer">> {
    const consumer = this.#consumers.get(consumerId);
    if (!consumer || consumer.closed) throw new ProtocolError("not_found", `no consumer ${consumerId}`);
    await media(() => consumer.resume());
    return {};
  }

  /** The subscriber's wish (tile size, bandwidth); mediasoup still caps by what BWE allows. */
  async setPreferredLayers({ consumerId, spatialLayer, temporalLayer }: P<"setPreferredLayers">): Promise<R<"setPreferredLayers">> {
    const consumer = this.#consumers.get(consumerId);
    if (!consumer || consumer.closed) throw new ProtocolError("not_found", `no consumer ${consumerId}`);
    if (consumer.type !== "simulcast" && consumer.type !== "svc") return {};
    await media(() => consumer.setPreferredLayers({ spatialLayer, ...(temporalLayer === undefined ? {} : { temporalLayer }) }));
    return {};
  }

  async restartIce({ transportId }: P<"restartIce">): Promise<R<"restartIce">> {
    const transport = this.#transport(transportId);
    const iceParameters = await media(() => transport.restartIce());
    return { iceParameters };
  }

  async getTransportStats({ transportId }: P<"getTransportStats">): Promise<R<"getTransportStats">> {
    const transport = this.#transport(transportId);
    const stats = await media(() => transport.getStats());
    return { stats: stats as unknown as R<"getTransportStats">["stats"] };
  }

  /** Recomputes utilization from worker CPU and consumer count; call on the report timer. */
  async sampleLoad(elapsedSeconds: number): Promise<void> {
    const cpu = await this.#pool.sampleCpu(elapsedSeconds);
    const capacity = Math.max(1, this.#pool.workers.length * this.#consumersPerWorker);
    this.#utilization = Math.min(1, Math.max(cpu, this.#consumers.size / capacity));
  }

  load(): NodeLoad {
    return {
      state: this.#state,
      workers: this.#pool.workers.length,
      routers: this.#routers.size,
      transports: this.#transports.size,
      producers: this.#producers.size,
      consumers: this.#consumers.size,
      utilization: this.#utilization,
    };
  }

  close(): void {
    for (const { router } of this.#routers.values()) router.close();
  }

  async #spawnRouter(roomId: string): Promise<RoomRouter> {
    const worker = this.#pool.leastLoaded();
    const router = await media(() => worker.worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS, appData: { roomId } }));
    const entry: RoomRouter = { roomId, router, worker };
    worker.routers++;
    this.#routers.set(router.id, entry);
    router.observer.on("close", () => {
      worker.routers--;
      this.#routers.delete(router.id);
      this.#roomRouters.delete(roomId);
    });
    this.#log.debug("router created", { roomId, routerId: router.id, worker: worker.index });
    return entry;
  }

  #router(routerId: string): RoomRouter {
    const room = this.#routers.get(routerId);
    if (!room) throw new ProtocolError("not_found", `no router ${routerId}`);
    return room;
  }

  #transport(transportId: string): types.WebRtcTransport<TransportData> {
    const transport = this.#transports.get(transportId);
    if (!transport) throw new ProtocolError("not_found", `no transport ${transportId}`);
    return transport;
  }
}

/** Runs a mediasoup call; its errors (bad parameters, closed objects) become `media_error`. */
async function media<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError("media_error", error instanceof Error ? error.message : String(error));
  }
}
