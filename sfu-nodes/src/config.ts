import { availableParallelism, hostname } from "node:os";
import * as v from "valibot";
import { Latitude, Longitude, NodeId, summarizeIssues } from "@meridian/protocol";
import { sfuPorts } from "./ports.ts";

/** Everything the node reads from its environment, validated once at start. */

const Int = (min: number, max: number) =>
  v.pipe(v.string(), v.trim(), v.regex(/^\d+$/, "must be an integer"), v.transform(Number), v.number(), v.minValue(min), v.maxValue(max));
const Num = v.pipe(v.string(), v.trim(), v.decimal("must be a number"), v.transform(Number));

const EnvSchema = v.object({
  EDGE_URL: v.optional(v.pipe(v.string(), v.url("must be a URL")), "ws://127.0.0.1:8787"),
  NODE_SECRET: v.pipe(v.string("is required (the edge's NODE_SECRET)"), v.minLength(16, "must be at least 16 characters")),
  NODE_ID: v.optional(v.string()),
  NODE_REGION: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64)), "local"),
  NODE_LAT: v.optional(v.pipe(Num, Latitude), "0"),
  NODE_LON: v.optional(v.pipe(Num, Longitude), "0"),
  MEDIASOUP_NUM_WORKERS: v.optional(Int(1, 256)),
  LISTEN_IP: v.optional(v.pipe(v.string(), v.ip("must be an IP address")), "127.0.0.1"),
  ANNOUNCED_ADDRESS: v.optional(v.pipe(v.string(), v.minLength(1))),
  RTC_PORT_BASE: v.optional(Int(1024, 65000)),
  METRICS_IP: v.optional(v.pipe(v.string(), v.ip("must be an IP address")), "127.0.0.1"),
  METRICS_PORT: v.optional(Int(0, 65535)),
  DRAIN_TIMEOUT_MS: v.optional(Int(0, 24 * 3600_000), "600000"),
  LOAD_REPORT_INTERVAL_MS: v.optional(Int(200, 60_000), "5000"),
  CONSUMERS_PER_WORKER: v.optional(Int(1, 100_000), "500"),
  LOG_LEVEL: v.optional(v.picklist(["debug", "info", "warn", "error", "silent"]), "info"),
  MEDIASOUP_LOG_LEVEL: v.optional(v.picklist(["debug", "warn", "error", "none"]), "warn"),
});

export interface NodeConfig {
  readonly edgeUrl: string;
  readonly secret: string;
  readonly nodeId: string;
  readonly region: string;
  readonly lat: number;
  readonly lon: number;
  readonly numWorkers: number;
  readonly listenIp: string;
  readonly announcedAddress: string | undefined;
  /** Worker i serves WebRTC on UDP and TCP port `rtcPortBase + i`. */
  readonly rtcPortBase: number;
  readonly loadReportIntervalMs: number;
  readonly consumersPerWorker: number;
  /** Prometheus /metrics: a local or private address, never the public one. Port 0: off. */
  readonly metricsIp: string;
  readonly metricsPort: number;
  /** After SIGTERM, how long rooms may finish on this node before they are moved. */
  readonly drainTimeoutMs: number;
  readonly logLevel: "debug" | "info" | "warn" | "error" | "silent";
  readonly mediasoupLogLevel: "debug" | "warn" | "error" | "none";
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function loadConfig(env: Record<string, string | undefined> = process.env): NodeConfig {
  if (!env.NODE_SECRET) throw new ConfigError("invalid configuration: NODE_SECRET is required (the secret the edge checks)");
  const picked = Object.fromEntries(
    Object.keys(EnvSchema.entries).flatMap((key) => (env[key] === undefined || env[key] === "" ? [] : [[key, env[key]]])),
  );
  const parsed = v.safeParse(EnvSchema, picked);
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${summarizeIssues(parsed.issues)}`);
  const e = parsed.output;

  const nodeId = e.NODE_ID ?? hostname().replace(/[^a-zA-Z0-9._-]/g, "-").slice(0, 63);
  if (!v.is(NodeId, nodeId)) throw new ConfigError(`invalid configuration: NODE_ID "${nodeId}" must be 1-63 of [a-zA-Z0-9._-]`);

  const wildcard = e.LISTEN_IP === "0.0.0.0" || e.LISTEN_IP === "::";
  if (wildcard && !e.ANNOUNCED_ADDRESS) {
    throw new ConfigError("invalid configuration: ANNOUNCED_ADDRESS is required when LISTEN_IP is a wildcard address");
  }
  const url = new URL(e.EDGE_URL);
  if (!["ws:", "wss:", "http:", "https:"].includes(url.protocol)) {
    throw new ConfigError("invalid configuration: EDGE_URL must be ws(s):// or http(s)://");
  }
  const ports = sfuPorts();
  const numWorkers = e.MEDIASOUP_NUM_WORKERS ?? Math.min(availableParallelism(), ports.maxWorkers);
  const rtcPortBase = e.RTC_PORT_BASE ?? ports.webrtcPortBase;
  if (rtcPortBase + numWorkers - 1 > 65535) throw new ConfigError("invalid configuration: RTC_PORT_BASE + workers exceeds 65535");

  return {
    edgeUrl: e.EDGE_URL,
    secret: e.NODE_SECRET,
    nodeId,
    region: e.NODE_REGION,
    lat: e.NODE_LAT,
    lon: e.NODE_LON,
    numWorkers,
    listenIp: e.LISTEN_IP,
    announcedAddress: e.ANNOUNCED_ADDRESS,
    rtcPortBase,
    loadReportIntervalMs: e.LOAD_REPORT_INTERVAL_MS,
    consumersPerWorker: e.CONSUMERS_PER_WORKER,
    metricsIp: e.METRICS_IP,
    metricsPort: e.METRICS_PORT ?? ports.metricsPort,
    drainTimeoutMs: e.DRAIN_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    mediasoupLogLevel: e.MEDIASOUP_LOG_LEVEL,
  };
}

/** The edge endpoint a node dials: EDGE_URL with a ws scheme and the connect path. */
export function edgeConnectUrl(edgeUrl: string): string {
  const url = new URL(edgeUrl);
  if (url.protocol === "http:") url.protocol = "ws:";
  if (url.protocol === "https:") url.protocol = "wss:";
  url.pathname = url.pathname.replace(/\/$/, "") + "/api/nodes/connect";
  return url.toString();
}
