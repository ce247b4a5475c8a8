import * as v from "valibot";
import { ErrorBody } from "./errors.ts";
import {
  Direction,
  DtlsParameters,
  Id,
  MediaKind,
  MediaSource,
  RtpCapabilities,
  RtpParameters,
  TransportOptions,
} from "./media.ts";
import { Empty, method } from "./methods.ts";

/** The browser <-> room Durable Object wire. */

/** Largest text frame a browser may send to its room (RTP capabilities are the bulk). */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

export const DisplayName = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(64));

export const ProducerInfo = v.object({
  id: Id,
  kind: MediaKind,
  source: MediaSource,
});
export type ProducerInfo = v.InferOutput<typeof ProducerInfo>;

export const PeerInfo = v.object({
  id: Id,
  displayName: v.string(),
  producers: v.array(ProducerInfo),
});
export type PeerInfo = v.InferOutput<typeof PeerInfo>;

/**
 * Requests a browser sends to its room. A socket says `hello` as soon as the pre-join page
 * opens: it gets the router's capabilities and may create its transports, invisible to
 * everyone. `join` (the user's click) makes it a participant the others see; only then
 * can it produce and consume. So the click pays for neither the socket nor the transports.
 */
export const roomMethods = {
  hello: method(
    v.object({ protocol: v.number() }),
    v.object({ roomId: Id, participantId: Id, routerRtpCapabilities: RtpCapabilities }),
  ),
  join: method(v.object({ displayName: DisplayName }), v.object({ peers: v.array(PeerInfo) })),
  /** A recv transport needs the device's capabilities: the node consumes against them. */
  createTransport: method(
    v.object({ direction: Direction, rtpCapabilities: v.optional(RtpCapabilities) }),
    TransportOptions,
  ),
  connectTransport: method(v.object({ transportId: Id, dtlsParameters: DtlsParameters }), Empty),
  produce: method(
    v.object({ transportId: Id, kind: MediaKind, source: MediaSource, rtpParameters: RtpParameters }),
    v.object({ producerId: Id }),
  ),
  closeProducer: method(v.object({ producerId: Id }), Empty),
  consume: method(
    v.object({ transportId: Id, producerId: Id }),
    v.object({
      consumerId: Id,
      producerId: Id,
      peerId: Id,
      kind: MediaKind,
      source: MediaSource,
      rtpParameters: RtpParameters,
    }),
  ),
  resumeConsumer: method(v.object({ consumerId: Id }), Empty),
  leave: method(Empty, Empty),
} as const;
export type RoomMethods = typeof roomMethods;

/** Events a room pushes to browsers. */
export const roomEvents = {
  peerJoined: v.object({ peer: PeerInfo }),
  peerLeft: v.object({ peerId: Id }),
  newProducer: v.object({ peerId: Id, producer: ProducerInfo }),
  producerClosed: v.object({ peerId: Id, producerId: Id }),
  /** An error not tied to a request (e.g. a frame whose id could not be read). */
  error: ErrorBody,
} as const;
export type RoomEvents = typeof roomEvents;

/** WebSocket close codes the room uses, so the browser can tell the user why. */
export const RoomCloseCode = {
  left: 1000,
  /** Same code a browser sees when the room's DO is going away. */
  goingAway: 1001,
  protocolMismatch: 4000,
  abuse: 4008,
  roomClosed: 4004,
} as const;
