import { hostname } from "node:os";
import * as v from "valibot";
import { LOG_LEVELS, Latitude, Longitude, NodeId, summarizeIssues, type LogLevel } from "@meridian/protocol";

/**
 * Environment parsing shared by every kind of node (the SFU node and the TURN agent read
 * the same names for who they are, where they are and which edge they dial).
 */

export const Int = (min: number, max: number) =>
  v.pipe(v.string(), v.trim(), v.regex(/^\d+$/, "must be an integer"), v.transform(Number), v.number(), v.minValue(min), v.maxValue(max));
const Num = v.pipe(v.string(), v.trim(), v.decimal("must be a number"), v.transform(Number));

/** Identity, location and edge: the variables every node has. */
export const NodeEnvEntries = {
  EDGE_URL: v.optional(v.pipe(v.string(), v.url("must be a URL")), "ws://127.0.0.1:8787"),
  NODE_SECRET: v.pipe(v.string(), v.minLength(16, "must be at least 16 characters")),
  NODE_ID: v.optional(v.string()),
  NODE_REGION: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64)), "local"),
  NODE_LAT: v.optional(v.pipe(Num, Latitude), "0"),
  NODE_LON: v.optional(v.pipe(Num, Longitude), "0"),
  LOAD_REPORT_INTERVAL_MS: v.optional(Int(200, 60_000), "5000"),
  LOG_LEVEL: v.optional(v.picklist(LOG_LEVELS), "info"),
};

/** Who a node is, where it is, which edge it dials: common to every node's configuration. */
export interface NodeIdentity {
  readonly edgeUrl: string;
  readonly secret: string;
  readonly nodeId: string;
  readonly region: string;
  readonly lat: number;
  readonly lon: number;
  readonly loadReportIntervalMs: number;
  readonly logLevel: LogLevel;
}

/**
 * Validates `env` against a schema built on NodeEnvEntries (empty values count as unset),
 * resolves the node id (default: the host name) and checks the edge URL's scheme. Every
 * failure is one error naming the variable, made by `fail`. Returns the parsed variables
 * and the node's identity.
 */
export function parseNodeEnv<S extends v.ObjectSchema<typeof NodeEnvEntries & v.ObjectEntries, undefined>>(
  schema: S,
  env: Record<string, string | undefined>,
  fail: (message: string) => Error,
): { env: v.InferOutput<S>; identity: NodeIdentity } {
  if (!env.NODE_SECRET) throw fail("invalid configuration: NODE_SECRET is required (the secret the edge checks)");
  const picked = Object.fromEntries(
    Object.keys(schema.entries).flatMap((key) => (env[key] === undefined || env[key] === "" ? [] : [[key, env[key]]])),
  );
  const parsed = v.safeParse(schema, picked);
  if (!parsed.success) throw fail(`invalid configuration: ${summarizeIssues(parsed.issues)}`);
  const e = parsed.output as v.InferOutput<S> & v.InferOutput<v.ObjectSchema<typeof NodeEnvEntries, undefined>>;
  const nodeId = e.NODE_ID ?? hostname().replace(/[^a-zA-Z0-9._-]/g, "-").slice(0, 63);
  if (!v.is(NodeId, nodeId)) throw fail(`invalid configuration: NODE_ID "${nodeId}" must be 1-63 of [a-zA-Z0-9._-]`);
  if (!["ws:", "wss:", "http:", "https:"].includes(new URL(e.EDGE_URL).protocol)) {
    throw fail("invalid configuration: EDGE_URL must be ws(s):// or http(s)://");
  }
  const identity: NodeIdentity = {
    edgeUrl: e.EDGE_URL,
    secret: e.NODE_SECRET,
    nodeId,
    region: e.NODE_REGION,
    lat: e.NODE_LAT,
    lon: e.NODE_LON,
    loadReportIntervalMs: e.LOAD_REPORT_INTERVAL_MS,
    logLevel: e.LOG_LEVEL,
  };
  return { env: e, identity };
}
