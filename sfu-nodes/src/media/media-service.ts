import { EventEmitter } from "node:events";
import type { types } from "mediasoup";
import {
  ProtocolError,
  type EdgeToNodeMethods,
  type Handlers,
  type Logger,
  type NodeLoad,
  type NodeState,
  type ParamsOf,
  type ResultOf,
  type TransportOptions,
} from "@meridian/protocol";
import { INITIAL_OUTGOING_BITRATE, MAX_INCOMING_BITRATE, ROUTER_MEDIA_CODECS } from "./codecs.ts";
import { MediaObjects, bitrateOf, media, type RoomRouter, type TransportData } from "./media-objects.ts";
import { Pipes, type PipeOptions } from "./pipes.ts";
import type { WorkerPool } from "./worker-pool.ts";

type P<K extends keyof EdgeToNodeMethods & string> = ParamsOf<EdgeToNodeMethods, K>;
type R<K extends keyof EdgeToNodeMethods & string> = ResultOf<EdgeToNodeMethods, K>;

export interface MediaServiceOptions {
  readonly consumersPerWorker: number;
  /** Where plain RTP transports listen (a range of ephemeral ports of the worker). */
  readonly plainIp?: { ip: string; announcedAddress?: string };
  /** Where pipes to other nodes listen; the defaults suit a node on loopback. */
  readonly pipes?: Partial<PipeOptions>;
}

/** Pipes on loopback unless configured (config.ts reads PIPE_* and ports.json). */
const DEFAULT_PIPES: PipeOptions = { ip: "127.0.0.1", portRange: { min: 41000, max: 41999 }, maxPipes: 1000, maxPipedProducers: 10_000 };

export interface MediaServiceEvents {
  activeSpeaker: [info: { roomId: string; routerId: string; participantId: string | null }];
  /** Routers that went with a dead worker: their rooms must move. */
  routersLost: [info: { rooms: Array<{ roomId: string; routerId: string }>; reason: string }];
  /** The last router closed (a draining node can stop). */
  empty: [];
}

/** How often the active speaker observer may change its mind. */
const ACTIVE_SPEAKER_INTERVAL_MS = 300;

/**
 * The node's media plane: routers (one per room), WebRTC transports, producers and
 * consumers, addressed by id. It holds no membership logic: the room DO decides who may
 * do what and calls in here through the control channel.
 */
export class MediaService extends EventEmitter<MediaServiceEvents> {
  readonly #pool: WorkerPool;
  readonly #log: Logger;
  readonly #consumersPerWorker: number;
  readonly #plainIp: { ip: string; announcedAddress?: string };
  readonly #objects = new MediaObjects();
  readonly pipes: Pipes;
  readonly #roomRouters = new Map<string, Promise<RoomRouter>>();
  #state: NodeState = "active";
  #utilization = 0;
  #cpu: number[] = [];
  #bitrate = { in: 0, out: 0 };
  #pipeBitrate = { in: 0, out: 0 };
  #lost: Array<{ roomId: string; routerId: string }> = [];

  constructor(pool: WorkerPool, options: MediaServiceOptions, log: Logger) {
    super();
    this.#pool = pool;
    this.#consumersPerWorker = options.consumersPerWorker;
    this.#plainIp = options.plainIp ?? { ip: "127.0.0.1" };
    this.#log = log;
    this.pipes = new Pipes(this.#objects, { ...DEFAULT_PIPES, ...options.pipes }, log.child("pipes"));
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
    createPlainTransport: (p) => this.createPlainTransport(p),
    connectPlainTransport: (p) => this.connectPlainTransport(p),
    setPreferredLayers: (p) => this.setPreferredLayers(p),
    restartIce: (p) => this.restartIce(p),
    getTransportStats: (p) => this.getTransportStats(p),
    createPipeTransport: (p) => this.pipes.create(p),
    connectPipeTransport: (p) => this.pipes.connect(p),
    pipeConsume: (p) => this.pipes.consume(p),
    pipeProduce: (p) => this.pipes.produce(p),
    closeConsumer: (p) => this.closeConsumer(p),
  };

  get state(): NodeState {
    return this.#state;
  }

  setState(state: NodeState): void {
    this.#state = state;
  }

  get roomCount(): number {
    return this.#objects.routers.size;
  }

  /** The rooms this node carries, re-announced to the edge after a reconnect. */
  carrying(): Array<{ roomId: string; routerId: string }> {
    return [...this.#objects.routers.values()].map(({ roomId, router }) => ({ roomId, routerId: router.id }));
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
    this.#objects.routers.get(routerId)?.router.close();
    return {};
  }

  async createWebRtcTransport(p: P<"createWebRtcTransport">): Promise<TransportOptions> {
    const room = this.#objects.router(p.routerId);
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
    this.#objects.addTransport(transport);
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
    const transport = this.#objects.transport(p.transportId);
    if (transport.type !== "webrtc") throw new ProtocolError("forbidden", "not a WebRTC transport");
    await media(() => transport.connect({ dtlsParameters: p.dtlsParameters as types.DtlsParameters }));
    return {};
  }

  async createPlainTransport(p: P<"createPlainTransport">): Promise<R<"createPlainTransport">> {
    const room = this.#objects.router(p.routerId);
    if (p.direction === "recv" && !p.rtpCapabilities) throw new ProtocolError("invalid_params", "a recv transport needs rtpCapabilities");
    const appData: TransportData = { routerId: p.routerId, participantId: p.participantId, direction: p.direction };
    if (p.rtpCapabilities) appData.rtpCapabilities = p.rtpCapabilities as types.RtpCapabilities;
    const transport = await media(() =>
      room.router.createPlainTransport<TransportData>({
        listenInfo: { protocol: "udp", ip: this.#plainIp.ip, ...(this.#plainIp.announcedAddress ? { announcedAddress: this.#plainIp.announcedAddress } : {}) },
        rtcpMux: true,
        comedia: p.direction === "send",
        appData,
      }),
    );
    this.#objects.addTransport(transport);
    return { id: transport.id, ip: transport.tuple.localAddress, port: transport.tuple.localPort };
  }

  async connectPlainTransport({ transportId, ip, port }: P<"connectPlainTransport">): Promise<R<"connectPlainTransport">> {
    const transport = this.#objects.transport(transportId);
    if (transport.type !== "plain") throw new ProtocolError("forbidden", "not a plain transport");
    await media(() => transport.connect({ ip, port }));
    return {};
  }

  /** Any transport of the node, a pipe included (a room closes a pipe to a router it left). */
  async closeTransport({ transportId }: P<"closeTransport">): Promise<R<"closeTransport">> {
    (this.#objects.transports.get(transportId) ?? this.#objects.pipes.get(transportId))?.close();
    return {};
  }

  async produce(p: P<"produce">): Promise<R<"produce">> {
    const transport = this.#objects.transport(p.transportId);
    if (transport.appData.direction !== "send") throw new ProtocolError("forbidden", "cannot produce on a recv transport");
    const producer = await media(() =>
      transport.produce({
        kind: p.kind,
        rtpParameters: p.rtpParameters as types.RtpParameters,
        paused: p.paused ?? false,
        appData: { participantId: p.participantId, source: p.source, transportId: transport.id },
      }),
    );
    const room = this.#objects.routers.get(transport.appData.routerId);
    await this.#objects.addProducer(producer, room, (error) => this.#log.warn("active speaker observer refused a producer", { error: error.message }));
    return { producerId: producer.id };
  }

  /** Closes a producer here, an original or a piped copy: its consumers (pipe consumers too) close with it. */
  async closeProducer({ producerId }: P<"closeProducer">): Promise<R<"closeProducer">> {
    this.#objects.producers.get(producerId)?.close();
    return {};
  }

  /** Pausing stops forwarding (the consumers are told) until resumed: a muted mic costs nothing. */
  async setProducerPaused({ producerId, paused }: P<"setProducerPaused">): Promise<R<"setProducerPaused">> {
    const producer = this.#objects.producer(producerId);
    await media(() => (paused ? producer.pause() : producer.resume()));
    return {};
  }

  async consume(p: P<"consume">): Promise<R<"consume">> {
    const transport = this.#objects.transport(p.transportId);
    const { direction, rtpCapabilities } = transport.appData;
    if (direction !== "recv" || !rtpCapabilities) throw new ProtocolError("forbidden", "consume needs a recv transport");
    this.#objects.producer(p.producerId);
    const room = this.#objects.router(transport.appData.routerId);
    if (!room.router.canConsume({ producerId: p.producerId, rtpCapabilities })) {
      throw new ProtocolError("media_error", "the device cannot receive this producer's codec");
    }
    // Paused until the browser has wired the track up: no keyframe is wasted on nobody.
    const consumer = await media(() =>
      transport.consume({ producerId: p.producerId, rtpCapabilities, paused: true, appData: { transportId: transport.id } }),
    );
    this.#objects.addConsumer(consumer, room);
    return { consumerId: consumer.id, kind: consumer.kind, rtpParameters: consumer.rtpParameters as R<"consume">["rtpParameters"] };
  }

  /** A consumer closed on its own: a pipe's sending half when its copy is no longer needed elsewhere. */
  async closeConsumer({ consumerId }: P<"closeConsumer">): Promise<R<"closeConsumer">> {
    this.#objects.consumers.get(consumerId)?.close();
    return {};
  }

  async resumeConsumer({ consumerId }: P<"resumeConsumer">): Promise<R<"resumeConsumer">> {
    const consumer = this.#objects.consumer(consumerId);
    await media(() => consumer.resume());
    return {};
  }

  /** The subscriber's wish (tile size, bandwidth); mediasoup still caps by what BWE allows. */
  async setPreferredLayers({ consumerId, spatialLayer, temporalLayer }: P<"setPreferredLayers">): Promise<R<"setPreferredLayers">> {
    const consumer = this.#objects.consumer(consumerId);
    if (consumer.type !== "simulcast" && consumer.type !== "svc") return {};
    await media(() => consumer.setPreferredLayers({ spatialLayer, ...(temporalLayer === undefined ? {} : { temporalLayer }) }));
    return {};
  }

  async restartIce({ transportId }: P<"restartIce">): Promise<R<"restartIce">> {
    const transport = this.#objects.transport(transportId);
    if (transport.type !== "webrtc") throw new ProtocolError("forbidden", "not a WebRTC transport");
    const iceParameters = await media(() => transport.restartIce());
    return { iceParameters };
  }

  /** The transport's stats, then those of the producers and consumers on it (each entry has a `type`). */
  async getTransportStats({ transportId }: P<"getTransportStats">): Promise<R<"getTransportStats">> {
    const transport = this.#objects.transport(transportId);
    const onIt = (appData: { transportId: string }) => appData.transportId === transportId;
    const stats = await media(async () => [
      ...(await transport.getStats()),
      ...(await Promise.all([...this.#objects.producers.values()].filter((p) => onIt(p.appData)).map((p) => p.getStats()))).flat(),
      ...(await Promise.all([...this.#objects.consumers.values()].filter((c) => onIt(c.appData)).map((c) => c.getStats()))).flat(),
    ]);
    return { stats: stats.slice(0, 64) as unknown as R<"getTransportStats">["stats"] };
  }

  /** Recomputes CPU, bitrate and utilization; call on the report timer. */
  async sampleLoad(elapsedSeconds: number): Promise<void> {
    this.#cpu = await this.#pool.sampleCpu(elapsedSeconds);
    // The busiest worker, not the average: a room cannot spill onto an idle worker, so one
    // pegged (or full) worker degrades its rooms however quiet the others are.
    const perWorker = this.#pool.workers.map((w, i) => Math.max(this.#cpu[i] ?? 0, w.consumers / Math.max(1, this.#consumersPerWorker)));
    this.#utilization = Math.min(1, Math.max(0, ...perWorker));
    const clients = await bitrateOf(this.#objects.transports.values());
    this.#pipeBitrate = await this.pipes.bitrate();
    this.#bitrate = { in: clients.in + this.#pipeBitrate.in, out: clients.out + this.#pipeBitrate.out };
  }

  load(): NodeLoad {
    return {
      state: this.#state,
      workers: this.#pool.workers.length,
      routers: this.#objects.routers.size,
      transports: this.#objects.transports.size,
      producers: this.#objects.producers.size,
      consumers: this.#objects.consumers.size,
      utilization: this.#utilization,
      cpu: this.#cpu,
      bitrateIn: this.#bitrate.in,
      bitrateOut: this.#bitrate.out,
      pipes: this.pipes.count,
      pipedProducers: this.pipes.pipedProducers,
      pipeBitrateIn: this.#pipeBitrate.in,
      pipeBitrateOut: this.#pipeBitrate.out,
    };
  }

  close(): void {
    for (const { router } of this.#objects.routers.values()) router.close();
  }

  async #spawnRouter(roomId: string): Promise<RoomRouter> {
    const worker = await this.#pool.leastLoaded();
    // Counted before the worker answers, so rooms created together spread out rather than
    // all seeing the same idle worker.
    worker.routers++;
    let router: types.Router;
    let speakers: types.ActiveSpeakerObserver;
    try {
      router = await media(() => worker.worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS, appData: { roomId } }));
    } catch (error) {
      worker.routers--;
      throw error;
    }
    try {
      speakers = await media(() => router.createActiveSpeakerObserver({ interval: ACTIVE_SPEAKER_INTERVAL_MS }));
    } catch (error) {
      worker.routers--;
      router.close();
      throw error;
    }
    speakers.on("dominantspeaker", ({ producer }) => {
      const participantId = (producer.appData as { participantId?: string }).participantId ?? null;
      this.#log.debug("dominant speaker", { roomId, participantId });
      this.emit("activeSpeaker", { roomId, routerId: router.id, participantId });
    });
    const entry: RoomRouter = { roomId, router, worker, speakers };
    this.#objects.routers.set(router.id, entry);
    router.on("workerclose", () => this.#noteLost({ roomId, routerId: router.id }));
    router.observer.on("close", () => {
      worker.routers--;
      this.#objects.routers.delete(router.id);
      this.#roomRouters.delete(roomId);
      if (this.#objects.routers.size === 0) this.emit("empty");
    });
    this.#log.debug("router created", { roomId, routerId: router.id, worker: worker.index });
    return entry;
  }

  /** Routers of a dead worker close one by one, synchronously: report them as one batch. */
  #noteLost(room: { roomId: string; routerId: string }): void {
    this.#lost.push(room);
    if (this.#lost.length > 1) return;
    queueMicrotask(() => {
      const rooms = this.#lost;
      this.#lost = [];
      this.#log.warn("routers lost with their worker", { rooms: rooms.length });
      this.emit("routersLost", { rooms, reason: "mediasoup worker died" });
    });
  }

  /** Draining ended before the rooms did: tell the edge to move them, then close them. */
  abandonAll(reason: string): void {
    const rooms = this.carrying();
    if (rooms.length) this.emit("routersLost", { rooms, reason });
  }
}
