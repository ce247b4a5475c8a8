import { haversineKm } from "../../lib/geo.ts";
import { DEFAULT_CAPACITY_THRESHOLD } from "./capacity.ts";
import { placeRoom } from "./policy.ts";
import { isEligible, type NodeCandidate, type SelectRequest, type SelectStrategy } from "./strategy.ts";

export interface LegOptions {
  /**
   * A room's existing leg serves a participant when its node is at most this much farther
   * from them than their own best node: ~1,000 km is ~5 ms one way in fibre, less than
   * what a second leg adds for everyone else (a pipe hop, and each stream once more
   * between nodes). Paris and London share a Frankfurt leg; Tokyo does not.
   */
  readonly reuseKm: number;
  /** A leg also needs room: a node above this utilization takes no one new while another can. */
  readonly maxUtilization: number;
  /**
   * Legs per room at most: past it everyone joins the nearest existing leg. Six: in the
   * global model (bench/cascade) rooms drawn from eight regions with four legs had a p95
   * 18 % above the own-nearest-node bound; with six, 2 % (each leg costs pipes, so no more).
   */
  readonly maxLegs: number;
}

export const DEFAULT_LEGS: LegOptions = { reuseKm: 1000, maxUtilization: DEFAULT_CAPACITY_THRESHOLD, maxLegs: 6 };

export interface LegChoice {
  readonly nodeId: string;
  readonly region: string;
  /** An existing leg of the room (true), or a new one to open on this node. */
  readonly reuse: boolean;
  readonly distanceKm?: number;
  /** The participant's best node by the placement policy, and its distance: what the choice was weighed against. */
  readonly best?: { readonly nodeId: string; readonly distanceKm?: number };
}

/**
 * Where a participant's media enters the network: the room's existing leg when one is
 * about as good for them as their best node (within `reuseKm`, with room to spare),
 * otherwise a new leg on their best node (capacity, then score: the room placement
 * policy); with `maxLegs` legs open, the nearest leg. Pure: the registry calls it with
 * its records, the global model bench with its own.
 */
export function chooseLeg(
  nodes: Iterable<NodeCandidate>,
  request: SelectRequest,
  legNodeIds: readonly string[],
  options: LegOptions = DEFAULT_LEGS,
  policy: SelectStrategy = placeRoom,
): LegChoice | undefined {
  const all = [...nodes];
  const best = policy(all, request);
  const point = request.point;
  const legs = legNodeIds.flatMap((id) => {
    const node = all.find((n) => n.id === id);
    return node && isEligible(node, request) ? [{ node, km: point ? haversineKm(point, node) : 0 }] : [];
  });
  legs.sort((a, b) => a.km - b.km);
  const weighed = best ? { nodeId: best.nodeId, ...(best.distanceKm === undefined ? {} : { distanceKm: best.distanceKm }) } : undefined;
  const reuse = (leg: { node: NodeCandidate; km: number }): LegChoice => ({
    nodeId: leg.node.id,
    region: leg.node.region,
    reuse: true,
    ...(point ? { distanceKm: leg.km } : {}),
    ...(weighed ? { best: weighed } : {}),
  });
  const bestKm = best?.distanceKm ?? (point ? Infinity : 0);
  const good = legs.find((leg) => leg.node.load.utilization <= options.maxUtilization && leg.km <= bestKm + options.reuseKm);
  if (good) return reuse(good);
  if (best && !legNodeIds.includes(best.nodeId) && legNodeIds.length < options.maxLegs) {
    return { nodeId: best.nodeId, region: best.region, reuse: false, ...(best.distanceKm === undefined ? {} : { distanceKm: best.distanceKm }), best: weighed! };
  }
  // Out of legs, or the best node is a leg already (too busy to be "good"): the nearest leg.
  if (legs[0]) return reuse(legs[0]);
  return best ? { nodeId: best.nodeId, region: best.region, reuse: false, ...(best.distanceKm === undefined ? {} : { distanceKm: best.distanceKm }), best: weighed! } : undefined;
}
