import { haversineKm } from "@meridian/edge/geo";
import { chooseLeg } from "@meridian/edge/select/legs";
import { toVec } from "@meridian/edge/select/sphere";
import type { NodeCandidate } from "@meridian/edge/select/strategy";
import { percentile } from "../lib/stats.ts";
import { prng } from "../lib/prng.ts";
import { REGIONS, rttMs, type Region } from "./rtt.ts";

/**
 * The global model: 1,000 rooms of 2-12 people drawn from callers spread over eight
 * regions, one SFU node per region, and the one-way media latency of every sender →
 * receiver pair when the room (a) sits on its first joiner's node, (b) is placed by
 * Meridian's cascading (select/legs.ts, the registry's own code), (c) routes each pair
 * through their own nearest nodes (the bound). Latency: the caller's last mile (2 ms +
 * 1 ms per 100 km to their region's metro), then half the inter-region RTT for every
 * region crossed, between caller and node and between nodes.
 */
const ROOMS = 1000;
/** Where callers are: a share of the population per region. */
const POPULATION: Record<Region, number> = {
  "us-east-1": 0.2,
  "us-west-2": 0.12,
  "eu-central-1": 0.16,
  "eu-west-2": 0.14,
  "ap-northeast-1": 0.11,
  "ap-southeast-1": 0.1,
  "ap-southeast-2": 0.07,
  "sa-east-1": 0.1,
};
const SPREAD_KM = 700;
/** What each person sends: a camera's middle layer and a microphone. */
const STREAM_MBPS = 1.2 + 0.04;

interface Caller {
  readonly lat: number;
  readonly lon: number;
  readonly region: Region;
  /** One-way to their region's metro. */
  readonly lastMileMs: number;
}

const regions = Object.keys(REGIONS) as Region[];

function drawRegion(random: () => number): Region {
  let x = random();
  for (const region of regions) {
    x -= POPULATION[region];
    if (x <= 0) return region;
  }
  return regions[regions.length - 1]!;
}

/** A caller somewhere within SPREAD_KM of the region's metro. */
function drawCaller(region: Region, random: () => number): Caller {
  const metro = REGIONS[region];
  const km = SPREAD_KM * Math.sqrt(random());
  const bearing = random() * 2 * Math.PI;
  const lat = metro.lat + (km / 111) * Math.cos(bearing);
  const lon = metro.lon + ((km / 111) * Math.sin(bearing)) / Math.max(0.2, Math.cos((metro.lat * Math.PI) / 180));
  return { lat, lon, region, lastMileMs: 2 + haversineKm({ lat, lon }, metro) / 100 };
}

const NODES: NodeCandidate[] = regions.map((region) => {
  const node: NodeCandidate = {
    id: region,
    kind: "sfu",
    region,
    lat: REGIONS[region].lat,
    lon: REGIONS[region].lon,
    healthy: true,
    load: { state: "active", workers: 8, routers: 0, transports: 0, producers: 0, consumers: 0, utilization: 0.3 },
  };
  return { ...node, vec: toVec(node) };
});

/** Caller to a node (one way): their last mile, then the backbone from their region to the node's. */
const access = (c: Caller, node: Region) => c.lastMileMs + rttMs(c.region, node) / 2;
const between = (a: Region, b: Region) => rttMs(a, b) / 2;
const nearestNode = (c: Caller) => chooseLeg(NODES, { kind: "sfu", point: c }, [])!.nodeId as Region;

export interface ModelResult {
  readonly rooms: number;
  readonly pairs: number;
  readonly firstJoinerNode: { p50: number; p95: number };
  readonly cascading: { p50: number; p95: number; legsPerRoom: number; interNodeMbpsPerRoom: number };
  readonly ownNearestNodes: { p50: number; p95: number; interNodeMbpsPerRoom: number };
}

export function globalModel(seed = 20261206): ModelResult {
  const random = prng(seed);
  const [a, b, c]: [number[], number[], number[]] = [[], [], []];
  let legsTotal = 0;
  let cascadeMbps = 0;
  let boundMbps = 0;
  for (let room = 0; room < ROOMS; room++) {
    const size = 2 + Math.floor(random() * 11);
    const callers = Array.from({ length: size }, () => drawCaller(drawRegion(random), random));
    // (a) everyone on the first joiner's node.
    const first = nearestNode(callers[0]!);
    // (b) Meridian: each joins a leg, in join order.
    const legs: string[] = [];
    const legOf = callers.map((caller) => {
      const choice = chooseLeg(NODES, { kind: "sfu", point: caller }, legs)!;
      if (!choice.reuse) legs.push(choice.nodeId);
      return choice.nodeId as Region;
    });
    // (c) each through their own nearest node.
    const near = callers.map(nearestNode);
    for (let s = 0; s < size; s++) {
      for (let r = 0; r < size; r++) {
        if (s === r) continue;
        const [from, to] = [callers[s]!, callers[r]!];
        a.push(access(from, first) + access(to, first));
        b.push(access(from, legOf[s]!) + between(legOf[s]!, legOf[r]!) + access(to, legOf[r]!));
        c.push(access(from, near[s]!) + between(near[s]!, near[r]!) + access(to, near[r]!));
      }
    }
    legsTotal += legs.length;
    // Each person's streams cross once to every other leg (node) that has people on it.
    cascadeMbps += size * (legs.length - 1) * STREAM_MBPS;
    boundMbps += size * (new Set(near).size - 1) * STREAM_MBPS;
  }
  const ms = (xs: number[], p: number) => Math.round(percentile(xs, p) * 10) / 10;
  return {
    rooms: ROOMS,
    pairs: a.length,
    firstJoinerNode: { p50: ms(a, 50), p95: ms(a, 95) },
    cascading: { p50: ms(b, 50), p95: ms(b, 95), legsPerRoom: Math.round((legsTotal / ROOMS) * 100) / 100, interNodeMbpsPerRoom: Math.round((cascadeMbps / ROOMS) * 10) / 10 },
    ownNearestNodes: { p50: ms(c, 50), p95: ms(c, 95), interNodeMbpsPerRoom: Math.round((boundMbps / ROOMS) * 10) / 10 },
  };
}
