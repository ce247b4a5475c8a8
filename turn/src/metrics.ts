import { createServer, type Server } from "node:http";
import type { NodeState } from "@meridian/protocol";

/**
 * Prometheus text exposition (format 0.0.4) of the TURN agent, in the SFU node's style
 * (sfu-nodes/src/metrics.ts): every series carries `node`. Debian's coturn has no
 * exporter, so this is what a TURN node has: the agent's view of coturn's health and
 * the relay sockets the kernel holds for it.
 */

export type ProbeName = "stun" | "allocate";

export interface ProbeOutcome {
  /** Whether the probe passed in the latest health check (false when it was not reached). */
  readonly ok: boolean;
  /** How long its latest run took; undefined until it has run once. */
  readonly durationSeconds: number | undefined;
}

export interface TurnMetricsSnapshot {
  readonly nodeId: string;
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

/** Label values may hold anything NODE_REGION allows: the format's three escapes. */
function labelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export function renderTurnMetrics(s: TurnMetricsSnapshot): string {
  const node = `node="${labelValue(s.nodeId)}"`;
  const lines: string[] = [];
  const family = (name: string, type: "gauge" | "counter", help: string, samples: Array<[labels: string, value: number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}{${node}${labels}} ${value}`);
  };
  const one = (name: string, type: "gauge" | "counter", help: string, value: number) => family(name, type, help, [["", value]]);
  const flag = (value: boolean) => (value ? 1 : 0);
  const probes = (["stun", "allocate"] as const).flatMap((name) => (s.probes[name] ? [[name, s.probes[name]] as const] : []));

  family("meridian_turn_info", "gauge", "Who this TURN node registers as with the edge; always 1.", [
    [`,region="${labelValue(s.region)}",version="${labelValue(s.version)}"`, 1],
  ]);
  one("meridian_turn_up", "gauge", "1 when the latest health check of coturn passed.", flag(s.up));
  family(
    "meridian_turn_probe_success",
    "gauge",
    "1 when the probe passed in the latest health check (allocate runs only after stun passed, and only with TURN_SECRET).",
    probes.map(([name, p]) => [`,probe="${name}"`, flag(p.ok)]),
  );
  family(
    "meridian_turn_probe_duration_seconds",
    "gauge",
    "How long the latest run of the probe took, answered or timed out.",
    probes.flatMap(([name, p]) => (p.durationSeconds === undefined ? [] : [[`,probe="${name}"`, p.durationSeconds] as [string, number]])),
  );
  one("meridian_turn_consecutive_failures", "gauge", "Health checks failed in a row; the node drains at HEALTH_FAILURES.", s.consecutiveFailures);
  one("meridian_turn_health_checks_total", "counter", "Health checks run.", s.checks);
  one("meridian_turn_health_check_failures_total", "counter", "Health checks failed.", s.failedChecks);
  one("meridian_turn_draining", "gauge", "1 while the node reports itself draining to the edge (no new clients), 0 while active.", flag(s.state === "draining"));
  one("meridian_turn_edge_connected", "gauge", "1 while the control link to the edge is registered.", flag(s.edgeConnected));
  family(
    "meridian_turn_relay_allocations",
    "gauge",
    "Live TURN allocations: UDP sockets bound to a port of coturn's relay range (coturn binds one per allocation). Absent when /proc/net/udp cannot be read.",
    s.relayAllocations === undefined ? [] : [["", s.relayAllocations]],
  );
  one("meridian_turn_relay_ports", "gauge", "Ports in coturn's relay range: the most allocations the node can hold.", s.relayPorts);
  one("meridian_turn_utilization", "gauge", "Relayed bytes/s over TURN_BPS_CAPACITY (0..1), as last reported to the edge.", s.utilization);
  return lines.join("\n") + "\n";
}

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * GET /metrics, rendered per scrape; 404 for any other path, 405 for another method.
 * A local helper rather than the SFU node's: the TURN agent's rendering reads the
 * kernel's socket tables, so it is asynchronous.
 */
export function startMetricsServer(ip: string, port: number, render: () => Promise<string>, onError: (error: unknown) => void): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://metrics").pathname;
    if (path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { "content-type": "text/plain", allow: "GET, HEAD" }).end("method not allowed\n");
      return;
    }
    render().then(
      (body) => response.writeHead(200, { "content-type": CONTENT_TYPE }).end(request.method === "HEAD" ? undefined : body),
      (error: unknown) => {
        onError(error);
        response.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n");
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, ip, () => {
      server.off("error", reject);
      // Later errors (a failed accept) must not end the agent: its job is the edge link.
      server.on("error", onError);
      resolve(server);
    });
  });
}
