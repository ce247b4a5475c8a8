import type { RtpParameters } from "@meridian/protocol";

/** RTP parameters as a browser would send them for an Opus microphone track. */
export const OPUS_SEND: RtpParameters = {
  mid: "0",
  codecs: [
    {
      mimeType: "audio/opus",
      payloadType: 111,
      clockRate: 48000,
      channels: 2,
      parameters: { useinbandfec: 1, usedtx: 1 },
      rtcpFeedback: [{ type: "transport-cc" }],
    },
  ],
  headerExtensions: [{ uri: "urn:ietf:params:rtp-hdrext:sdes:mid", id: 4, encrypt: false, parameters: {} }],
  encodings: [{ ssrc: 11111111, dtx: true }],
  rtcp: { cname: "meridian-test", reducedSize: true },
};

/** VP8 camera with three simulcast layers of three temporal layers each, as Chrome sends it. */
export const VP8_SIMULCAST_SEND: RtpParameters = {
  mid: "1",
  codecs: [
    { mimeType: "video/VP8", payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }] },
    { mimeType: "video/rtx", payloadType: 97, clockRate: 90000, parameters: { apt: 96 }, rtcpFeedback: [] },
  ],
  headerExtensions: [{ uri: "urn:ietf:params:rtp-hdrext:sdes:mid", id: 4, encrypt: false, parameters: {} }],
  encodings: [
    { ssrc: 22222221, rtx: { ssrc: 22222231 }, scaleResolutionDownBy: 4, maxBitrate: 150000, scalabilityMode: "L1T3" },
    { ssrc: 22222222, rtx: { ssrc: 22222232 }, scaleResolutionDownBy: 2, maxBitrate: 500000, scalabilityMode: "L1T3" },
    { ssrc: 22222223, rtx: { ssrc: 22222233 }, scaleResolutionDownBy: 1, maxBitrate: 1200000, scalabilityMode: "L1T3" },
  ],
  rtcp: { cname: "meridian-test", reducedSize: true },
};

export const DTLS_CLIENT = {
  role: "client" as const,
  fingerprints: [{ algorithm: "sha-256", value: "82:5A:68:3D:36:C3:0A:DE:AF:E7:32:43:D2:88:83:57:AC:2D:65:E5:80:C4:B6:FB:AF:1A:A0:21:9F:6D:0C:AD" }],
};
