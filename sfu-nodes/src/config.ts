import { availableParallelism } from "node:os";
import * as v from "valibot";
import { Int, NodeEnvEntries, parseNodeEnv, type NodeIdentity } from "@meridian/node-agent";
import { sfuPorts } from "./ports.ts";

/** Everything the node reads from its environment, validated once at start. */

const EnvSchema = v.object({
  ...NodeEnvEntries,
  MEDIASOUP_NUM_WORKERS: v.optional(Int(1, 256)),
  LISTEN_IP: v.optional(v.pipe(v.string(), v.ip("must be an IP address")), "127.0.0.1"),
  ANNOUNCED_ADDRESS: v.optional(v.pipe(v.string(), v.minLength(1))),
  RTC_PORT_BASE: v.optional(Int(1024, 65000)),
  METRICS_IP: v.optional(v.pipe(v.string(), v.ip("must be an IP address")), "127.0.0.1"),
  METRICS_PORT: v.optional(Int(0, 65535)),
  DRAIN_TIMEOUT_MS: v.optional(Int(0, 24 * 3600_000), "600000"),
  CONSUMERS_PER_WORKER: v.optional(Int(1, 100_000), "500"),
  MEDIASOUP_LOG_LEVEL: v.optional(v.picklist(["debug", "warn", "error", "none"]), "warn"),
  PIPE_LISTEN_IP: v.optional(v.pipe(v.string(), v.ip("must be an IP address"))),
  PIPE_ANNOUNCED_ADDRESS: v.optional(v.pipe(v.string(), v.ip("must be an IP address: other nodes connect to it"))),
  PIPE_PORT_MIN: v.optional(Int(1024, 65535)),
  PIPE_PORT_MAX: v.optional(Int(1024, 65535)),
  MAX_PIPED_PRODUCERS: v.optional(Int(0, 1_000_000), "10000"),
});

export interface NodeConfig extends NodeIdentity {
  readonly numWorkers: number;
  readonly listenIp: string;
  readonly announcedAddress: string | undefined;
  /** Worker i serves WebRTC on UDP and TCP port `rtcPortBase + i`. */
  readonly rtcPortBase: number;
  readonly consumersPerWorker: number;
  /** Prometheus /metrics: a local or private address, never the public one. Port 0: off. */
  readonly metricsIp: string;
  readonly metricsPort: number;
  /** After SIGTERM, how long rooms may finish on this node before they are moved. */
  readonly drainTimeoutMs: number;
  readonly mediasoupLogLevel: "debug" | "warn" | "error" | "none";
  /**
   * Cascading: where pipes from other SFU nodes arrive. One UDP port of the range per pipe
   * (so the range's size bounds the pipes); the announced address is what other nodes dial.
   */
  readonly pipe: {
    readonly ip: string;
    readonly announcedAddress: string | undefined;
    readonly portRange: { readonly min: number; readonly max: number };
    readonly maxPipedProducers: number;
  };
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function loadConfig(env: Record<string, string | undefined> = process.env): NodeConfig {
  const { env: e, identity } = parseNodeEnv(EnvSchema, env, (message) => new ConfigError(message));

  const wildcard = e.LISTEN_IP === "0.0.0.0" || e.LISTEN_IP === "::";
  if (wildcard && !e.ANNOUNCED_ADDRESS) {
    throw new ConfigError("invalid configuration: ANNOUNCED_ADDRESS is required when LISTEN_IP is a wildcard address");
  }
  const ports = sfuPorts();
  const numWorkers = e.MEDIASOUP_NUM_WORKERS ?? Math.min(availableParallelism(), ports.maxWorkers);
  const rtcPortBase = e.RTC_PORT_BASE ?? ports.webrtcPortBase;
  if (rtcPortBase + numWorkers - 1 > 65535) throw new ConfigError("invalid configuration: RTC_PORT_BASE + workers exceeds 65535");
  const pipeIp = e.PIPE_LISTEN_IP ?? e.LISTEN_IP;
  const pipeAnnounced = e.PIPE_ANNOUNCED_ADDRESS ?? (e.ANNOUNCED_ADDRESS && v.is(v.pipe(v.string(), v.ip()), e.ANNOUNCED_ADDRESS) ? e.ANNOUNCED_ADDRESS : undefined);
  if ((pipeIp === "0.0.0.0" || pipeIp === "::") && !pipeAnnounced) {
    throw new ConfigError("invalid configuration: PIPE_ANNOUNCED_ADDRESS (an IP other nodes reach) is required when pipes listen on a wildcard address");
  }
  const pipeMin = e.PIPE_PORT_MIN ?? ports.pipePortMin;
  const pipeMax = e.PIPE_PORT_MAX ?? ports.pipePortMax;
  if (pipeMin > pipeMax) throw new ConfigError(`invalid configuration: PIPE_PORT_MIN (${pipeMin}) exceeds PIPE_PORT_MAX (${pipeMax})`);

  return {
    ...identity,
    numWorkers,
    listenIp: e.LISTEN_IP,
    announcedAddress: e.ANNOUNCED_ADDRESS,
    rtcPortBase,
    consumersPerWorker: e.CONSUMERS_PER_WORKER,
    metricsIp: e.METRICS_IP,
    metricsPort: e.METRICS_PORT ?? ports.metricsPort,
    drainTimeoutMs: e.DRAIN_TIMEOUT_MS,
    mediasoupLogLevel: e.MEDIASOUP_LOG_LEVEL,
    pipe: {
      ip: pipeIp,
      announcedAddress: pipeAnnounced,
      portRange: { min: pipeMin, max: pipeMax },
      maxPipedProducers: e.MAX_PIPED_PRODUCERS,
    },
  };
}

