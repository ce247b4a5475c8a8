import type { types } from "mediasoup";

/** Where a track's packets go: ffmpeg listens on `port` (RTP) and `port + 1` (RTCP). */
export interface RtpSink {
  readonly ip: string;
  readonly port: number;
}

/**
 * The session description ffmpeg reads to receive one consumer's stream: the codec, its
 * payload type and parameters, and where to listen. One track per description: each
 * track is its own file, copied without re-encoding.
 */
export function trackSdp(kind: types.MediaKind, rtp: types.RtpParameters, sink: RtpSink): string {
  const codec = rtp.codecs[0];
  if (!codec) throw new Error("the consumer has no codec");
  const [, name] = codec.mimeType.split("/");
  const channels = kind === "audio" && codec.channels ? `/${codec.channels}` : "";
  const parameters = Object.entries(codec.parameters ?? {})
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(";");
  return [
    "v=0",
    `o=- 0 0 IN IP4 ${sink.ip}`,
    "s=meridian recording",
    `c=IN IP4 ${sink.ip}`,
    "t=0 0",
    `m=${kind} ${sink.port} RTP/AVP ${codec.payloadType}`,
    `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${channels}`,
    ...(parameters ? [`a=fmtp:${codec.payloadType} ${parameters}`] : []),
    "a=recvonly",
    "",
  ].join("\r\n");
}

/** The container a codec is copied into: WebM for VP8, VP9 and Opus; Matroska otherwise (H.264). */
export function containerFor(mimeType: string): { format: "webm" | "matroska"; extension: "webm" | "mkv" } {
  return /^(video\/vp[89]|audio\/opus)$/i.test(mimeType) ? { format: "webm", extension: "webm" } : { format: "matroska", extension: "mkv" };
}
