import * as v from "valibot";
import { ErrorBody } from "./errors.ts";
import {
  Direction,
  DtlsParameters,
  IceParameters,
  Id,
  Layers,
  StatsList,
  MediaKind,
  RtpCapabilities,
  RtpParameters,
  TransportOptions,
  MediaSource,
  PipeEnd,
  Port,
} from "./media.ts";
import { Empty, method } from "./methods.ts";

/** The SFU node <-> node Durable Object wire. The node dials out; both sides send requests. */

/** Node frames are authenticated and larger (capabilities, stats). */
export const MAX_NODE_FRAME_BYTES = 1024 * 1024;

export const NodeKind = v.picklist(["sfu", "turn"]);
export type NodeKind = v.InferOutput<typeof NodeKind>;

/** Node ids become Durable Object names and URL segments: keep them plain. */
export const NodeId = v.pipe(v.string(), v.regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/, "node id: 1-63 of [a-zA-Z0-9._-]"));

export const Latitude = v.pipe(v.number(), v.minValue(-90), v.maxValue(90));
export const Longitude = v.pipe(v.number(), v.minValue(-180), v.maxValue(180));

export const NodeState = v.picklist(["active", "draining"]);
export type NodeState = v.InferOutput<typeof NodeState>;

export const NodeLoad = v.object({
  state: NodeState,
  workers: v.pipe(v.number(), v.integer(), v.minValue(0)),
  routers: v.pipe(v.number(), v.integer(), v.minValue(0)),
  transports: v.pipe(v.number(), v.integer(), v.minValue(0)),
  producers: v.pipe(v.number(), v.integer(), v.minValue(0)),
  consumers: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** 0..1: share of the node's capacity in use, as the node judges it. */
  utilization: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
  /** 0..1 per mediasoup worker, since the previous report. */
  cpu: v.optional(v.pipe(v.array(v.pipe(v.number(), v.minValue(0), v.maxValue(1))), v.maxLength(256))),
  /** Media bitrate across the node's transports, bits per second. */
  bitrateIn: v.optional(v.pipe(v.number(), v.minValue(0))),
  bitrateOut: v.optional(v.pipe(v.number(), v.minValue(0))),
  /** Cascading: pipe transports to other nodes, producers piped in, and the pipes' bitrate. */
  pipes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  pipedProducers: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  pipeBitrateIn: v.optional(v.pipe(v.number(), v.minValue(0))),
  pipeBitrateOut: v.optional(v.pipe(v.number(), v.minValue(0))),
});
export type NodeLoad = v.InferOutput<typeof NodeLoad>;

export const NodeRegistration = v.object({
  protocol: v.number(),
  nodeId: NodeId,
  kind: NodeKind,
  version: v.pipe(v.string(), v.maxLength(64)),
  region: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  lat: Latitude,
  lon: Longitude,
  load: NodeLoad,
  /** TURN nodes: the URLs browsers use (turn:host:3478?transport=udp, turns:host:5349, …). */
  urls: v.optional(v.pipe(v.array(v.pipe(v.string(), v.regex(/^turns?:[^\s]+$/), v.maxLength(256))), v.maxLength(8))),
  /** SFU nodes, after a reconnect: the rooms they still carry, so the edge can reconcile. */
  carrying: v.optional(v.pipe(v.array(v.object({ roomId: Id, routerId: Id })), v.maxLength(10_000))),
  /** The address browsers reach the node's media ports at (SFU), for operators. */
  publicAddress: v.optional(v.pipe(v.string(), v.maxLength(256))),
  /** Where other SFU nodes reach this one's pipes (SFU), for operators. */
  pipeAddress: v.optional(v.pipe(v.string(), v.maxLength(256))),
  /** What the node can carry: workers and consumers per worker before it counts as full. */
  capacity: v.optional(v.object({ workers: v.number(), consumersPerWorker: v.number() })),
  /** How often load reports come: three missed ones make the node unhealthy. */
  reportIntervalMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(60_000))),
});
export type NodeRegistration = v.InferOutput<typeof NodeRegistration>;

/** Requests the node sends to the edge. */
export const nodeToEdgeMethods = {
  register: method(NodeRegistration, v.object({ nodeId: NodeId })),
} as const;
export type NodeToEdgeMethods = typeof nodeToEdgeMethods;

/** Events the node sends to the edge. */
export const nodeToEdgeEvents = {
  load: NodeLoad,
  /** The loudest participant of a room changed (ActiveSpeakerObserver). */
  activeSpeaker: v.object({ roomId: Id, routerId: Id, participantId: v.nullable(Id) }),
  /** A mediasoup worker died: these rooms' routers are gone and must move. */
  routersLost: v.object({ rooms: v.array(v.object({ roomId: Id, routerId: Id })), reason: v.string() }),
  error: ErrorBody,
} as const;
export type NodeToEdgeEvents = typeof nodeToEdgeEvents;

/** Requests the edge (room DOs, through the node DO) sends to the node. */
export const edgeToNodeMethods = {
  createRouter: method(v.object({ roomId: Id }), v.object({ routerId: Id, rtpCapabilities: RtpCapabilities })),
  closeRouter: method(v.object({ routerId: Id }), Empty),
  createWebRtcTransport: method(
    v.object({
      routerId: Id,
      participantId: Id,
      direction: Direction,
      rtpCapabilities: v.optional(RtpCapabilities),
    }),
    TransportOptions,
  ),
  connectTransport: method(v.object({ transportId: Id, dtlsParameters: DtlsParameters }), Empty),
  closeTransport: method(v.object({ transportId: Id }), Empty),
  produce: method(
    v.object({
      transportId: Id,
      kind: MediaKind,
      source: MediaSource,
      rtpParameters: RtpParameters,
      participantId: Id,
      paused: v.optional(v.boolean()),
    }),
    v.object({ producerId: Id }),
  ),
  closeProducer: method(v.object({ producerId: Id }), Empty),
  setProducerPaused: method(v.object({ producerId: Id, paused: v.boolean() }), Empty),
  consume: method(
    v.object({ transportId: Id, producerId: Id }),
    v.object({ consumerId: Id, kind: MediaKind, rtpParameters: RtpParameters }),
  ),
  resumeConsumer: method(v.object({ consumerId: Id }), Empty),
  /**
   * Plain RTP in or out of a room (ingest from ffmpeg/RTSP bridges, recording egress):
   * no ICE/DTLS. `send` receives media from its peer (comedia: the first packet's source
   * is the peer); `recv` sends to the address given by connectPlainTransport.
   */
  createPlainTransport: method(
    v.object({ routerId: Id, participantId: Id, direction: Direction, rtpCapabilities: v.optional(RtpCapabilities) }),
    v.object({ id: Id, ip: v.string(), port: v.number() }),
  ),
  connectPlainTransport: method(v.object({ transportId: Id, ip: v.pipe(v.string(), v.ip()), port: Port }), Empty),
  /**
   * Cascading: a room spanning nodes joins two of its routers with a pipe, one
   * PipeTransport on each node (SRTP with keys of its own, RTX and NACK), connected to the
   * other's address; a pipe accepts packets only from the tuple it was connected to.
   * A producer crosses once per remote router: a pipe consumer on its own node feeds a
   * pipe producer with the same id on the other, which local subscribers then consume.
   */
  createPipeTransport: method(v.object({ roomId: Id, routerId: Id }), v.object({ transportId: Id, ...PipeEnd.entries })),
  connectPipeTransport: method(v.object({ transportId: Id, ...PipeEnd.entries }), Empty),
  pipeConsume: method(
    v.object({ transportId: Id, producerId: Id }),
    v.object({ consumerId: Id, kind: MediaKind, rtpParameters: RtpParameters, producerPaused: v.boolean() }),
  ),
  pipeProduce: method(
    v.object({ transportId: Id, producerId: Id, kind: MediaKind, source: MediaSource, participantId: Id, rtpParameters: RtpParameters, paused: v.boolean() }),
    Empty,
  ),
  closeConsumer: method(v.object({ consumerId: Id }), Empty),
  setPreferredLayers: method(v.object({ consumerId: Id, ...Layers.entries }), Empty),
  restartIce: method(v.object({ transportId: Id }), v.object({ iceParameters: IceParameters })),
  getTransportStats: method(v.object({ transportId: Id }), v.object({ stats: StatsList })),
} as const;
export type EdgeToNodeMethods = typeof edgeToNodeMethods;
