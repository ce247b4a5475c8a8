import * as v from "valibot";

/**
 * The mediasoup shapes that pass through the edge. Every field mediasoup defines is
 * checked here (and in full by mediasoup on the node, which owns their semantics). A field
 * a newer mediasoup-client adds passes through, but only as a scalar: nothing nested and
 * unbounded crosses the edge to the node (a codec's `parameters` are strings or numbers,
 * as in SDP's fmtp lines).
 */
const Str = v.pipe(v.string(), v.maxLength(256));
const Int = v.pipe(v.number(), v.integer());
/** What an unknown field may hold. */
const Scalar = v.union([Str, v.number(), v.boolean(), v.null()]);
/**
 * An object with these fields checked, and at most 16 more, each a scalar. (Typed as a
 * loose object: the extras are for passing through, not for reading.)
 */
const Known = <E extends v.ObjectEntries>(entries: E) =>
  v.pipe(
    v.looseObject(entries),
    v.maxEntries(Object.keys(entries).length + 16),
    v.check((value) => Object.entries(value).every(([key, field]) => Object.hasOwn(entries, key) || v.is(Scalar, field)), "unknown fields may only hold strings, numbers, booleans or null"),
  );
const list = <S extends v.GenericSchema>(item: S, max: number) => v.pipe(v.array(item), v.maxLength(max));

/** fmtp-style codec parameters: `{ "profile-level-id": "42e01f", apt: 96 }`. */
const CodecParameters = v.pipe(v.record(v.pipe(v.string(), v.maxLength(64)), v.union([Str, v.number()])), v.maxEntries(32));
const RtcpFeedback = Known({ type: Str, parameter: v.optional(Str) });

export const MediaKind = v.picklist(["audio", "video"]);
export type MediaKind = v.InferOutput<typeof MediaKind>;

/** What a producer carries, so a UI can lay it out (screen shares large, etc.). */
export const MediaSource = v.picklist(["mic", "camera", "screen", "screen-audio"]);
export type MediaSource = v.InferOutput<typeof MediaSource>;

export const RtpCodecCapability = Known({
  kind: MediaKind,
  mimeType: Str,
  clockRate: v.number(),
  preferredPayloadType: v.optional(v.number()),
  channels: v.optional(v.number()),
  parameters: v.optional(CodecParameters),
  rtcpFeedback: v.optional(list(RtcpFeedback, 32)),
});

const HeaderExtensionCapability = Known({
  kind: v.optional(MediaKind),
  uri: Str,
  preferredId: Int,
  preferredEncrypt: v.optional(v.boolean()),
  direction: v.optional(v.picklist(["sendrecv", "sendonly", "recvonly", "inactive"])),
});

export const RtpCapabilities = Known({
  codecs: v.optional(list(RtpCodecCapability, 64)),
  headerExtensions: v.optional(list(HeaderExtensionCapability, 64)),
});
export type RtpCapabilities = v.InferOutput<typeof RtpCapabilities>;

const RtpCodecParameters = Known({
  mimeType: Str,
  payloadType: v.number(),
  clockRate: v.number(),
  channels: v.optional(v.number()),
  parameters: v.optional(CodecParameters),
  rtcpFeedback: v.optional(list(RtcpFeedback, 32)),
});

const HeaderExtensionParameters = Known({
  uri: Str,
  id: Int,
  encrypt: v.optional(v.boolean()),
  parameters: v.optional(CodecParameters),
});

const RtpEncoding = Known({
  ssrc: v.optional(v.number()),
  rid: v.optional(Str),
  codecPayloadType: v.optional(v.number()),
  rtx: v.optional(Known({ ssrc: v.number() })),
  dtx: v.optional(v.boolean()),
  scalabilityMode: v.optional(Str),
  scaleResolutionDownBy: v.optional(v.number()),
  maxBitrate: v.optional(v.number()),
  maxFramerate: v.optional(v.number()),
});

export const RtpParameters = Known({
  mid: v.optional(Str),
  codecs: v.pipe(list(RtpCodecParameters, 32), v.minLength(1)),
  headerExtensions: v.optional(list(HeaderExtensionParameters, 32)),
  encodings: v.optional(list(RtpEncoding, 8)),
  rtcp: v.optional(Known({ cname: v.optional(Str), reducedSize: v.optional(v.boolean()), mux: v.optional(v.boolean()) })),
  msid: v.optional(Str),
});
export type RtpParameters = v.InferOutput<typeof RtpParameters>;

export const DtlsParameters = Known({
  role: v.optional(v.picklist(["auto", "client", "server"])),
  fingerprints: v.pipe(list(v.object({ algorithm: Str, value: v.pipe(v.string(), v.maxLength(512)) }), 8), v.minLength(1)),
});
export type DtlsParameters = v.InferOutput<typeof DtlsParameters>;

export const IceParameters = Known({
  usernameFragment: Str,
  password: Str,
  iceLite: v.optional(v.boolean()),
});

export const IceCandidate = Known({
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
  iceCandidates: list(IceCandidate, 64),
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
export const StatsList = list(v.looseObject({ type: v.string() }), 64);

/** Keys of one SRTP pipe between two nodes: mediasoup makes them per pipe transport. */
export const SrtpParameters = v.object({
  cryptoSuite: v.picklist(["AEAD_AES_256_GCM", "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"]),
  keyBase64: v.pipe(v.string(), v.maxLength(128)),
});
export type SrtpParameters = v.InferOutput<typeof SrtpParameters>;

export const Port = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535));

/** One end of a pipe: where it receives, and the keys it sends with. */
export const PipeEnd = v.object({ ip: v.pipe(v.string(), v.ip()), port: Port, srtpParameters: SrtpParameters });
export type PipeEnd = v.InferOutput<typeof PipeEnd>;

