import type { Selection } from "./strategy.ts";

export interface AffinityOptions {
  /** The participant's own nearest node must be at least this much closer… */
  readonly minGainKm: number;
  /** …and this many times closer, before it counts as "much closer". */
  readonly minRatio: number;
}

export const DEFAULT_AFFINITY: AffinityOptions = { minGainKm: 2000, minRatio: 3 };

export interface AffinityDecision {
  /** The node this participant uses: the room's. */
  readonly nodeId: string;
  /**
   * Set when the participant's nearest node is much closer than the room's: a candidate
   * for cascading (a second router bridged to the room's), recorded for that decision.
   */
  readonly cascadeCandidate?: { readonly nodeId: string; readonly distanceKm: number; readonly roomNodeKm: number };
}

/**
 * Room affinity: participants of one room share its node, so their media meets in one
 * router. A participant much closer to another node still shares it (until cascading),
 * and that is recorded.
 */
export function decideAffinity(
  roomNode: Selection,
  nearest: Selection | undefined,
  options: AffinityOptions = DEFAULT_AFFINITY,
): AffinityDecision {
  const roomKm = roomNode.distanceKm;
  const nearKm = nearest?.distanceKm;
  if (!nearest || nearest.nodeId === roomNode.nodeId || roomKm === undefined || nearKm === undefined) {
    return { nodeId: roomNode.nodeId };
  }
  const muchCloser = roomKm - nearKm >= options.minGainKm && roomKm >= options.minRatio * Math.max(nearKm, 1);
  return muchCloser
    ? { nodeId: roomNode.nodeId, cascadeCandidate: { nodeId: nearest.nodeId, distanceKm: nearKm, roomNodeKm: roomKm } }
    : { nodeId: roomNode.nodeId };
}
