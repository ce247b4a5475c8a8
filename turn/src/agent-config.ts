import { hostname } from "node:os";
import * as v from "valibot";
import { Latitude, Longitude, NodeId, summarizeIssues } from "@meridian/protocol";
import { loadPorts } from "./ports.ts";
import { DEFAULT_LIMITS } from "./render-config.ts";

/** The TURN agent's environment, validated once at start (same names as the SFU node's). */

const Int = (min: number, max: number) =>
  v.pipe(v.string(), v.trim(), v.regex(/^\d+$/, "must be an integer"), v.transform(Number), v.number(), v.minValue(min), v.maxValue(max));
const Num = v.pipe(v.string(), v.trim(), v.decimal("must be a number"), v.transform(Number));

const EnvSchema = v.object({
  EDGE_URL: v.optional(v.pipe(v.string(), v.url("must be a URL")), "ws://127.0.0.1:8787"),
  NODE_SECRET: v.pipe(v.string(), v.minLength(16, "must be at least 16 characters")),
  NODE_ID: v.optional(v.string()),
  NODE_REGION: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64)), "local"),
  NODE_LAT: v.optional(v.pipe(Num, Latitude), "0"),
  NODE_LON: v.optional(v.pipe(Num, Longitude), "0"),
  TURN_PROBE_HOST: v.optional(v.pipe(v.string(), v.ip("must be an IP address")), "127.0.0.1"),
  TURN_PROBE_PORT: v.optional(Int(1, 65535)),
  HEALTH_INTERVAL_MS: v.optional(Int(100, 60_000), "2000"),
  HEALTH_FAILURES: v.optional(Int(1, 100), "3"),
  LOAD_REPORT_INTERVAL_MS: v.optional(Int(200, 60_000), "5000"),
  TURN_BPS_CAPACITY: v.optional(Int(1, Number.MAX_SAFE_INTEGER)),
  /** Comma-separated: the URLs browsers use for this node (turn:host:3478?transport=udp, …). */
  TURN_URLS: v.optional(v.string()),
  LOG_LEVEL: v.optional(v.picklist(["debug", "info", "warn", "error", "silent"]), "info"),
});

export interface AgentConfig {
  readonly edgeUrl: string;
  readonly secret: string;
  readonly nodeId: string;
  readonly region: string;
  readonly lat: number;
  readonly lon: number;
  /** Where coturn answers STUN: the address it listens on, its listening port. */
  readonly probe: { readonly host: string; readonly port: number };
  readonly healthIntervalMs: number;
  /** Consecutive failed probes before the node reports itself draining. */
  readonly healthFailures: number;
  readonly loadReportIntervalMs: number;
  /** Bytes per second the node may relay (coturn's bps-capacity): utilization's denominator. */
  readonly bpsCapacity: number;
  /** What the edge hands out for this node; none means the node is not offered to browsers. */
  readonly urls: string[];
  readonly logLevel: "debug" | "info" | "warn" | "error" | "silent";
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
  if (!env.NODE_SECRET) throw new AgentConfigError("invalid configuration: NODE_SECRET is required (the secret the edge checks)");
  const picked = Object.fromEntries(
    Object.keys(EnvSchema.entries).flatMap((key) => (env[key] === undefined || env[key] === "" ? [] : [[key, env[key]]])),
  );
  const parsed = v.safeParse(EnvSchema, picked);
  if (!parsed.success) throw new AgentConfigError(`invalid configuration: ${summarizeIssues(parsed.issues)}`);
  const e = parsed.output;
  const nodeId = e.NODE_ID ?? hostname().replace(/[^a-zA-Z0-9._-]/g, "-").slice(0, 63);
  if (!v.is(NodeId, nodeId)) throw new AgentConfigError(`invalid configuration: NODE_ID "${nodeId}" must be 1-63 of [a-zA-Z0-9._-]`);
  const url = new URL(e.EDGE_URL);
  if (!["ws:", "wss:", "http:", "https:"].includes(url.protocol)) {
    throw new AgentConfigError("invalid configuration: EDGE_URL must be ws(s):// or http(s)://");
  }
  return {
    edgeUrl: e.EDGE_URL,
    secret: e.NODE_SECRET,
    nodeId,
    region: e.NODE_REGION,
    lat: e.NODE_LAT,
    lon: e.NODE_LON,
    probe: { host: e.TURN_PROBE_HOST, port: e.TURN_PROBE_PORT ?? loadPorts().turn.listeningPort },
    healthIntervalMs: e.HEALTH_INTERVAL_MS,
    healthFailures: e.HEALTH_FAILURES,
    loadReportIntervalMs: e.LOAD_REPORT_INTERVAL_MS,
    bpsCapacity: e.TURN_BPS_CAPACITY ?? DEFAULT_LIMITS.bpsCapacity,
    urls: turnUrls(e.TURN_URLS),
    logLevel: e.LOG_LEVEL,
  };
}
