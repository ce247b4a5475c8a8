import { haversineKm } from "../../edge/src/lib/geo.ts";
import { selectNearest } from "../../edge/src/registry/select/nearest.ts";
import { placeRoom } from "../../edge/src/registry/select/policy.ts";
import { toVec } from "../../edge/src/registry/select/sphere.ts";
import type { NodeCandidate, SelectRequest } from "../../edge/src/registry/select/strategy.ts";
import { prng } from "../lib/prng.ts";

/**
 * bench/select, run inside workerd: node choice among 10,000 registered nodes with the
 * registry's policy (placeRoom) and with plain nearest, against a brute-force baseline
 * (haversine to every node, then sort). workerd's clock ticks in whole milliseconds, so
 * each sample times a batch of calls and divides.
 */
const NODES = 10_000;
const BATCH = 500;
const SAMPLES = 120;
const AGREEMENT_POINTS = 2000;


/** Uniform on the sphere. */
function point(random: () => number) {
  return { lat: (Math.asin(2 * random() - 1) * 180) / Math.PI, lon: random() * 360 - 180 };
}

/** As the registry holds them: records with their unit vector precomputed. */
function fleet(random: () => number): NodeCandidate[] {
  return Array.from({ length: NODES }, (_, i) => withVec({
    id: `n${i}`,
    kind: i % 10 === 9 ? ("turn" as const) : ("sfu" as const),
    region: `r${i % 50}`,
    ...point(random),
    healthy: random() > 0.02,
    load: { state: random() > 0.03 ? ("active" as const) : ("draining" as const), workers: 8, routers: 0, transports: 0, producers: 0, consumers: 0, utilization: random() },
  }));
}

function withVec(node: NodeCandidate): NodeCandidate {
  return { ...node, vec: toVec(node) };
}

/** The obvious way: every distance, sorted. */
function bruteNearest(nodes: NodeCandidate[], request: SelectRequest): string | undefined {
  return nodes
    .filter((n) => n.healthy && n.kind === request.kind && n.load.state === "active")
    .map((n) => ({ n, d: haversineKm(request.point!, n) }))
    .sort((a, b) => a.d - b.d || (a.n.id < b.n.id ? -1 : 1))[0]?.n.id;
}

function time(random: () => number, run: (request: SelectRequest) => unknown): number[] {
  const perCall: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const requests = Array.from({ length: BATCH }, () => ({ kind: "sfu" as const, point: point(random) }));
    const start = performance.now();
    for (const request of requests) run(request);
    perCall.push((performance.now() - start) / BATCH);
  }
  return perCall;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]!;
const round = (ms: number) => Math.round(ms * 10_000) / 10_000;

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/api/health") return Response.json({ ok: true });
    if (url.pathname !== "/bench/select") return new Response("not found", { status: 404 });
    const random = prng(20261124);
    const nodes = fleet(random);
    let agree = 0;
    for (let i = 0; i < AGREEMENT_POINTS; i++) {
      const req = { kind: "sfu" as const, point: point(random) };
      if (selectNearest(nodes, req)?.nodeId === bruteNearest(nodes, req)) agree++;
    }
    // Warm both paths before timing.
    time(random, (req) => placeRoom(nodes, req));
    const policy = time(random, (req) => placeRoom(nodes, req));
    const nearest = time(random, (req) => selectNearest(nodes, req));
    const brute = time(random, (req) => bruteNearest(nodes, req)).slice(0, 20);
    return Response.json({
      nodes: NODES,
      policy: { p50: round(pct(policy, 50)), p99: round(pct(policy, 99)) },
      nearest: { p50: round(pct(nearest, 50)), p99: round(pct(nearest, 99)) },
      bruteForce: { p50: round(pct(brute, 50)), p99: round(pct(brute, 99)) },
      agreement: { points: AGREEMENT_POINTS, agreed: agree },
    });
  },
};
