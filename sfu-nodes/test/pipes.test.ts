import { createSocket, type Socket } from "node:dgram";
import type { AddressInfo } from "node:net";
import type { types } from "mediasoup";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isProtocolError, type PipeEnd } from "@meridian/protocol";
import { createLogger } from "@meridian/node-agent";
import { MediaService } from "../src/media/media-service.ts";
import { WorkerPool } from "../src/media/worker-pool.ts";
import { watchConsumers } from "./support/observe.ts";
import { opusWithLevel, startOpusStream, type OpusStream } from "./support/opus-stream.ts";
import { VP8_SIMULCAST_SEND } from "./support/rtp.ts";
import { requireWorkerBinary } from "./support/worker.ts";

/**
 * Cascading on real mediasoup: two nodes (two worker pools, two media services, as two
 * SFU processes would hold them) whose routers of one room are joined by a pipe pair on
 * loopback, SRTP and RTX on both ends.
 */
const workerBin = requireWorkerBinary();
const log = createLogger("test", "silent");
const SILENT = () => ({ dBov: 127, voice: false });

interface Node {
  pool: WorkerPool;
  media: MediaService;
  consumers: Map<string, types.Consumer>;
  producers: Map<string, types.Producer>;
}

/** The mediasoup producers a pool's workers create (pipe producers included), by id. */
function watchProducers(pool: WorkerPool): Map<string, types.Producer> {
  const producers = new Map<string, types.Producer>();
  for (const { worker } of pool.workers) {
    worker.observer.on("newrouter", (router) =>
      router.observer.on("newtransport", (transport) => transport.observer.on("newproducer", (producer) => producers.set(producer.id, producer))),
    );
  }
  return producers;
}

async function startNode(rtcPortBase: number, pipePorts: { min: number; max: number }): Promise<Node> {
  // Ports below Linux's ephemeral range: no outgoing socket of a parallel test holds them.
  const pool = new WorkerPool({ numWorkers: 1, workerBin: workerBin!, listenIp: "127.0.0.1", announcedAddress: undefined, rtcPortBase, logLevel: "warn" }, log);
  await pool.start();
  const consumers = watchConsumers(pool);
  const producers = watchProducers(pool);
  const media = new MediaService(pool, { consumersPerWorker: 500, pipes: { ip: "127.0.0.1", portRange: pipePorts, maxPipes: 8, maxPipedProducers: 8 } }, log);
  return { pool, media, consumers, producers };
}

async function until<T>(read: () => T | Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const packets = async (producer: types.Producer | undefined) => (await producer?.getStats())?.reduce((n, s) => n + s.packetCount, 0) ?? 0;
const end = ({ ip, port, srtpParameters }: PipeEnd) => ({ ip, port, srtpParameters });

describe.skipIf(!workerBin)("pipes between two SFU nodes (real mediasoup)", () => {
  let a: Node;
  let b: Node;
  const streams: OpusStream[] = [];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    a = await startNode(31200, { min: 31210, max: 31219 });
    b = await startNode(31220, { min: 31230, max: 31239 });
  });

  afterAll(() => {
    for (const stream of streams) stream.stop();
    for (const socket of sockets) socket.close();
    for (const node of [a, b]) {
      node?.media.close();
      node?.pool.close();
    }
  });

  /** One room's routers on both nodes, joined by a connected pipe pair. */
  async function pipedRoom(roomId: string) {
    const ra = await a.media.createRouter({ roomId });
    const rb = await b.media.createRouter({ roomId });
    const pa = await a.media.pipes.create({ roomId, routerId: ra.routerId });
    const pb = await b.media.pipes.create({ roomId, routerId: rb.routerId });
    await a.media.pipes.connect({ transportId: pa.transportId, ...end(pb) });
    await b.media.pipes.connect({ transportId: pb.transportId, ...end(pa) });
    return { ra, rb, pa, pb };
  }

  /** A producer of node A crossing to node B, as the room DO does it. */
  async function pipe(pa: { transportId: string }, pb: { transportId: string }, producerId: string, source: "mic" | "camera") {
    const half = await a.media.pipes.consume({ transportId: pa.transportId, producerId });
    await b.media.pipes.produce({
      transportId: pb.transportId,
      producerId,
      kind: half.kind,
      source,
      participantId: "alice",
      rtpParameters: half.rtpParameters,
      paused: half.producerPaused,
    });
    return half;
  }

  it("opens a pipe pair with SRTP keys of its own on each end, on ports of the configured range", async () => {
    const { pa, pb } = await pipedRoom("keys");
    expect(pa.port).toBeGreaterThanOrEqual(31210);
    expect(pa.port).toBeLessThanOrEqual(31219);
    expect(pb.port).toBeGreaterThanOrEqual(31230);
    expect(pb.port).toBeLessThanOrEqual(31239);
    expect(pa.srtpParameters.cryptoSuite).toBe(pb.srtpParameters.cryptoSuite);
    expect(pa.srtpParameters.keyBase64).not.toBe(pb.srtpParameters.keyBase64);
    const again = await pipedRoom("keys-2");
    expect(again.pa.srtpParameters.keyBase64).not.toBe(pa.srtpParameters.keyBase64);
    expect(a.media.load().pipes).toBeGreaterThanOrEqual(2);
  });

  it("carries media across, SRTP-protected, with RTX and NACK on the pipe", async () => {
    const { ra, pa, pb } = await pipedRoom("audio");
    const plain = await a.media.createPlainTransport({ routerId: ra.routerId, participantId: "alice", direction: "send" });
    const { producerId } = await a.media.produce({ transportId: plain.id, kind: "audio", source: "mic", rtpParameters: opusWithLevel(5001), participantId: "alice" });
    const half = await pipe(pa, pb, producerId, "mic");
    expect(half.rtpParameters.codecs[0]!.rtcpFeedback?.some((fb) => fb.type === "nack")).toBe(true);
    streams.push(await startOpusStream({ ip: plain.ip, port: plain.port }, { ssrc: 5001, levelAt: SILENT, maxPackets: 400 }));
    await until(() => packets(b.producers.get(producerId)), (n) => n > 10, "packets through the pipe on node B");
    expect(b.media.load().pipedProducers).toBeGreaterThanOrEqual(1);
    expect(b.media.pipes.pipedProducers).toBeGreaterThanOrEqual(1);
  });

  it("pipes a simulcast camera whole: subscribers on the far node choose their layers there", async () => {
    const { ra, rb, pa, pb } = await pipedRoom("simulcast");
    const send = await a.media.createWebRtcTransport({ routerId: ra.routerId, participantId: "alice", direction: "send" });
    const { producerId } = await a.media.produce({ transportId: send.id, kind: "video", source: "camera", rtpParameters: VP8_SIMULCAST_SEND, participantId: "alice" });
    const half = await pipe(pa, pb, producerId, "camera");
    expect(half.rtpParameters.encodings).toHaveLength(3);
    expect(half.rtpParameters.codecs.some((c) => c.mimeType.toLowerCase() === "video/rtx")).toBe(true);
    const recv = await b.media.createWebRtcTransport({ routerId: rb.routerId, participantId: "bob", direction: "recv", rtpCapabilities: rb.rtpCapabilities });
    const { consumerId } = await b.media.consume({ transportId: recv.id, producerId });
    const consumer = b.consumers.get(consumerId)!;
    expect(consumer.type).toBe("simulcast");
    await b.media.setPreferredLayers({ consumerId, spatialLayer: 0, temporalLayer: 1 });
    expect(consumer.preferredLayers).toEqual({ spatialLayer: 0, temporalLayer: 1 });
  });

  it("passes pause and close along: the pipe's sending half follows the original, the copy follows the room's calls", async () => {
    const { ra, rb, pa, pb } = await pipedRoom("pause");
    const send = await a.media.createWebRtcTransport({ routerId: ra.routerId, participantId: "alice", direction: "send" });
    const { producerId } = await a.media.produce({ transportId: send.id, kind: "video", source: "camera", rtpParameters: VP8_SIMULCAST_SEND, participantId: "alice" });
    const half = await pipe(pa, pb, producerId, "camera");
    const recv = await b.media.createWebRtcTransport({ routerId: rb.routerId, participantId: "bob", direction: "recv", rtpCapabilities: rb.rtpCapabilities });
    const { consumerId } = await b.media.consume({ transportId: recv.id, producerId });
    const far = b.consumers.get(consumerId)!;
    const sending = a.consumers.get(half.consumerId)!;

    await a.media.setProducerPaused({ producerId, paused: true });
    await until(() => sending.producerPaused, (p) => p, "the pipe consumer paused with its producer");
    await b.media.setProducerPaused({ producerId, paused: true });
    await until(() => far.producerPaused, (p) => p, "the far consumer paused");
    await a.media.setProducerPaused({ producerId, paused: false });
    await b.media.setProducerPaused({ producerId, paused: false });
    await until(() => far.producerPaused, (p) => !p, "the far consumer resumed");

    await a.media.closeProducer({ producerId });
    await until(() => sending.closed, (closed) => closed, "the pipe consumer closed with its producer");
    await b.media.closeProducer({ producerId });
    expect(b.producers.get(producerId)?.closed).toBe(true);
    await until(() => far.closed, (closed) => closed, "the far consumer closed with the copy");
  });

  it("drops packets from any tuple but the one it was connected to, validly encrypted or not", async () => {
    const ra = await a.media.createRouter({ roomId: "foreign" });
    const rb = await b.media.createRouter({ roomId: "foreign" });
    const pa = await a.media.pipes.create({ roomId: "foreign", routerId: ra.routerId });
    const pb = await b.media.pipes.create({ roomId: "foreign", routerId: rb.routerId });
    // A sends to a relay, which forwards each packet to B from a tuple of its own; B was
    // connected to A's real tuple.
    const relay = createSocket("udp4");
    sockets.push(relay);
    let forwarded = 0;
    relay.on("message", (message) => {
      forwarded++;
      relay.send(message, pb.port, pb.ip);
    });
    await new Promise<void>((resolve) => relay.bind(0, "127.0.0.1", resolve));
    await a.media.pipes.connect({ transportId: pa.transportId, ip: "127.0.0.1", port: (relay.address() as AddressInfo).port, srtpParameters: pb.srtpParameters });
    await b.media.pipes.connect({ transportId: pb.transportId, ...end(pa) });

    const plain = await a.media.createPlainTransport({ routerId: ra.routerId, participantId: "alice", direction: "send" });
    const { producerId } = await a.media.produce({ transportId: plain.id, kind: "audio", source: "mic", rtpParameters: opusWithLevel(5002), participantId: "alice" });
    await pipe(pa, pb, producerId, "mic");
    streams.push(await startOpusStream({ ip: plain.ip, port: plain.port }, { ssrc: 5002, levelAt: SILENT, maxPackets: 400 }));
    await until(() => forwarded, (n) => n >= 50, "packets through the relay");
    // And junk from elsewhere, for good measure.
    for (let i = 0; i < 20; i++) relay.send(Buffer.from([0x80, 111, 0, i, 0, 0, 0, 0, 0, 0, 0x13, 0x8a, 1, 2, 3]), pb.port, pb.ip);
    expect(await packets(b.producers.get(producerId))).toBe(0);
  });

  it("refuses to pipe a producer of another router, and bounds its pipes", async () => {
    const { pa } = await pipedRoom("bounds");
    const other = await a.media.createRouter({ roomId: "bounds-other" });
    const send = await a.media.createWebRtcTransport({ routerId: other.routerId, participantId: "eve", direction: "send" });
    const { producerId } = await a.media.produce({ transportId: send.id, kind: "video", source: "camera", rtpParameters: VP8_SIMULCAST_SEND, participantId: "eve" });
    const refused = await a.media.pipes.consume({ transportId: pa.transportId, producerId }).catch((e: unknown) => e);
    expect(isProtocolError(refused, "forbidden")).toBe(true);
    // A pipe on a router is for that router's room only.
    expect(isProtocolError(await a.media.pipes.create({ roomId: "bounds", routerId: other.routerId }).catch((e: unknown) => e), "forbidden")).toBe(true);
    // maxPipes is 8 on these nodes.
    let error: unknown;
    for (let i = 0; i < 10 && !error; i++) error = await a.media.pipes.create({ roomId: "bounds-other", routerId: other.routerId }).then(() => undefined, (e: unknown) => e);
    expect(isProtocolError(error, "node_unavailable")).toBe(true);
  });
});
