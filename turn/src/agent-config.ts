import * as v from "valibot";
import { Int, NodeEnvEntries, parseNodeEnv, type NodeIdentity } from "@meridian/node-agent";
import { loadPorts } from "./ports.ts";
import type { PortRange } from "./relay-sockets.ts";
import { DEFAULT_LIMITS } from "./render-config.ts";

/** The TURN agent's environment, validated once at start (same names as the SFU node's). */

const EnvSchema = v.object({
  ...NodeEnvEntries,
  TURN_PROBE_HOST: v.optional(v.pipe(v.string(), v.ip("must be an IP address")), "127.0.0.1"),
  TURN_PROBE_PORT: v.optional(Int(1, 65535)),
  HEALTH_INTERVAL_MS: v.optional(Int(100, 60_000), "2000"),
  HEALTH_FAILURES: v.optional(Int(1, 100), "3"),
  TURN_BPS_CAPACITY: v.optional(Int(1, Number.MAX_SAFE_INTEGER)),
  /** Comma-separated: the URLs browsers use for this node (turn:host:3478?transport=udp, …). */
  TURN_URLS: v.optional(v.string()),
  /** The edge's TURN_SECRET, read the same way (its first secret is the one it mints with). */
  TURN_SECRET: v.optional(v.string()),
  METRICS_IP: v.optional(v.pipe(v.string(), v.ip("must be an IP address")), "127.0.0.1"),
  METRICS_PORT: v.optional(Int(0, 65535)),
  /** coturn's min-port and max-port: the agent counts the relay sockets bound in between. */
  TURN_RELAY_MIN_PORT: v.optional(Int(1, 65535)),
  TURN_RELAY_MAX_PORT: v.optional(Int(1, 65535)),
});

export interface AgentConfig extends NodeIdentity {
  /** Where coturn answers STUN: the address it listens on, its listening port. */
  readonly probe: { readonly host: string; readonly port: number };
  readonly healthIntervalMs: number;
  /** Consecutive failed probes before the node reports itself draining. */
  readonly healthFailures: number;
  /** Bytes per second the node may relay (coturn's bps-capacity): utilization's denominator. */
  readonly bpsCapacity: number;
  /** What the edge hands out for this node; none means the node is not offered to browsers. */
  readonly urls: string[];
  /**
   * The secret the edge mints browsers' credentials with: the health probe signs a TURN
   * Allocate with a credential minted from it. Undefined: the probe is STUN only.
   */
  readonly turnSecret: string | undefined;
  /**
   * Prometheus /metrics: a local or private address, never the public one. Port 0: off.
   * The default port is ports.json's turn.prometheusPort, coturn's own exporter's: that
   * exporter is off wherever the agent serves (Debian's coturn has none), and where it is
   * on the agent is given port 0, so the node has one metrics port either way.
   */
  readonly metrics: { readonly ip: string; readonly port: number };
  /** coturn's relay range (min-port..max-port), from the same ports.json values its config has. */
  readonly relayPorts: PortRange;
}

function turnUrls(value: string | undefined): string[] {
  const urls = (value ?? "").split(/[\s,]+/).filter(Boolean);
  const bad = urls.find((u) => !/^turns?:[^\s]+$/.test(u));
  if (bad) throw new AgentConfigError(`invalid configuration: TURN_URLS: "${bad}" is not a turn: or turns: URL`);
  if (urls.length > 8) throw new AgentConfigError("invalid configuration: TURN_URLS: at most 8 URLs");
  return urls;
}

export class AgentConfigError extends Error {
  override name = "AgentConfigError";
}

export function loadAgentConfig(env: Record<string, string | undefined> = process.env): AgentConfig {
  const { env: e, identity } = parseNodeEnv(EnvSchema, env, (message) => new AgentConfigError(message));
  const ports = loadPorts().turn;
  const relayPorts = { min: e.TURN_RELAY_MIN_PORT ?? ports.relayMinPort, max: e.TURN_RELAY_MAX_PORT ?? ports.relayMaxPort };
  if (relayPorts.min > relayPorts.max) {
    throw new AgentConfigError(`invalid configuration: TURN_RELAY_MIN_PORT (${relayPorts.min}) exceeds TURN_RELAY_MAX_PORT (${relayPorts.max})`);
  }
  return {
    ...identity,
    probe: { host: e.TURN_PROBE_HOST, port: e.TURN_PROBE_PORT ?? ports.listeningPort },
    healthIntervalMs: e.HEALTH_INTERVAL_MS,
    healthFailures: e.HEALTH_FAILURES,
    bpsCapacity: e.TURN_BPS_CAPACITY ?? DEFAULT_LIMITS.bpsCapacity,
    urls: turnUrls(e.TURN_URLS),
    turnSecret: e.TURN_SECRET?.split(/[\s,]+/).find(Boolean),
    metrics: { ip: e.METRICS_IP, port: e.METRICS_PORT ?? ports.prometheusPort },
    relayPorts,
  };
}
