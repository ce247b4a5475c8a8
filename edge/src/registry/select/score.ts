import { haversineKm } from "../../lib/geo.ts";
import { rankNearest } from "./nearest.ts";
import type { SelectStrategy } from "./strategy.ts";

export interface ScoreOptions {
  /**
   * How many km one unit of utilization is worth: with 2,000, a node 1,000 km farther
   * wins when it is 50 points less busy.
   */
  readonly kmPerUtilization: number;
  /** Only the nearest few are scored; a far node never wins on load alone. */
  readonly candidates: number;
}

export const DEFAULT_SCORE: ScoreOptions = { kmPerUtilization: 2000, candidates: 8 };

/**
 * Distance and load in one score (lower wins): `distanceKm + kmPerUtilization × utilization`,
 * over the nearest few eligible nodes. Without a location it is the least utilized.
 */
export function selectByScore(options: ScoreOptions = DEFAULT_SCORE): SelectStrategy {
  return (nodes, request) => {
    const near = rankNearest(nodes, request, options.candidates);
    const point = request.point;
    if (near.length === 0) return undefined;
    if (!point) return { nodeId: near[0]!.id, region: near[0]!.region };
    let best = { nodeId: near[0]!.id, region: near[0]!.region, distanceKm: 0 };
    let bestScore = Infinity;
    for (const node of near) {
      const distanceKm = haversineKm(point, node);
      const score = distanceKm + options.kmPerUtilization * node.load.utilization;
      if (score < bestScore) {
        best = { nodeId: node.id, region: node.region, distanceKm };
        bestScore = score;
      }
    }
    return best;
  };
}
