import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { RtpCapabilities, RtpParameters, edgeToNodeMethods, roomMethods } from "../src/index.ts";

/** What Chrome's mediasoup-client sends, trimmed: the schemas must keep taking it. */
const CAPABILITIES = {
  codecs: [
    { kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2, preferredPayloadType: 100, parameters: { minptime: 10, useinbandfec: 1 }, rtcpFeedback: [{ type: "transport-cc", parameter: "" }] },
    { kind: "video", mimeType: "video/VP8", clockRate: 90000, preferredPayloadType: 101, rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }, { type: "goog-remb" }] },
    { kind: "video", mimeType: "video/rtx", clockRate: 90000, preferredPayloadType: 102, parameters: { apt: 101 } },
  ],
  headerExtensions: [{ kind: "video", uri: "urn:ietf:params:rtp-hdrext:sdes:mid", preferredId: 1, preferredEncrypt: false, direction: "sendrecv" }],
};
const PARAMETERS = {
  mid: "0",
  codecs: [{ mimeType: "video/VP8", payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: "nack", parameter: "" }] }],
  headerExtensions: [{ uri: "urn:ietf:params:rtp-hdrext:sdes:mid", id: 1, encrypt: false, parameters: {} }],
  encodings: [{ rid: "r0", scaleResolutionDownBy: 4, maxBitrate: 150000, scalabilityMode: "L1T3", active: true }],
  rtcp: { cname: "abc", reducedSize: true },
};

function deep(depth: number): unknown {
  let value: unknown = "x";
  for (let i = 0; i < depth; i++) value = { k: value };
  return value;
}

describe("mediasoup parameters are bounded in depth, width and size", () => {
  it("takes what mediasoup-client sends, with an unknown scalar field", () => {
    expect(v.safeParse(RtpCapabilities, CAPABILITIES).success).toBe(true);
    expect(v.safeParse(RtpParameters, PARAMETERS).success).toBe(true);
    expect(v.safeParse(RtpParameters, { ...PARAMETERS, futureField: 1 }).success).toBe(true);
  });

  it.each([
    ["nested codec parameters", { ...CAPABILITIES, codecs: [{ ...CAPABILITIES.codecs[0], parameters: { a: deep(2000) } }] }],
    ["an object as a codec parameter", { ...CAPABILITIES, codecs: [{ ...CAPABILITIES.codecs[0], parameters: { a: { b: 1 } } }] }],
    ["nested rtcp feedback", { ...CAPABILITIES, codecs: [{ ...CAPABILITIES.codecs[0], rtcpFeedback: [{ type: "nack", more: deep(10) }] }] }],
    ["an unknown field holding an object", { ...CAPABILITIES, extra: deep(3) }],
    ["too many codec parameters", { ...CAPABILITIES, codecs: [{ ...CAPABILITIES.codecs[0], parameters: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, i])) }] }],
    ["too many unknown fields", { ...CAPABILITIES, ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x${i}`, i])) }],
    ["a huge string", { ...CAPABILITIES, codecs: [{ ...CAPABILITIES.codecs[0], mimeType: "a".repeat(10_000) }] }],
  ])("refuses capabilities with %s", (_what, capabilities) => {
    expect(v.safeParse(RtpCapabilities, capabilities).success).toBe(false);
    expect(v.safeParse(roomMethods.createTransport.params, { direction: "recv", rtpCapabilities: capabilities }).success).toBe(false);
    expect(v.safeParse(edgeToNodeMethods.createWebRtcTransport.params, { routerId: "r", participantId: "p", direction: "recv", rtpCapabilities: capabilities }).success).toBe(false);
  });

  it("drops an object under an inherited name instead of passing it on", () => {
    const parsed = v.safeParse(RtpCapabilities, JSON.parse(`{"codecs":[],"constructor":${JSON.stringify(deep(5))}}`));
    expect(parsed.success && Object.hasOwn(parsed.output, "constructor")).toBe(false);
  });

  it.each([
    ["nested encodings", { ...PARAMETERS, encodings: [{ rid: "r0", x: deep(2000) }] }],
    ["nested rtcp", { ...PARAMETERS, rtcp: { cname: deep(3) } }],
    ["nested header extension parameters", { ...PARAMETERS, headerExtensions: [{ uri: "u", id: 1, parameters: { p: deep(2) } }] }],
  ])("refuses RTP parameters with %s", (_what, parameters) => {
    expect(v.safeParse(RtpParameters, parameters).success).toBe(false);
  });
});
