import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import * as mediasoup from "mediasoup";
import type { types } from "mediasoup";
import { WebSocketServer, type WebSocket } from "ws";
import {
  RpcCaller,
  decodeFrame,
  edgeToNodeMethods,
  encodeResult,
  type MethodName,
  type ParamsOf,
  type ResultOf,
  type EdgeToNodeMethods,
} from "@meridian/protocol";
import { ROUTER_MEDIA_CODECS } from "@meridian/sfu-node/codecs";
import { resolveWorkerBinary } from "@meridian/sfu-node/worker-binary";
import { ROOT, stopChild } from "../../scripts/lib/stack.ts";
import { progress } from "../lib/stats.ts";
import { childPids, commandOf, cpuSeconds } from "./cpu.ts";
import { VP8_PRODUCE, startSink, startVp8Stream, type RtpStream } from "./rtp.ts";

/**
 * bench/sfu-forward: N synthetic VP8 streams, each forwarded to M consumers, through
 * (a) a Meridian SFU node process driven over its control channel, and (b) a bare
 * mediasoup script on the same worker binary, both set up in the same run and fed the
 * same traffic in the same windows. Measured: the mediasoup worker's CPU (from /proc)
 * per forwarded stream, and how many consumers one core would carry.
 * Targets: node/bare ≤ 1.05, ≥ 500 consumers per core.
 */
const STREAMS = Number(process.env.BENCH_STREAMS ?? 4);
const CONSUMERS = Number(process.env.BENCH_CONSUMERS ?? 150);
const FPS = 30;
const PACKET_BYTES = 1100; // ~270 kbit/s a stream: a mid simulcast layer
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 4000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);

/** The calls a forwarding setup needs, from either side. */
interface Plane {
  createRouter(): Promise<{ routerId: string; rtpCapabilities: types.RtpCapabilities }>;
  plain(routerId: string, direction: "send" | "recv", rtpCapabilities?: types.RtpCapabilities): Promise<{ id: string; ip: string; port: number }>;
  connect(transportId: string, ip: string, port: number): Promise<void>;
  produce(transportId: string, ssrc: number): Promise<string>;
  consume(transportId: string, producerId: string): Promise<string>;
  resume(consumerId: string): Promise<void>;
  workerPid(): number;
  close(): Promise<void>;
}

/** A node process whose "edge" is this script: it answers register and issues the calls. */
async function nodePlane(): Promise<Plane> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const node: ChildProcess = spawn(process.execPath, [join(ROOT, "sfu-nodes/src/main.ts")], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      EDGE_URL: `ws://127.0.0.1:${port}`,
      NODE_SECRET: "bench-node-secret-0123456789",
      NODE_ID: "bench-forward",
      MEDIASOUP_NUM_WORKERS: "1",
      RTC_PORT_BASE: "30500",
      METRICS_PORT: "0",
      LOAD_REPORT_INTERVAL_MS: "60000",
      LOG_LEVEL: "warn",
    },
  });
  const [socket] = (await once(server, "connection")) as [WebSocket];
  const caller = new RpcCaller(edgeToNodeMethods, (text) => socket.send(text), { timeoutMs: 15_000 });
  await new Promise<void>((registered) => {
    socket.on("message", (data) => {
      const decoded = decodeFrame(String(data), 1 << 20);
      if (!decoded.ok) return;
      const frame = decoded.frame;
      if (frame.kind === "req" && frame.method === "register") {
        socket.send(encodeResult(frame.id, { nodeId: "bench-forward" }));
        registered();
      } else if (frame.kind === "res") caller.handleResponse(frame);
    });
  });
  const call = <K extends MethodName<EdgeToNodeMethods>>(method: K, params: ParamsOf<EdgeToNodeMethods, K>): Promise<ResultOf<EdgeToNodeMethods, K>> =>
    caller.call(method, params);
  return {
    async createRouter() {
      const r = await call("createRouter", { roomId: "bench-room" });
      return { routerId: r.routerId, rtpCapabilities: r.rtpCapabilities as types.RtpCapabilities };
    },
    plain: (routerId, direction, rtpCapabilities) =>
      call("createPlainTransport", { routerId, participantId: "bench", direction, ...(rtpCapabilities ? { rtpCapabilities: rtpCapabilities as never } : {}) }),
    connect: async (transportId, ip, port) => void (await call("connectPlainTransport", { transportId, ip, port })),
    produce: async (transportId, ssrc) =>
      (await call("produce", { transportId, kind: "video", source: "camera", rtpParameters: VP8_PRODUCE(ssrc) as never, participantId: "bench" })).producerId,
    consume: async (transportId, producerId) => (await call("consume", { transportId, producerId })).consumerId,
    resume: async (consumerId) => void (await call("resumeConsumer", { consumerId })),
    workerPid: () => childPids(node.pid!).find((pid) => commandOf(pid).includes("mediasoup-worker"))!,
    async close() {
      socket.close();
      server.close();
      await stopChild(node, 5000, "SIGINT");
    },
  };
}

/** The same forwarding written straight against mediasoup. */
async function barePlane(workerBin: string): Promise<Plane> {
  const worker = await mediasoup.createWorker({ logLevel: "warn", workerBin });
  const router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
  const transports = new Map<string, types.PlainTransport>();
  const consumers = new Map<string, types.Consumer>();
  const caps = new Map<string, types.RtpCapabilities>();
  return {
    createRouter: async () => ({ routerId: router.id, rtpCapabilities: router.rtpCapabilities }),
    async plain(_routerId, direction, rtpCapabilities) {
      const t = await router.createPlainTransport({ listenInfo: { protocol: "udp", ip: "127.0.0.1" }, rtcpMux: true, comedia: direction === "send" });
      transports.set(t.id, t);
      if (rtpCapabilities) caps.set(t.id, rtpCapabilities);
      return { id: t.id, ip: t.tuple.localAddress, port: t.tuple.localPort };
    },
    connect: async (transportId, ip, port) => transports.get(transportId)!.connect({ ip, port }),
    produce: async (transportId, ssrc) => (await transports.get(transportId)!.produce({ kind: "video", rtpParameters: VP8_PRODUCE(ssrc) as types.RtpParameters })).id,
    async consume(transportId, producerId) {
      const c = await transports.get(transportId)!.consume({ producerId, rtpCapabilities: caps.get(transportId)!, paused: true });
      consumers.set(c.id, c);
      return c.id;
    },
    resume: async (consumerId) => consumers.get(consumerId)!.resume(),
    workerPid: () => worker.pid!,
    close: async () => worker.close(),
  };
}

interface Forwarding {
  readonly plane: Plane;
  readonly streams: RtpStream[];
  readonly sink: Awaited<ReturnType<typeof startSink>>;
}

/** Sets up N producers with M consumers each (no traffic yet). */
async function setUp(plane: Plane): Promise<Forwarding> {
  const sink = await startSink();
  const { routerId, rtpCapabilities } = await plane.createRouter();
  const streams: RtpStream[] = [];
  for (let s = 0; s < STREAMS; s++) {
    const transport = await plane.plain(routerId, "send");
    const ssrc = 1000 + s;
    const producerId = await plane.produce(transport.id, ssrc);
    // One socket per stream for the whole run: comedia locks the transport to its address.
    const stream = await startVp8Stream(transport, { ssrc, payloadType: 96, fps: FPS, bytes: PACKET_BYTES, keyEvery: 30 });
    stream.pause();
    streams.push(stream);
    for (let c = 0; c < CONSUMERS; c++) {
      const egress = await plane.plain(routerId, "recv", rtpCapabilities);
      await plane.connect(egress.id, "127.0.0.1", sink.port);
      await plane.resume(await plane.consume(egress.id, producerId));
    }
  }
  return { plane, streams, sink };
}

interface Sample {
  cpuSeconds: number;
  seconds: number;
  packets: number;
}

/** Sends the streams through both setups at once for a window; each one's worker CPU and packets out. */
async function window(ms: number): Promise<Record<Kind, Sample>> {
  const kinds = Object.keys(forwardings) as Kind[];
  for (const kind of kinds) for (const stream of forwardings[kind].streams) stream.resume();
  // A keyframe and a moment for consumers to start before the clock runs.
  await new Promise((r) => setTimeout(r, 1000));
  const start = new Map(
    kinds.map((kind) => {
      const pid = forwardings[kind].plane.workerPid();
      return [kind, { pid, cpu: cpuSeconds(pid), packets: forwardings[kind].sink.packets() }] as const;
    }),
  );
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const seconds = (performance.now() - t0) / 1000;
  const result = {} as Record<Kind, Sample>;
  for (const [kind, s] of start) result[kind] = { cpuSeconds: cpuSeconds(s.pid) - s.cpu, seconds, packets: forwardings[kind].sink.packets() - s.packets };
  for (const kind of kinds) for (const stream of forwardings[kind].streams) stream.pause();
  return result;
}

type Kind = "node" | "bare";
const workerBin = resolveWorkerBinary();
// Both set up, then both fed at the same moment: this machine's CPU accounting drifts by
// tens of percent over a minute, and measuring both side by side makes every drift fall
// on both alike (one worker each on the two cores).
const forwardings: Record<Kind, Forwarding> = { node: await setUp(await nodePlane()), bare: await setUp(await barePlane(workerBin)) };
progress(`${STREAMS} streams x ${CONSUMERS} consumers set up on both; measuring side by side`);
// A warm-up window, not counted: the first traffic through each setup costs more.
await window(2000);
const totals = { node: { cpuSeconds: 0, seconds: 0, packets: 0 }, bare: { cpuSeconds: 0, seconds: 0, packets: 0 } };
for (let round = 0; round < ROUNDS; round++) {
  const w = await window(WINDOW_MS);
  for (const kind of ["node", "bare"] as const) {
    totals[kind].cpuSeconds += w[kind].cpuSeconds;
    totals[kind].seconds += w[kind].seconds;
    totals[kind].packets += w[kind].packets;
  }
  const pct = (k: Kind) => ((w[k].cpuSeconds / w[k].seconds) * 100).toFixed(1);
  progress(`window ${round + 1}/${ROUNDS}: node ${pct("node")} % CPU, bare ${pct("bare")} % CPU`);
}
for (const f of Object.values(forwardings)) {
  for (const stream of f.streams) stream.stop();
  f.sink.close();
  await f.plane.close();
}
const node = { cpu: totals.node.cpuSeconds / totals.node.seconds, consumers: STREAMS * CONSUMERS, packetsPerSecond: totals.node.packets / totals.node.seconds };
const bare = { cpu: totals.bare.cpuSeconds / totals.bare.seconds, consumers: STREAMS * CONSUMERS, packetsPerSecond: totals.bare.packets / totals.bare.seconds };
const expectedPps = STREAMS * CONSUMERS * FPS;
const summarize = (m: typeof node) => ({
  workerCpu: Math.round(m.cpu * 1000) / 1000,
  cpuPerForwardedStreamPct: Math.round(((m.cpu * 100) / m.consumers) * 10_000) / 10_000,
  consumersPerCore: Math.round(m.consumers / Math.max(m.cpu, 1e-6)),
  deliveredPct: Math.round((m.packetsPerSecond / expectedPps) * 1000) / 10,
});
const ratio = Math.round((node.cpu / bare.cpu) * 1000) / 1000;
const nodeSummary = summarize(node);
process.stdout.write(
  JSON.stringify({
    bench: "sfu-forward",
    streams: STREAMS,
    consumersPerStream: CONSUMERS,
    bitrateKbps: Math.round((PACKET_BYTES * 8 * FPS) / 1000),
    node: nodeSummary,
    bare: summarize(bare),
    ratio,
    target: { ratio_max: 1.05, consumers_per_core_min: 500 },
    pass: ratio <= 1.05 && nodeSummary.consumersPerCore >= 500,
  }) + "\n",
);
process.exit(0);
