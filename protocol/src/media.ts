import * as v from "valibot";

/**
 * The mediasoup shapes that pass through the edge. They are checked for structure here
 * and in full by mediasoup on the node, which owns their semantics; unknown fields pass
 * through untouched so a newer mediasoup-client keeps working.
 */
const Str = v.pipe(v.string(), v.maxLength(256));
const Loose = v.looseObject({});

export const MediaKind = v.picklist(["audio", "video"]);
export type MediaKind = v.InferOutput<typeof MediaKind>;

/** What a producer carries, so a UI can lay it out (screen shares large, etc.). */
export const MediaSource = v.picklist(["mic", "camera", "screen", "screen-audio"]);
export type MediaSource = v.InferOutput<typeof MediaSource>;

export const RtpCodecCapability = v.looseObject({
  kind: MediaKind,
  mimeType: Str,
  clockRate: v.number(),
  preferredPayloadType: v.optional(v.number()),
  channels: v.optional(v.number()),
  parameters: v.optional(Loose),
  rtcpFeedback: v.optional(v.array(Loose)),
});

export const RtpCapabilities = v.looseObject({
  codecs: v.optional(v.pipe(v.array(RtpCodecCapability), v.maxLength(64))),
  headerExtensions: v.optional(v.pipe(v.array(Loose), v.maxLength(64))),
});
export type RtpCapabilities = v.InferOutput<typeof RtpCapabilities>;

export const RtpParameters = v.looseObject({
  mid: v.optional(Str),
  codecs: v.pipe(
    v.array(v.looseObject({ mimeType: Str, payloadType: v.number(), clockRate: v.number() })),
    v.minLength(1),
    v.maxLength(32),
  ),
  headerExtensions: v.optional(v.pipe(v.array(Loose), v.maxLength(32))),
  encodings: v.optional(v.pipe(v.array(Loose), v.maxLength(8))),
  rtcp: v.optional(Loose),
  msid: v.optional(Str),
});
export type RtpParameters = v.InferOutput<typeof RtpParameters>;

export const DtlsParameters = v.looseObject({
  role: v.optional(v.picklist(["auto", "client", "server"])),
  fingerprints: v.pipe(
    v.array(v.object({ algorithm: Str, value: v.pipe(v.string(), v.maxLength(512)) })),
    v.minLength(1),
    v.maxLength(8),
  ),
});
export type DtlsParameters = v.InferOutput<typeof DtlsParameters>;

export const IceParameters = v.looseObject({
  usernameFragment: Str,
  password: Str,
  iceLite: v.optional(v.boolean()),
});

export const IceCandidate = v.looseObject({
  foundation: Str,
  priority: v.number(),
  address: Str,
  protocol: v.picklist(["udp", "tcp"]),
  port: v.number(),
  type: Str,
  tcpType: v.optional(Str),
});

/** Everything a browser needs to build a mediasoup-client transport. */
export const TransportOptions = v.object({
  id: Str,
  iceParameters: IceParameters,
  iceCandidates: v.array(IceCandidate),
  dtlsParameters: DtlsParameters,
});
export type TransportOptions = v.InferOutput<typeof TransportOptions>;

export const Direction = v.picklist(["send", "recv"]);
export type Direction = v.InferOutput<typeof Direction>;

export const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

/** An RTCIceServer as browsers take it (STUN/TURN URLs, with TURN REST credentials). */
export const IceServer = v.object({
  urls: v.union([Str, v.pipe(v.array(Str), v.maxLength(8))]),
  username: v.optional(Str),
  credential: v.optional(Str),
});
export type IceServer = v.InferOutput<typeof IceServer>;

/** Simulcast/SVC layer a subscriber wants: 0 is the smallest. */
export const Layers = v.object({
  spatialLayer: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2)),
  temporalLayer: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2))),
});
export type Layers = v.InferOutput<typeof Layers>;

/** Stats as mediasoup reports them: passed through, shape owned by mediasoup. */
export const StatsList = v.pipe(v.array(v.looseObject({ type: v.string() })), v.maxLength(64));
