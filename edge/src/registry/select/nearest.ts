import { haversineKm } from "../../lib/geo.ts";
import { toVec, vecOf, dot } from "./sphere.ts";
import { isEligible, type NodeCandidate, type SelectRequest, type Selection, type SelectStrategy } from "./strategy.ts";

/**
 * The eligible node closest to the participant (great circle). Without a location, the
 * least-utilized one. Ties go to the lower id, so the answer does not depend on the order
 * nodes registered in.
 */
export const selectNearest: SelectStrategy = (nodes, request) => nearestN(nodes, request, 1)[0];

/** The `count` nearest eligible nodes, nearest first (ties by id). */
export function nearestN(nodes: Iterable<NodeCandidate>, request: SelectRequest, count: number): Selection[] {
  // Distances for the few chosen, by haversine: exact where acos near 1 is not.
  return rankNearest(nodes, request, count).map((node) => ({
    nodeId: node.id,
    region: node.region,
    ...(request.point ? { distanceKm: haversineKm(request.point, node) } : {}),
  }));
}

/** The `count` nearest eligible nodes themselves, nearest first. */
export function rankNearest(nodes: Iterable<NodeCandidate>, request: SelectRequest, count: number): NodeCandidate[] {
  if (count <= 0) return [];
  const here = request.point ? toVec(request.point) : undefined;
  // A small sorted list of the best so far: O(n·count), and count is tiny.
  const best: Array<{ node: NodeCandidate; key: number }> = [];
  for (const node of nodes) {
    if (!isEligible(node, request)) continue;
    // Lower is better: negative dot (closer) or utilization (no location).
    const key = here ? -dot(here, vecOf(node)) : node.load.utilization;
    if (best.length === count) {
      const worst = best[count - 1]!;
      if (key > worst.key || (key === worst.key && node.id > worst.node.id)) continue;
    }
    let at = best.length;
    while (at > 0 && (best[at - 1]!.key > key || (best[at - 1]!.key === key && best[at - 1]!.node.id > node.id))) at--;
    best.splice(at, 0, { node, key });
    if (best.length > count) best.pop();
  }
  return best.map(({ node }) => node);
}
