import type { types } from "mediasoup";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isProtocolError, type RtpCapabilities } from "@meridian/protocol";
import { createLogger } from "@meridian/node-agent";
import { MediaService } from "../src/media/media-service.ts";
import { WorkerPool } from "../src/media/worker-pool.ts";
import { watchConsumers } from "./support/observe.ts";
import { opusWithLevel, startOpusStream, type AudioLevel, type OpusStream } from "./support/opus-stream.ts";
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
  let consumers: Map<string, types.Consumer>;
  const log = createLogger("test", "silent");

  beforeAll(async () => {
    // Test ports sit below Linux's ephemeral range (32768+), where no outgoing socket of a
    // test running alongside can already hold them.
    pool = new WorkerPool(
      { numWorkers: 2, workerBin: workerBin!, listenIp: "127.0.0.1", announcedAddress: undefined, rtcPortBase: 31100, logLevel: "warn" },
      log,
    );
    await pool.start();
    consumers = watchConsumers(pool);
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

  /** A participant's microphone fed as RTP into a plain transport, as a recorder or SIP gateway would. */
  async function plainAudio(routerId: string, participantId: string, ssrc: number, levelAt: (n: number) => AudioLevel): Promise<OpusStream> {
    const transport = await media.createPlainTransport({ routerId, participantId, direction: "send" });
    await media.produce({ transportId: transport.id, kind: "audio", source: "mic", rtpParameters: opusWithLevel(ssrc), participantId });
    // 10 s of packets at most: longer than any wait below.
    return startOpusStream({ ip: transport.ip, port: transport.port }, { ssrc, levelAt, maxPackets: 500 });
  }

  /** Resolves on the room's activeSpeaker event naming `participantId`; fails after `timeoutMs`. */
  function waitForSpeaker(routerId: string, participantId: string, timeoutMs = 8000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        media.off("activeSpeaker", listener);
        reject(new Error(`no activeSpeaker ${participantId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (info: { routerId: string; participantId: string | null }) => {
        if (info.routerId !== routerId || info.participantId !== participantId) return;
        clearTimeout(timer);
        media.off("activeSpeaker", listener);
        resolve();
      };
      media.on("activeSpeaker", listener);
    });
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
    expect([31100, 31101]).toContain([...ports][0]);
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

  it("reports utilization, per-worker CPU and bitrate in its load", async () => {
    await media.sampleLoad(1);
    const load = media.load();
    expect(load.utilization).toBeGreaterThanOrEqual(0);
    expect(load.utilization).toBeLessThanOrEqual(1);
    expect(load.cpu).toHaveLength(2);
    expect(load.bitrateIn).toBeGreaterThanOrEqual(0);
  });

  it("gives a transport's stats with those of the consumers on it", async () => {
    const { send, recv } = await room("r-stats");
    const { producerId } = await media.produce({ transportId: send.id, kind: "audio", source: "mic", rtpParameters: OPUS_SEND, participantId: "alice" });
    await media.consume({ transportId: recv.id, producerId });
    const { stats } = await media.getTransportStats({ transportId: recv.id });
    expect(stats[0]?.type).toBe("webrtc-transport");
    expect(stats.map((s) => s.type)).toContain("outbound-rtp");
    // Only this transport's: the send transport reports no outbound stream.
    const sendStats = await media.getTransportStats({ transportId: send.id });
    expect(sendStats.stats.map((s) => s.type)).not.toContain("outbound-rtp");
  });

  it("consumes a three-layer simulcast camera paused, and honours a subscriber's preferred layers", async () => {
    const { send, recv } = await room("r-layers");
    const { producerId } = await media.produce({ transportId: send.id, kind: "video", source: "camera", rtpParameters: VP8_SIMULCAST_SEND, participantId: "alice" });
    const { consumerId, rtpParameters } = await media.consume({ transportId: recv.id, producerId });
    const consumer = consumers.get(consumerId);
    expect(consumer, "the worker created the consumer").toBeDefined();
    // Simulcast, not simple: otherwise setPreferredLayers is a silent no-op.
    expect(consumer!.type).toBe("simulcast");
    expect(rtpParameters.encodings?.[0]).toMatchObject({ scalabilityMode: "L3T3" });
    expect(consumer!.paused).toBe(true);
    // mediasoup starts a subscriber on the best layers; ask for something else.
    expect(consumer!.preferredLayers).toEqual({ spatialLayer: 2, temporalLayer: 2 });
    await media.setPreferredLayers({ consumerId, spatialLayer: 1, temporalLayer: 1 });
    expect(consumer!.preferredLayers).toEqual({ spatialLayer: 1, temporalLayer: 1 });
    // Without a temporal layer, the subscriber gets that spatial layer's best.
    await media.setPreferredLayers({ consumerId, spatialLayer: 0 });
    expect(consumer!.preferredLayers).toEqual({ spatialLayer: 0, temporalLayer: 2 });
    await media.resumeConsumer({ consumerId });
    expect(consumer!.paused).toBe(false);
    await expectCode(media.setPreferredLayers({ consumerId: "nope", spatialLayer: 0 }), "not_found");
  });

  it("restarts ICE with new credentials", async () => {
    const { recv } = await room("r-ice");
    const { iceParameters } = await media.restartIce({ transportId: recv.id });
    expect(iceParameters.usernameFragment).not.toBe(recv.iceParameters.usernameFragment);
  });

  it("names the loudest participant from the audio levels in their RTP", async () => {
    const { routerId } = await media.createRouter({ roomId: "r-speaker" });
    const speakers: Array<string | null> = [];
    const onSpeaker = (info: { routerId: string; participantId: string | null }) => {
      if (info.routerId === routerId) speakers.push(info.participantId);
    };
    media.on("activeSpeaker", onSpeaker);
    const streams: OpusStream[] = [];
    try {
      // Bob is first and alone: the observer names him whatever he sends (here, silence).
      const bob = await plainAudio(routerId, "bob", 33330001, () => ({ dBov: 127, voice: false }));
      streams.push(bob);
      await waitForSpeaker(routerId, "bob");
      // Alice talks: loud with voice activity, over a room-noise floor the detector measures
      // activity against (a constant level would read as noise).
      const alice = await plainAudio(routerId, "alice", 33330002, (n) => (n % 10 === 0 ? { dBov: 100, voice: false } : { dBov: 10, voice: true }));
      streams.push(alice);
      await waitForSpeaker(routerId, "alice");
      expect(alice.sent()).toBeGreaterThan(0);
      expect(speakers).toEqual(["bob", "alice"]);
    } finally {
      media.off("activeSpeaker", onSpeaker);
      for (const s of streams) s.stop();
    }
  }, 20_000);

  it("carries its rooms for re-announcing, and reports the routers of a dead worker as lost", async () => {
    const { routerId } = await media.createRouter({ roomId: "r-doomed" });
    expect(media.carrying()).toContainEqual({ roomId: "r-doomed", routerId });
    const victim = pool.workers.find((w) => media.carrying().some((r) => r.routerId === routerId) && w.routers > 0)!;
    const lostOnVictim = media.carrying().length;
    const lost = new Promise<{ rooms: Array<{ roomId: string; routerId: string }>; reason: string }>((resolve) => media.once("routersLost", resolve));
    const replaced = new Promise<void>((resolve) => pool.onWorkerDied(() => resolve()));
    const index = pool.workers.findIndex((w) => w.worker.pid === victim.worker.pid);
    process.kill(victim.worker.pid!, "SIGKILL");
    const report = await lost;
    expect(report.reason).toMatch(/worker died/);
    expect(report.rooms.length).toBeGreaterThan(0);
    expect(report.rooms.length).toBeLessThanOrEqual(lostOnVictim);
    await replaced;
    // The replacement serves the same port, and the room can have a router again.
    expect(pool.workers[index]!.worker.pid).not.toBe(victim.worker.pid);
    expect(pool.workers[index]!.worker.closed).toBe(false);
    const again = await media.createRouter({ roomId: report.rooms[0]!.roomId });
    expect(again.routerId).not.toBe(report.rooms[0]!.routerId);
    const transport = await media.createWebRtcTransport({ routerId: again.routerId, participantId: "p", direction: "send" });
    expect(transport.iceCandidates.every((c) => c.port === 31100 || c.port === 31101)).toBe(true);
  });
});
