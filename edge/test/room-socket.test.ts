import { MAX_CLIENT_FRAME_BYTES, PROTOCOL_VERSION } from "@meridian/protocol";
import { beforeEach, describe, expect, it } from "vitest";
import { HttpRefusal, TestSocket, createRoom } from "./support/socket.ts";

/** Bad input on a browser's room socket: typed errors, and the socket and DO carry on. */
describe("room socket input handling", () => {
  let socket: TestSocket;

  beforeEach(async () => {
    const { roomId, token } = await createRoom();
    socket = await TestSocket.room(roomId, token);
  });

  /** The socket still answers a well-formed request after the bad one. */
  async function stillServes() {
    const response = await socket.request("createTransport", { direction: "send" });
    expect(response.error?.code).toBe("not_joined");
  }

  it("accepts the meridian.v1 subprotocol (and never echoes the token)", () => {
    expect(socket.protocol).toBe("meridian.v1");
  });

  it("answers a frame that is not JSON with a bad_frame error event", async () => {
    socket.sendRaw("{not json");
    expect((await socket.nextEvent("error")).data).toMatchObject({ code: "bad_frame" });
    await stillServes();
  });

  it("refuses binary frames", async () => {
    socket.sendRaw(new Uint8Array([1, 2, 3]).buffer);
    expect((await socket.nextEvent("error")).data).toMatchObject({ code: "bad_frame" });
    await stillServes();
  });

  it("refuses an oversized frame with frame_too_large, under its request id", async () => {
    socket.send({ kind: "req", id: 1, method: "join", params: { pad: "x".repeat(MAX_CLIENT_FRAME_BYTES) } });
    const frame = await socket.next((f) => f.kind === "res" && f.id === 1, 5000);
    expect(frame).toMatchObject({ error: { code: "frame_too_large" } });
    await stillServes();
  });

  it("answers an unknown method with unknown_method under the request's id", async () => {
    const response = await socket.request("becomeHost", {});
    expect(response.error?.code).toBe("unknown_method");
    await stillServes();
  });

  it("answers malformed params with invalid_params", async () => {
    const response = await socket.request("join", { displayName: "" });
    expect(response.error?.code).toBe("invalid_params");
    expect(response.error?.message).toContain("displayName");
    await stillServes();
  });

  it("keeps the id of a request whose envelope is broken", async () => {
    socket.send({ kind: "req", id: 41, method: 7 });
    const frame = await socket.next((f) => f.kind === "res" && f.id === 41, 5000);
    expect(frame).toMatchObject({ error: { code: "bad_frame" } });
  });

  it("refuses response and event frames from a browser", async () => {
    socket.send({ kind: "res", id: 9, result: {} });
    expect(await socket.next((f) => f.kind === "res" && f.id === 9, 5000)).toMatchObject({ error: { code: "bad_frame" } });
    socket.send({ kind: "evt", event: "peerJoined", data: {} });
    expect((await socket.nextEvent("error")).data).toMatchObject({ code: "bad_frame" });
    await stillServes();
  });

  it.each([
    ["join", { displayName: "Early" }],
    ["createTransport", { direction: "recv", rtpCapabilities: {} }],
    ["connectTransport", { transportId: "t", dtlsParameters: { fingerprints: [{ algorithm: "sha-256", value: "AB" }] } }],
    ["produce", { transportId: "t", kind: "audio", source: "mic", rtpParameters: { codecs: [{ mimeType: "audio/opus", payloadType: 100, clockRate: 48000 }] } }],
    ["consume", { transportId: "t", producerId: "p" }],
    ["resumeConsumer", { consumerId: "c" }],
    ["closeProducer", { producerId: "p" }],
    ["sendChat", { clientId: "c1", text: "hi" }],
    ["chatHistory", {}],
    ["kick", { participantId: "p" }],
    ["leave", {}],
  ])("refuses %s before hello with not_joined", async (method, params) => {
    const response = await socket.request(method, params);
    expect(response.error?.code).toBe("not_joined");
  });

  it("refuses a client speaking another protocol version", async () => {
    const response = await socket.request("hello", { protocol: PROTOCOL_VERSION + 1 });
    expect(response.error?.code).toBe("protocol_mismatch");
    expect(response.error?.message).toMatch(/reload/);
  });

  it("says hello without a media server and reports why media is unavailable", async () => {
    const response = await socket.request("hello", { protocol: PROTOCOL_VERSION });
    expect(response.result).toMatchObject({ role: "host", mediaError: { code: "no_node_available" } });
    expect(response.result).not.toHaveProperty("routerRtpCapabilities");
    expect((await socket.request("createTransport", { direction: "send" })).error?.code).toBe("no_node_available");
    expect((await socket.request("hello", { protocol: PROTOCOL_VERSION })).error?.code).toBe("already_joined");
  });
});

describe("socket limits", () => {
  it("rate-limits a flooding socket with typed errors, then closes it with 4008", async () => {
    const { roomId, token } = await createRoom();
    const socket = await TestSocket.room(roomId, token);
    // Bounded flood: well past the burst (120) plus the strikes allowed (50).
    for (let i = 1; i <= 400; i++) socket.send({ kind: "req", id: i, method: "chatHistory", params: {} });
    const limited = await socket.next((f) => f.kind === "res" && f.error?.code === "rate_limited", 5000);
    expect(limited).toMatchObject({ error: { message: expect.stringMatching(/retry in \d+ ms/) } });
    expect((await socket.closed).code).toBe(4008);
  });

  it("refuses a browser socket from another site's page, and allows configured origins", async () => {
    const { roomId, token } = await createRoom();
    const refused = await TestSocket.room(roomId, token, { origin: "https://evil.example" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HttpRefusal);
    expect((refused as HttpRefusal).status).toBe(403);
    for (const origin of ["https://embed.example", "http://meridian.test"]) {
      const socket = await TestSocket.room(roomId, token, { origin });
      expect(socket.protocol).toBe("meridian.v1");
      socket.close();
    }
  });
});
