import { createSocket } from "node:dgram";
import type { PipeEnd } from "@meridian/protocol";
import { createLogger } from "@meridian/node-agent";
import { MediaService } from "@meridian/sfu-node/media-service";
import { resolveWorkerBinary } from "@meridian/sfu-node/worker-binary";
import { WorkerPool } from "@meridian/sfu-node/worker-pool";
import { percentile, progress } from "../lib/stats.ts";
import { cpuSeconds } from "../sfu-forward/cpu.ts";
import { VP8_PRODUCE, startVp8Stream, type RtpStream } from "../sfu-forward/rtp.ts";
import { globalModel } from "./model.ts";

/**
 * bench/cascade, one JSON line:
 *  - pipe cost: mediasoup worker CPU per delivered stream when subscribers sit on a second
 *    node fed through an SRTP pipe (both nodes' workers counted), against the same
 *    streams consumed on their own node; the two setups run at once on the same traffic.
 *    Target: ratio ≤ 1.3.
 *  - added latency of a hop: the same two setups, each packet carrying its send time
 *    (the last 8 bytes of its payload, which an SFU forwards untouched), read where the
 *    subscribers receive it: the pipe's extra hop is the difference of the medians. It is
 *    the part glass-to-glass latency adds for a cascaded subscriber (capture, encode and
 *    decode are the same either way). Target: ≤ 3 ms at p50 on loopback.
 *  - the global model (model.ts): p95 one-way latency with cascading ≤ 1.1 × the bound and
 *    ≤ 0.6 × one node per room.
 */
const STREAMS = Number(process.env.BENCH_STREAMS ?? 4);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 10);
const FPS = 30;
const PACKET_BYTES = 1100;
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 4000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TARGET = { pipeCostRatioMax: 1.3, addedHopMsMax: 3, p95VsBoundMax: 1.1, p95VsOneNodeMax: 0.6 };

const workerBin = resolveWorkerBinary();
const log = createLogger("bench", "silent");

interface Node {
  pool: WorkerPool;
  media: MediaService;
}

/** One node with one worker, its pipes on a range of ports below the ephemeral ones. */
async function startNode(rtcPortBase: number): Promise<Node> {
  const pool = new WorkerPool({ numWorkers: 1, workerBin, listenIp: "127.0.0.1", announcedAddress: undefined, rtcPortBase, logLevel: "warn" }, log);
  await pool.start();
  const media = new MediaService(pool, { consumersPerWorker: 1000, pipes: { ip: "127.0.0.1", portRange: { min: rtcPortBase + 2, max: rtcPortBase + 9 }, maxPipes: 8, maxPipedProducers: 100 } }, log);
  return { pool, media };
}

/** Receives what subscribers are sent: counts packets and samples each one's age. */
async function startSink() {
  const socket = createSocket({ type: "udp4", recvBufferSize: 8 * 1024 * 1024 });
  let packets = 0;
  let ages: number[] = [];
  socket.on("message", (message) => {
    packets++;
    // One packet in ten is enough for percentiles and keeps this process light.
    if (packets % 10 === 0) ages.push(performance.now() - message.readDoubleBE(message.length - 8));
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    port: socket.address().port,
    packets: () => packets,
    takeAges: () => {
      const taken = ages;
      ages = [];
      return taken;
    },
    close: () => socket.close(),
  };
}

type Sink = Awaited<ReturnType<typeof startSink>>;

/** Producers on `origin`, subscribers on `subscribers` (the same node, or another one fed by a pipe). */
async function setUp(origin: Node, subscribers: Node, sink: Sink): Promise<RtpStream[]> {
  const roomId = `bench-${Math.random().toString(36).slice(2)}`;
  const here = await origin.media.createRouter({ roomId });
  const there = subscribers === origin ? here : await subscribers.media.createRouter({ roomId });
  let pipes: { out: string; in: string } | undefined;
  if (subscribers !== origin) {
    const a = await origin.media.pipes.create({ roomId, routerId: here.routerId });
    const b = await subscribers.media.pipes.create({ roomId, routerId: there.routerId });
    const end = ({ ip, port, srtpParameters }: PipeEnd) => ({ ip, port, srtpParameters });
    await origin.media.pipes.connect({ transportId: a.transportId, ...end(b) });
    await subscribers.media.pipes.connect({ transportId: b.transportId, ...end(a) });
    pipes = { out: a.transportId, in: b.transportId };
  }
  const streams: RtpStream[] = [];
  for (let s = 0; s < STREAMS; s++) {
    const ingress = await origin.media.createPlainTransport({ routerId: here.routerId, participantId: "sender", direction: "send" });
    const ssrc = 3000 + s;
    const { producerId } = await origin.media.produce({ transportId: ingress.id, kind: "video", source: "camera", rtpParameters: VP8_PRODUCE(ssrc) as never, participantId: "sender" });
    if (pipes) {
      const half = await origin.media.pipes.consume({ transportId: pipes.out, producerId });
      await subscribers.media.pipes.produce({ transportId: pipes.in, producerId, kind: "video", source: "camera", participantId: "sender", rtpParameters: half.rtpParameters, paused: false });
    }
    const stream = await startVp8Stream(ingress, { ssrc, payloadType: 96, fps: FPS, bytes: PACKET_BYTES, keyEvery: 30, stamp: true });
    stream.pause();
    streams.push(stream);
    for (let c = 0; c < SUBSCRIBERS; c++) {
      const egress = await subscribers.media.createPlainTransport({ routerId: there.routerId, participantId: `sub-${c}`, direction: "recv", rtpCapabilities: there.rtpCapabilities });
      await subscribers.media.connectPlainTransport({ transportId: egress.id, ip: "127.0.0.1", port: sink.port });
      const { consumerId } = await subscribers.media.consume({ transportId: egress.id, producerId });
      await subscribers.media.resumeConsumer({ consumerId });
    }
  }
  return streams;
}

const [local, origin, far] = [await startNode(30700), await startNode(30710), await startNode(30720)];
const [localSink, pipedSink] = [await startSink(), await startSink()];
const setups = {
  local: { streams: await setUp(local, local, localSink), sink: localSink, workers: [local] },
  piped: { streams: await setUp(origin, far, pipedSink), sink: pipedSink, workers: [origin, far] },
};
type Kind = keyof typeof setups;
const kinds = Object.keys(setups) as Kind[];
const pidsOf = (kind: Kind) => setups[kind].workers.map((n) => n.pool.workers[0]!.worker.pid!);
progress(`${STREAMS} streams x ${SUBSCRIBERS} subscribers, on their own node and across a pipe; measuring side by side`);

const totals = Object.fromEntries(kinds.map((k) => [k, { cpu: 0, seconds: 0, packets: 0, ages: [] as number[] }])) as Record<Kind, { cpu: number; seconds: number; packets: number; ages: number[] }>;
for (let round = -1; round < ROUNDS; round++) {
  for (const kind of kinds) for (const stream of setups[kind].streams) stream.resume();
  // A keyframe and a moment for the consumers to start before the clock runs.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const start = Object.fromEntries(kinds.map((k) => [k, { cpu: pidsOf(k).reduce((s, pid) => s + cpuSeconds(pid), 0), packets: setups[k].sink.packets() }]));
  for (const kind of kinds) setups[kind].sink.takeAges();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  const seconds = (performance.now() - t0) / 1000;
  for (const kind of kinds) {
    const cpu = pidsOf(kind).reduce((s, pid) => s + cpuSeconds(pid), 0) - start[kind]!.cpu;
    const ages = setups[kind].sink.takeAges();
    // The first round warms up and is not counted.
    if (round >= 0) {
      totals[kind].cpu += cpu;
      totals[kind].seconds += seconds;
      totals[kind].packets += setups[kind].sink.packets() - start[kind]!.packets;
      totals[kind].ages.push(...ages);
    }
  }
  for (const kind of kinds) for (const stream of setups[kind].streams) stream.pause();
  if (round >= 0) progress(`window ${round + 1}/${ROUNDS}`);
}
for (const kind of kinds) for (const stream of setups[kind].streams) stream.stop();
for (const sink of [localSink, pipedSink]) sink.close();
for (const node of [local, origin, far]) {
  node.media.close();
  node.pool.close();
}

const delivered = STREAMS * SUBSCRIBERS;
const perStream = (k: Kind) => ((totals[k].cpu / totals[k].seconds) * 100) / delivered;
const pipeCost = {
  subscribersPerStream: SUBSCRIBERS,
  cpuPerDeliveredStreamPct: { local: round4(perStream("local")), piped: round4(perStream("piped")) },
  deliveredPct: Object.fromEntries(kinds.map((k) => [k, Math.round((totals[k].packets / totals[k].seconds / (delivered * FPS)) * 1000) / 10])),
  ratio: round3(perStream("piped") / perStream("local")),
};
const ms = (xs: number[], p: number) => Math.round(percentile(xs, p) * 100) / 100;
const hop = {
  local: { p50: ms(totals.local.ages, 50), p95: ms(totals.local.ages, 95) },
  piped: { p50: ms(totals.piped.ages, 50), p95: ms(totals.piped.ages, 95) },
  addedP50Ms: Math.round((percentile(totals.piped.ages, 50) - percentile(totals.local.ages, 50)) * 100) / 100,
};
progress("global model: 1,000 rooms over eight regions");
const model = globalModel();
const vsBound = round3(model.cascading.p95 / model.ownNearestNodes.p95);
const vsOneNode = round3(model.cascading.p95 / model.firstJoinerNode.p95);
process.stdout.write(
  JSON.stringify({
    bench: "cascade",
    pipeCost,
    hopLatencyMs: hop,
    globalModel: { ...model, p95VsBound: vsBound, p95VsOneNode: vsOneNode },
    target: TARGET,
    pass:
      pipeCost.ratio <= TARGET.pipeCostRatioMax &&
      hop.addedP50Ms <= TARGET.addedHopMsMax &&
      vsBound <= TARGET.p95VsBoundMax &&
      vsOneNode <= TARGET.p95VsOneNodeMax,
  }) + "\n",
);
process.exit(0);

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
