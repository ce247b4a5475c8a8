import type { NodeState } from "@meridian/protocol";
import { NodeMetrics, type Family } from "@meridian/node-agent";

/**
 * The TURN agent's Prometheus series, in the SFU node's style: every series carries
 * `node`. Debian's coturn has no exporter, so this is what a TURN node has: the agent's
 * view of coturn's health and the relay sockets the kernel holds for it.
 */

export type ProbeName = "stun" | "allocate";

export interface ProbeOutcome {
  /** Whether the probe passed in the latest health check (false when it was not reached). */
  readonly ok: boolean;
  /** How long its latest run took; undefined until it has run once. */
  readonly durationSeconds: number | undefined;
}

export interface TurnMetricsSnapshot {
  readonly region: string;
  readonly version: string;
  /** The latest health check passed; false until one has. */
  readonly up: boolean;
  /** Only the probes this agent runs: no `allocate` without TURN_SECRET. */
  readonly probes: Partial<Record<ProbeName, ProbeOutcome>>;
  readonly consecutiveFailures: number;
  readonly checks: number;
  readonly failedChecks: number;
  readonly state: NodeState;
  readonly edgeConnected: boolean;
  /** Relay sockets in coturn's range; undefined when the kernel's tables could not be read. */
  readonly relayAllocations: number | undefined;
  readonly relayPorts: number;
  readonly utilization: number;
}

const flag = (value: boolean) => (value ? 1 : 0);
const probesRun = (s: TurnMetricsSnapshot) =>
  (["stun", "allocate"] as const).flatMap((probe) => (s.probes[probe] ? [{ probe, ...s.probes[probe] }] : []));

const FAMILIES: readonly Family<TurnMetricsSnapshot>[] = [
  {
    name: "meridian_turn_info",
    help: "Who this TURN node registers as with the edge; always 1.",
    labels: ["region", "version"],
    value: (s) => [[{ region: s.region, version: s.version }, 1]],
  },
  { name: "meridian_turn_up", help: "1 when the latest health check of coturn passed.", value: (s) => flag(s.up) },
  {
    name: "meridian_turn_probe_success",
    help: "1 when the probe passed in the latest health check (allocate runs only after stun passed, and only with TURN_SECRET).",
    labels: ["probe"],
    value: (s) => probesRun(s).map(({ probe, ok }) => [{ probe }, flag(ok)]),
  },
  {
    name: "meridian_turn_probe_duration_seconds",
    help: "How long the latest run of the probe took, answered or timed out.",
    labels: ["probe"],
    value: (s) => probesRun(s).flatMap(({ probe, durationSeconds }) => (durationSeconds === undefined ? [] : [[{ probe }, durationSeconds] as const])),
  },
  {
    name: "meridian_turn_consecutive_failures",
    help: "Health checks failed in a row; the node drains at HEALTH_FAILURES.",
    value: (s) => s.consecutiveFailures,
  },
  { name: "meridian_turn_health_checks_total", help: "Health checks run.", type: "counter", value: (s) => s.checks },
  { name: "meridian_turn_health_check_failures_total", help: "Health checks failed.", type: "counter", value: (s) => s.failedChecks },
  {
    name: "meridian_turn_draining",
    help: "1 while the node reports itself draining to the edge (no new clients), 0 while active.",
    value: (s) => flag(s.state === "draining"),
  },
  { name: "meridian_turn_edge_connected", help: "1 while the control link to the edge is registered.", value: (s) => flag(s.edgeConnected) },
  {
    name: "meridian_turn_relay_allocations",
    help: "Live TURN allocations: UDP sockets bound to a port of coturn's relay range (coturn binds one per allocation). Absent when /proc/net/udp cannot be read.",
    value: (s) => s.relayAllocations,
  },
  {
    name: "meridian_turn_relay_ports",
    help: "Ports in coturn's relay range: the most allocations the node can hold.",
    value: (s) => s.relayPorts,
  },
  {
    name: "meridian_turn_utilization",
    help: "Relayed bytes/s over TURN_BPS_CAPACITY (0..1), as last reported to the edge.",
    value: (s) => s.utilization,
  },
];

/** The agent's series for node `nodeId`; `sample` is read once per scrape. */
export function turnMetrics(nodeId: string, sample: () => Promise<TurnMetricsSnapshot>): NodeMetrics<TurnMetricsSnapshot> {
  return new NodeMetrics(nodeId, FAMILIES, sample);
}
