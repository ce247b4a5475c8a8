import { DurableObject } from "cloudflare:workers";
import type { NodeKind, NodeLoad, NodeRegistration } from "@meridian/protocol";
import { createLogger, type Logger } from "../lib/log.ts";
import { nearestN, selectNearest } from "./select/nearest.ts";
import type { NodeCandidate, SelectRequest, Selection } from "./select/strategy.ts";

export interface NodeRecord extends NodeCandidate {
  readonly version: string;
  readonly lastSeen: number;
  /** TURN nodes: the URLs browsers use. */
  readonly urls?: string[];
}

interface NodeRow extends Record<string, SqlStorageValue> {
  id: string;
  kind: string;
  region: string;
  lat: number;
  lon: number;
  version: string;
  load: string;
  healthy: number;
  last_seen: number;
  urls: string | null;
}

/**
 * Index of every SFU and TURN node the edge knows, fed by the node DOs (register, load
 * reports, disconnects) and asked by room DOs which node should serve a participant.
 * The index is held in memory for selection and written through to SQLite so it
 * survives eviction.
 */
export class RegistryDO extends DurableObject<Env> {
  readonly #nodes = new Map<string, NodeRecord>();
  readonly #log: Logger;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#log = createLogger("registry", env.LOG_LEVEL);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS nodes (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, region TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
        version TEXT NOT NULL, load TEXT NOT NULL, healthy INTEGER NOT NULL, last_seen INTEGER NOT NULL)`);
      const columns = ctx.storage.sql.exec<{ name: string }>("PRAGMA table_info(nodes)").toArray().map((c) => c.name);
      if (!columns.includes("urls")) ctx.storage.sql.exec("ALTER TABLE nodes ADD COLUMN urls TEXT");
      for (const row of ctx.storage.sql.exec<NodeRow>("SELECT * FROM nodes")) {
        this.#nodes.set(row.id, {
          id: row.id,
          kind: row.kind as NodeKind,
          region: row.region,
          lat: row.lat,
          lon: row.lon,
          version: row.version,
          load: JSON.parse(row.load) as NodeLoad,
          healthy: row.healthy === 1,
          lastSeen: row.last_seen,
          ...(row.urls ? { urls: JSON.parse(row.urls) as string[] } : {}),
        });
      }
    });
  }

  /** A node (re)connected and introduced itself. */
  register(reg: NodeRegistration): void {
    const record: NodeRecord = {
      id: reg.nodeId,
      kind: reg.kind,
      region: reg.region,
      lat: reg.lat,
      lon: reg.lon,
      version: reg.version,
      load: reg.load,
      healthy: true,
      lastSeen: Date.now(),
      ...(reg.urls ? { urls: reg.urls } : {}),
    };
    this.#nodes.set(record.id, record);
    this.ctx.storage.sql.exec(
      `INSERT OR REPLACE INTO nodes (id, kind, region, lat, lon, version, load, healthy, last_seen, urls)
       VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
      record.id, record.kind, record.region, record.lat, record.lon, record.version, JSON.stringify(record.load), record.lastSeen,
      record.urls ? JSON.stringify(record.urls) : null,
    );
    this.#log.info("node registered", { nodeId: record.id, region: record.region });
  }

  /** A load report from a connected node. */
  report(nodeId: string, load: NodeLoad): void {
    const node = this.#nodes.get(nodeId);
    if (!node) return;
    const updated: NodeRecord = { ...node, load, healthy: true, lastSeen: Date.now() };
    this.#nodes.set(nodeId, updated);
    this.ctx.storage.sql.exec(
      "UPDATE nodes SET load = ?, healthy = 1, last_seen = ? WHERE id = ?",
      JSON.stringify(load), updated.lastSeen, nodeId,
    );
  }

  /** The node's control socket is gone: it must not be chosen again until it reconnects. */
  disconnected(nodeId: string): void {
    const node = this.#nodes.get(nodeId);
    if (!node || !node.healthy) return;
    this.#nodes.set(nodeId, { ...node, healthy: false });
    this.ctx.storage.sql.exec("UPDATE nodes SET healthy = 0 WHERE id = ?", nodeId);
    this.#log.warn("node disconnected", { nodeId });
  }

  pick(request: SelectRequest): Selection | null {
    return selectNearest(this.#nodes.values(), request) ?? null;
  }

  /** The `count` nearest eligible nodes with their URLs (TURN servers for a participant). */
  pickMany(request: SelectRequest, count: number): Array<Selection & { urls?: string[] }> {
    return nearestN(this.#nodes.values(), request, count).map((s) => ({ ...s, ...(this.#nodes.get(s.nodeId)?.urls ? { urls: this.#nodes.get(s.nodeId)!.urls! } : {}) }));
  }

  isHealthy(nodeId: string): boolean {
    return this.#nodes.get(nodeId)?.healthy ?? false;
  }

  list(): NodeRecord[] {
    return [...this.#nodes.values()];
  }
}

/** The one registry instance. */
export function registryStub(env: Env): DurableObjectStub<RegistryDO> {
  return env.REGISTRY.get(env.REGISTRY.idFromName("global"));
}
