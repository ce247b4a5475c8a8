import type { NodeKind, NodeLoad } from "@meridian/protocol";
import type { GeoPoint } from "../../lib/geo.ts";
import type { Vec3 } from "./sphere.ts";

/** What a selection strategy sees of a node. */
export interface NodeCandidate {
  readonly id: string;
  readonly kind: NodeKind;
  readonly region: string;
  readonly lat: number;
  readonly lon: number;
  readonly healthy: boolean;
  readonly load: NodeLoad;
  /** Unit vector of (lat, lon), kept on registry records so a scan does no trigonometry. */
  readonly vec?: Vec3;
}

export interface SelectRequest {
  readonly kind: NodeKind;
  /** The participant's location; absent when nothing is known about it. */
  readonly point?: GeoPoint;
  /** An extra condition a wrapping strategy adds (e.g. capacity), checked without copying the list. */
  readonly accept?: (node: NodeCandidate) => boolean;
}

export interface Selection {
  readonly nodeId: string;
  readonly region: string;
  /** Distance from the participant, when their location is known. */
  readonly distanceKm?: number;
}

/**
 * A strategy is a pure function over the node list: easy to test, easy to swap, and
 * composable (a filter wraps a strategy; see capacity.ts).
 */
export type SelectStrategy = (nodes: Iterable<NodeCandidate>, request: SelectRequest) => Selection | undefined;

/** Healthy, of the wanted kind, and taking new work (draining nodes finish theirs). */
export function isEligible(node: NodeCandidate, request: SelectRequest): boolean {
  return node.healthy && node.kind === request.kind && node.load.state === "active" && (request.accept?.(node) ?? true);
}
