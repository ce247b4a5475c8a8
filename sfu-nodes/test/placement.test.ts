import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createLogger } from "@meridian/node-agent";
import { MediaService } from "../src/media/media-service.ts";
import { WorkerPool } from "../src/media/worker-pool.ts";
import { workerOf } from "./support/observe.ts";
import { OPUS_SEND, VP8_SIMULCAST_SEND } from "./support/rtp.ts";
import { requireWorkerBinary } from "./support/worker.ts";

const workerBin = requireWorkerBinary();

/** Router placement and the utilization the node reports, on two real workers. */
describe.skipIf(!workerBin)("placement across a node's workers", () => {
  let pool: WorkerPool;
  let media: MediaService;
  const log = createLogger("test", "silent");
  /** Small, so a handful of consumers is a visible share of one worker. */
  const CONSUMERS_PER_WORKER = 20;

  beforeAll(async () => {
    pool = new WorkerPool(
      { numWorkers: 2, workerBin: workerBin!, listenIp: "127.0.0.1", announcedAddress: undefined, rtcPortBase: 31130, logLevel: "warn" },
      log,
    );
    await pool.start();
    media = new MediaService(pool, { consumersPerWorker: CONSUMERS_PER_WORKER }, log);
  });

  afterAll(() => {
    media?.close();
    pool?.close();
    vi.restoreAllMocks();
  });

  /** One sender with mic and camera, `watchers` receivers each consuming both. */
  async function fill(roomId: string, watchers: number) {
    const { routerId, rtpCapabilities } = await media.createRouter({ roomId });
    const send = await media.createWebRtcTransport({ routerId, participantId: "host", direction: "send" });
    const mic = await media.produce({ transportId: send.id, kind: "audio", source: "mic", rtpParameters: OPUS_SEND, participantId: "host" });
    const cam = await media.produce({ transportId: send.id, kind: "video", source: "camera", rtpParameters: VP8_SIMULCAST_SEND, participantId: "host" });
    for (let i = 0; i < watchers; i++) {
      const recv = await media.createWebRtcTransport({ routerId, participantId: `w${i}`, direction: "recv", rtpCapabilities });
      await media.consume({ transportId: recv.id, producerId: mic.producerId });
      await media.consume({ transportId: recv.id, producerId: cam.producerId });
    }
    return routerId;
  }

  it("puts a new room on the worker carrying the least media, not the one with the fewest routers", async () => {
    const heavy = await fill("p-heavy", 5);
    const light = (await media.createRouter({ roomId: "p-light" })).routerId;
    const heavyWorker = await workerOf(pool, heavy);
    const lightWorker = await workerOf(pool, light);
    expect(lightWorker).not.toBe(heavyWorker);
    expect(pool.workers[heavyWorker]).toMatchObject({ routers: 1, producers: 2, consumers: 10 });
    expect(pool.workers[lightWorker]).toMatchObject({ routers: 1, producers: 0, consumers: 0 });
    // Router counts are equal, then favour the heavy worker: only the media carried sends
    // each new room to the light one.
    for (let i = 0; i < 3; i++) {
      const next = (await media.createRouter({ roomId: `p-next-${i}` })).routerId;
      expect(await workerOf(pool, next), `room ${i}`).toBe(lightWorker);
    }
  });

  it("reports the busiest worker's consumer share as utilization, not the node's average", async () => {
    vi.spyOn(pool, "sampleCpu").mockResolvedValueOnce([0, 0]);
    await media.sampleLoad(1);
    // 10 consumers on one worker of 20: half full, though the node as a whole is a quarter.
    expect(media.load().consumers).toBe(10);
    expect(media.load().utilization).toBeCloseTo(10 / CONSUMERS_PER_WORKER);
  });

  it("reports the busiest worker's CPU as utilization: one pegged worker is not averaged away", async () => {
    vi.spyOn(pool, "sampleCpu").mockResolvedValueOnce([0.1, 0.95]);
    await media.sampleLoad(1);
    expect(media.load().utilization).toBeCloseTo(0.95);
    expect(media.load().cpu).toEqual([0.1, 0.95]);
  });

  it("breaks a tie in carried media by sampled CPU when it says something, else by routers", async () => {
    for (const { routerId } of media.carrying()) await media.closeRouter({ routerId });
    expect(pool.workers.map((w) => [w.routers, w.producers, w.consumers])).toEqual([[0, 0, 0], [0, 0, 0]]);
    pool.workers.forEach((w) => (w.cpu = undefined));
    const busy = await workerOf(pool, (await media.createRouter({ roomId: "p-tie-1" })).routerId);
    const idle = 1 - busy;
    // Unsampled: the worker without a router.
    expect((await pool.leastLoaded()).index).toBe(idle);
    // Sampled, the one with the router is the quieter one: CPU decides.
    pool.workers[busy]!.cpu = 0.1;
    pool.workers[idle]!.cpu = 0.8;
    expect((await pool.leastLoaded()).index).toBe(busy);
    // A difference within sampling noise is no reason: routers again.
    pool.workers[idle]!.cpu = 0.12;
    expect((await pool.leastLoaded()).index).toBe(idle);
  });
});
