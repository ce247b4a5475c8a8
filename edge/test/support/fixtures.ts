import type { NodeLoad } from "@meridian/protocol";

/** A node's load report with everything idle, overridable per test. */
export function nodeLoad(over: Partial<NodeLoad> = {}): NodeLoad {
  return { state: "active", workers: 2, routers: 0, transports: 0, producers: 0, consumers: 0, utilization: 0, ...over };
}
