import type { types } from "mediasoup";

/** Codecs every router offers. Same list on every node, so a room can move between nodes. */
export const ROUTER_MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2, parameters: { useinbandfec: 1, usedtx: 1 } },
  { kind: "video", mimeType: "video/VP8", clockRate: 90000, parameters: { "x-google-start-bitrate": 1000 } },
  { kind: "video", mimeType: "video/VP9", clockRate: 90000, parameters: { "profile-id": 2, "x-google-start-bitrate": 1000 } },
  {
    kind: "video",
    mimeType: "video/H264",
    clockRate: 90000,
    parameters: { "packetization-mode": 1, "profile-level-id": "42e01f", "level-asymmetry-allowed": 1 },
  },
];

/** Start estimate for a fresh transport's outgoing bandwidth (bps); BWE takes over quickly. */
export const INITIAL_OUTGOING_BITRATE = 1_000_000;
/** Cap on what one browser may send us (bps): 3 simulcast layers of camera plus audio. */
export const MAX_INCOMING_BITRATE = 3_500_000;
