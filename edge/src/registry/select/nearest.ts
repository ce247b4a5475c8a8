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

/** The `count` nearest eligible nodes, nearest first (ties by id). */
export function nearestN(nodes: Iterable<NodeCandidate>, request: SelectRequest, count: number): Selection[] {
  const ranked: Array<{ node: NodeCandidate; key: number }> = [];
  for (const node of nodes) {
    if (!isEligible(node, request)) continue;
    ranked.push({ node, key: request.point ? haversineKm(request.point, node) : node.load.utilization });
  }
  ranked.sort((a, b) => a.key - b.key || (a.node.id < b.node.id ? -1 : 1));
  return ranked.slice(0, count).map(({ node, key }) => ({
    nodeId: node.id,
    region: node.region,
    ...(request.point ? { distanceKm: key } : {}),
  }));
}
