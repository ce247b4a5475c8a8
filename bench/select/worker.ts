import { haversineKm } from "@meridian/edge/geo";
import { selectNearest } from "@meridian/edge/select/nearest";
import { placeRoom } from "@meridian/edge/select/policy";
import { toVec } from "@meridian/edge/select/sphere";
import type { NodeCandidate, SelectRequest } from "@meridian/edge/select/strategy";
import { prng } from "../lib/prng.ts";

/**
 * bench/select, run inside workerd: node choice among 10,000 registered nodes with the
 * registry's policy (placeRoom) and with plain nearest, against a brute-force baseline
 * (haversine to every node, then sort). Each request does a bounded piece of the work
 * (one round of timings, or one slice of agreement points) so none runs for long and the
 * runner can show progress. The fleet is rebuilt from its seed per request: every
 * request sees the same 10,000 nodes. workerd's clock ticks in whole milliseconds, so
 * each sample times a batch of calls and divides.
 */
const NODES = 10_000;
const FLEET_SEED = 20261124;
/** Per-round work, bounded: at most SAMPLES × batch calls. */
const MAX_SAMPLES = 200;
const MAX_BATCH = 1000;
const MAX_AGREEMENT_SLICE = 2000;

/** Uniform on the sphere. */
function point(random: () => number) {
  return { lat: (Math.asin(2 * random() - 1) * 180) / Math.PI, lon: random() * 360 - 180 };
}

/** As the registry holds them: records with their unit vector precomputed. */
function fleet(): NodeCandidate[] {
  const random = prng(FLEET_SEED);
  return Array.from({ length: NODES }, (_, i) => {
    const node: NodeCandidate = {
      id: `n${i}`,
      kind: i % 10 === 9 ? "turn" : "sfu",
      region: `r${i % 50}`,
      ...point(random),
      healthy: random() > 0.02,
      load: { state: random() > 0.03 ? "active" : "draining", workers: 8, routers: 0, transports: 0, producers: 0, consumers: 0, utilization: random() },
    };
    return { ...node, vec: toVec(node) };
  });
}

/** The obvious way: every distance, sorted. */
function bruteNearest(nodes: NodeCandidate[], request: SelectRequest): string | undefined {
  return nodes
    .filter((n) => n.healthy && n.kind === request.kind && n.load.state === "active")
    .map((n) => ({ n, d: haversineKm(request.point!, n) }))
    .sort((a, b) => a.d - b.d || (a.n.id < b.n.id ? -1 : 1))[0]?.n.id;
}

const STRATEGIES: Record<string, (nodes: NodeCandidate[], request: SelectRequest) => unknown> = {
  policy: placeRoom,
  nearest: selectNearest,
  brute: bruteNearest,
};

/** Milliseconds per call, one number per batch. */
function time(nodes: NodeCandidate[], run: (nodes: NodeCandidate[], request: SelectRequest) => unknown, samples: number, batch: number, seed: number): number[] {
  const random = prng(seed);
  const perCall: number[] = [];
  for (let s = 0; s < samples; s++) {
    const requests = Array.from({ length: batch }, () => ({ kind: "sfu" as const, point: point(random) }));
    const start = performance.now();
    for (const request of requests) run(nodes, request);
    perCall.push((performance.now() - start) / batch);
  }
  return perCall;
}

/** Agreement of selectNearest with brute force on points `from`..`from + count` of a fixed sequence. */
function agreement(nodes: NodeCandidate[], from: number, count: number): number {
  let agreed = 0;
  for (let i = from; i < from + count; i++) {
    const request = { kind: "sfu" as const, point: point(prng(FLEET_SEED + 1 + i)) };
    if (selectNearest(nodes, request)?.nodeId === bruteNearest(nodes, request)) agreed++;
  }
  return agreed;
}

const bounded = (value: string | null, max: number) => Math.min(max, Math.max(1, Math.floor(Number(value) || 1)));

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const q = url.searchParams;
    switch (url.pathname) {
      case "/api/health":
        return Response.json({ ok: true });
      case "/bench/select/time": {
        const strategy = STRATEGIES[q.get("strategy") ?? ""];
        if (!strategy) return new Response("unknown strategy", { status: 400 });
        const nodes = fleet();
        const samples = bounded(q.get("samples"), MAX_SAMPLES);
        const batch = bounded(q.get("batch"), MAX_BATCH);
        const seed = Number(q.get("seed")) || 1;
        // Warm the path (JIT) on other points before the timed samples.
        time(nodes, strategy, Math.min(samples, 10), batch, seed + 7919);
        return Response.json({ perCallMs: time(nodes, strategy, samples, batch, seed) });
      }
      case "/bench/select/agreement": {
        const from = Math.max(0, Math.floor(Number(q.get("from")) || 0));
        const count = bounded(q.get("count"), MAX_AGREEMENT_SLICE);
        return Response.json({ points: count, agreed: agreement(fleet(), from, count) });
      }
      default:
        return new Response("not found", { status: 404 });
    }
  },
};
