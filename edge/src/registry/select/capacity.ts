import type { NodeCandidate, SelectStrategy } from "./strategy.ts";

/** Above this utilization a node is passed over while any other has room. */
export const DEFAULT_CAPACITY_THRESHOLD = 0.85;

/**
 * Wraps a strategy so that nodes above `threshold` utilization are skipped. When every
 * node is that busy the inner strategy sees them all: a loaded node beats no call.
 */
export function withCapacityFilter(inner: SelectStrategy, threshold = DEFAULT_CAPACITY_THRESHOLD): SelectStrategy {
  const roomy = (n: NodeCandidate) => n.load.utilization <= threshold;
  return (nodes, request) => {
    const accept = request.accept ? (n: NodeCandidate) => roomy(n) && request.accept!(n) : roomy;
    return inner(nodes, { ...request, accept }) ?? inner(nodes, request);
  };
}
