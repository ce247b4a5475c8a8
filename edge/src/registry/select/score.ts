import { nearestN } from "./nearest.ts";
import type { NodeCandidate, SelectStrategy } from "./strategy.ts";

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
    const list = [...nodes];
    const near = nearestN(list, request, options.candidates);
    if (!request.point) return near[0];
    const byId = new Map<string, NodeCandidate>(list.map((n) => [n.id, n]));
    let best = near[0];
    let bestScore = Infinity;
    for (const candidate of near) {
      const score = candidate.distanceKm! + options.kmPerUtilization * byId.get(candidate.nodeId)!.load.utilization;
      if (score < bestScore) {
        best = candidate;
        bestScore = score;
      }
    }
    return best;
  };
}
