import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isProtocolError, type RtpCapabilities } from "@meridian/protocol";
import { createLogger } from "../src/log.ts";
import { MediaService } from "../src/media/media-service.ts";
import { WorkerPool } from "../src/media/worker-pool.ts";
import { DTLS_CLIENT, OPUS_SEND, VP8_SIMULCAST_SEND } from "./support/rtp.ts";
import { requireWorkerBinary } from "./support/worker.ts";

const workerBin = requireWorkerBinary();

async function expectCode(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isProtocolError(error), `expected a ProtocolError, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

describe.skipIf(!workerBin)("MediaService on real mediasoup workers", () => {
  let pool: WorkerPool;
  let media: MediaService;
  const log = createLogger("test", "silent");

  beforeAll(async () => {
    pool = new WorkerPool(
      { numWorkers: 2, workerBin: workerBin!, listenIp: "127.0.0.1", announcedAddress: undefined, rtcPortBase: 43100, logLevel: "warn" },
      log,
    );
    await pool.start();
    media = new MediaService(pool, { consumersPerWorker: 500 }, log);
  });

  afterAll(() => {
    media?.close();
    pool?.close();
  });

  /** A room with a sender and a receiver transport, as two browsers would have. */
  async function room(roomId: string) {
    const { routerId, rtpCapabilities } = await media.createRouter({ roomId });
    const send = await media.createWebRtcTransport({ routerId, participantId: "alice", direction: "send" });
    const recv = await media.createWebRtcTransport({
      routerId,
      participantId: "bob",
      direction: "recv",
      rtpCapabilities,
    });
    return { routerId, rtpCapabilities, send, recv };
  }

  it("gives a room one router, even when asked concurrently, on the least-loaded worker", async () => {
    const [a, b] = await Promise.all([media.createRouter({ roomId: "r-same" }), media.createRouter({ roomId: "r-same" })]);
    expect(a.routerId).toBe(b.routerId);
    const other = await media.createRouter({ roomId: "r-other" });
    expect(other.routerId).not.toBe(a.routerId);
    // Two rooms on two workers: placement spreads them.
    expect(pool.workers.map((w) => w.routers).sort()).toEqual([1, 1]);
    expect((a.rtpCapabilities as RtpCapabilities).codecs?.map((c) => c.mimeType)).toEqual(
      expect.arrayContaining(["audio/opus", "video/VP8", "video/H264"]),
    );
  });

  it("creates WebRTC transports on the worker's WebRtcServer port (UDP and TCP)", async () => {
    const { send } = await room("r-ports");
    const ports = new Set(send.iceCandidates.map((c) => c.port));
    expect(ports.size).toBe(1);
    expect([43100, 43101]).toContain([...ports][0]);
    expect(new Set(send.iceCandidates.map((c) => c.protocol))).toEqual(new Set(["udp", "tcp"]));
    expect(send.iceCandidates.every((c) => c.address === "127.0.0.1")).toBe(true);
  });

  it("produces, consumes paused, and resumes", async () => {
    const { send, recv } = await room("r-flow");
    await media.connectTransport({ transportId: send.id, dtlsParameters: DTLS_CLIENT });
    const audio = await media.produce({ transportId: send.id, kind: "audio", source: "mic", rtpParameters: OPUS_SEND, participantId: "alice" });
    const video = await media.produce({ transportId: send.id, kind: "video", source: "camera", rtpParameters: VP8_SIMULCAST_SEND, participantId: "alice" });
    const consumer = await media.consume({ transportId: recv.id, producerId: video.producerId });
    expect(consumer.kind).toBe("video");
    expect(consumer.rtpParameters.codecs[0]?.mimeType).toBe("video/VP8");
    await media.resumeConsumer({ consumerId: consumer.consumerId });
    await media.consume({ transportId: recv.id, producerId: audio.producerId });
    expect(media.load()).toMatchObject({ producers: expect.any(Number), consumers: expect.any(Number) });
    expect(media.load().consumers).toBeGreaterThanOrEqual(2);
  });

  it("closing a producer closes its consumers; closing a router frees everything", async () => {
    const { routerId, send, recv } = await room("r-close");
    const before = media.load();
    const { producerId } = await media.produce({ transportId: send.id, kind: "audio", source: "mic", rtpParameters: OPUS_SEND, participantId: "alice" });
    const { consumerId } = await media.consume({ transportId: recv.id, producerId });
    await media.closeProducer({ producerId });
    // The worker closes the producer's consumers and then notifies us.
    await expect.poll(() => media.load().consumers, { timeout: 5000 }).toBe(before.consumers);
    await expectCode(media.resumeConsumer({ consumerId }), "not_found");
    await media.closeRouter({ routerId });
    expect(media.load()).toMatchObject({
      routers: before.routers - 1,
      transports: before.transports - 2,
      producers: before.producers,
      consumers: before.consumers,
    });
    await expectCode(media.createWebRtcTransport({ routerId, participantId: "x", direction: "send" }), "not_found");
  });

  it("answers bad calls with typed errors", async () => {
    const { routerId, send, recv } = await room("r-errors");
    await expectCode(media.connectTransport({ transportId: "nope", dtlsParameters: DTLS_CLIENT }), "not_found");
    await expectCode(media.createWebRtcTransport({ routerId, participantId: "x", direction: "recv" }), "invalid_params");
    await expectCode(
      media.produce({ transportId: recv.id, kind: "audio", source: "mic", rtpParameters: OPUS_SEND, participantId: "bob" }),
      "forbidden",
    );
    await expectCode(media.consume({ transportId: send.id, producerId: "nope" }), "forbidden");
    await expectCode(media.consume({ transportId: recv.id, producerId: "nope" }), "not_found");
    // mediasoup itself rejects parameters it cannot use: a codec the router does not have.
    await expectCode(
      media.produce({
        transportId: send.id,
        kind: "audio",
        source: "mic",
        rtpParameters: { ...OPUS_SEND, codecs: [{ mimeType: "audio/G722", payloadType: 9, clockRate: 8000 }] },
        participantId: "alice",
      }),
      "media_error",
    );
  });

  it("refuses to consume a producer the device cannot decode", async () => {
    const { routerId, send } = await room("r-codec");
    const { producerId } = await media.produce({ transportId: send.id, kind: "video", source: "camera", rtpParameters: VP8_SIMULCAST_SEND, participantId: "alice" });
    const audioOnly = await media.createWebRtcTransport({
      routerId,
      participantId: "carol",
      direction: "recv",
      rtpCapabilities: { codecs: [{ kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2, preferredPayloadType: 100 }] },
    });
    await expectCode(media.consume({ transportId: audioOnly.id, producerId }), "media_error");
  });

  it("takes no new rooms while draining but keeps serving existing ones", async () => {
    const { routerId } = await room("r-before-drain");
    media.setState("draining");
    try {
      await expectCode(media.createRouter({ roomId: "r-after-drain" }), "node_unavailable");
      expect((await media.createRouter({ roomId: "r-before-drain" })).routerId).toBe(routerId);
      expect(media.load().state).toBe("draining");
    } finally {
      media.setState("active");
    }
  });

  it("reports utilization between 0 and 1 from CPU and consumer count", async () => {
    await media.sampleLoad(1);
    const { utilization } = media.load();
    expect(utilization).toBeGreaterThanOrEqual(0);
    expect(utilization).toBeLessThanOrEqual(1);
  });
});
