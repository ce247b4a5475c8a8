import { haversineKm } from "../../lib/geo.ts";
import { isEligible, type NodeCandidate, type SelectRequest, type Selection, type SelectStrategy } from "./strategy.ts";

/**
 * The eligible node closest to the participant (great-circle distance). Without a
 * location, the least-utilized eligible node. Ties go to the lower id, so the answer
 * does not depend on the order nodes registered in.
 */
export const selectNearest: SelectStrategy = (nodes: Iterable<NodeCandidate>, request: SelectRequest): Selection | undefined => {
  let best: NodeCandidate | undefined;
  let bestKey = Infinity;
  for (const node of nodes) {
    if (!isEligible(node, request)) continue;
    const key = request.point ? haversineKm(request.point, node) : node.load.utilization;
    if (key < bestKey || (key === bestKey && best !== undefined && node.id < best.id)) {
      best = node;
      bestKey = key;
    }
  }
  if (!best) return undefined;
  return { nodeId: best.id, region: best.region, ...(request.point ? { distanceKm: bestKey } : {}) };
};
