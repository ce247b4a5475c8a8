import { DurableObject } from "cloudflare:workers";
import { createLogger, errorFields, type Logger, type NodeLoad, type NodeRegistration } from "@meridian/protocol";
import type { GeoPoint } from "../lib/geo.ts";
import { chooseLeg, type LegChoice } from "./select/legs.ts";
import { nearestN } from "./select/nearest.ts";
import { placeRoom } from "./select/policy.ts";
import { toVec } from "./select/sphere.ts";
import type { NodeCandidate, SelectRequest, Selection } from "./select/strategy.ts";

export interface NodeRecord extends NodeCandidate {
  readonly version: string;
  readonly lastSeen: number;
  /** When the node went unhealthy (0 while healthy); evicted after a while. */
  readonly unhealthySince: number;
  readonly reportIntervalMs: number;
  /** TURN nodes: the URLs browsers use. */
  readonly urls?: string[];
  readonly publicAddress?: string;
  /** What the node says it can carry (SFU nodes), for operators and capacity planning. */
  readonly capacity?: { readonly workers: number; readonly consumersPerWorker: number };
}

interface NodeRow extends Record<string, SqlStorageValue> {
  id: string;
  record: string;
}

/** Load reports are missed when none came for this many intervals. */
export const MISSED_REPORTS = 3;
/** An unhealthy node is forgotten after this long (it registers again when it comes back). */
export const EVICT_AFTER_MS = 15 * 60_000;
const DEFAULT_REPORT_INTERVAL_MS = 5000;

/**
 * Index of every SFU and TURN node the edge knows, fed by the node DOs (register, load
 * reports, disconnects) and asked by room DOs which node should serve a participant.
 * Held in memory for selection, written through to SQLite so it survives eviction. Its
 * alarm marks nodes that stopped reporting unhealthy, and later forgets them.
 */
export class RegistryDO extends DurableObject<Env> {
  readonly #nodes = new Map<string, NodeRecord>();
  readonly #log: Logger;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#log = createLogger("registry", env.LOG_LEVEL);
    ctx.blockConcurrencyWhile(async () => {
      // Earlier versions kept columns; a record is now one JSON document per node.
      const columns = ctx.storage.sql.exec<{ name: string }>("PRAGMA table_info(nodes)").toArray().map((c) => c.name);
      if (columns.length > 0 && !columns.includes("record")) ctx.storage.sql.exec("DROP TABLE nodes");
      ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, record TEXT NOT NULL)");
      for (const row of ctx.storage.sql.exec<NodeRow>("SELECT * FROM nodes")) {
        const record = JSON.parse(row.record) as NodeRecord;
        this.#nodes.set(row.id, { ...record, vec: toVec(record) });
      }
    });
  }

  /** A node (re)connected and introduced itself. */
  async register(reg: NodeRegistration): Promise<void> {
    this.#save({
      id: reg.nodeId,
      kind: reg.kind,
      region: reg.region,
      lat: reg.lat,
      lon: reg.lon,
      version: reg.version,
      load: reg.load,
      healthy: true,
      lastSeen: Date.now(),
      unhealthySince: 0,
      reportIntervalMs: reg.reportIntervalMs ?? DEFAULT_REPORT_INTERVAL_MS,
      ...(reg.urls ? { urls: reg.urls } : {}),
      ...(reg.publicAddress ? { publicAddress: reg.publicAddress } : {}),
      ...(reg.capacity ? { capacity: reg.capacity } : {}),
    });
    this.#log.info("node registered", { nodeId: reg.nodeId, kind: reg.kind, region: reg.region });
    await this.#armAlarm();
  }

  /**
   * A load report from a connected node. False when the node is unknown (evicted while
   * still connected): the caller must register it again, or it is never chosen.
   */
  async report(nodeId: string, load: NodeLoad): Promise<boolean> {
    const node = this.#nodes.get(nodeId);
    if (!node) return false;
    this.#save({ ...node, load, healthy: true, unhealthySince: 0, lastSeen: Date.now() });
    await this.#armAlarm();
    return true;
  }

  /** The node's control socket is gone: it must not be chosen again until it reconnects. */
  disconnected(nodeId: string): void {
    this.#markUnhealthy(nodeId, "socket closed");
  }

  /** Where a new room should go (see select/policy.ts). */
  pick(request: SelectRequest): Selection | null {
    return placeRoom(this.#nodes.values(), request) ?? null;
  }

  /** The `count` nearest eligible nodes, with their URLs (TURN servers for a participant). */
  pickMany(request: SelectRequest, count: number): Array<Selection & { urls?: string[] }> {
    return nearestN(this.#nodes.values(), request, count).map((s) => {
      const urls = this.#nodes.get(s.nodeId)?.urls;
      return urls ? { ...s, urls } : s;
    });
  }

  /**
   * Where a participant of a room enters the media network: one of the room's legs (on
   * `legNodeIds`) or a new leg (see select/legs.ts). `exclude`: nodes not to use (the one
   * a participant is being moved away from).
   */
  placeLeg(request: { point?: GeoPoint; exclude?: readonly string[] }, legNodeIds: readonly string[]): LegChoice | null {
    const excluded = new Set(request.exclude ?? []);
    const select: SelectRequest = {
      kind: "sfu",
      ...(request.point ? { point: request.point } : {}),
      ...(excluded.size ? { accept: (node: NodeCandidate) => !excluded.has(node.id) } : {}),
    };
    return chooseLeg(this.#nodes.values(), select, legNodeIds) ?? null;
  }

  isHealthy(nodeId: string): boolean {
    return this.#nodes.get(nodeId)?.healthy ?? false;
  }

  list(): NodeRecord[] {
    return [...this.#nodes.values()];
  }

  /**
   * Marks nodes that missed their reports unhealthy, forgets long-dead ones. Either way
   * the node's DO hangs up on it: a silent node whose socket stays open would otherwise
   * keep its rooms for good (they move only when the socket goes).
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const hangUps: Array<{ nodeId: string; why: string }> = [];
    for (const node of [...this.#nodes.values()]) {
      if (node.healthy && now - node.lastSeen > MISSED_REPORTS * node.reportIntervalMs) {
        const why = `no load report for ${now - node.lastSeen} ms`;
        this.#markUnhealthy(node.id, why);
        hangUps.push({ nodeId: node.id, why });
      } else if (!node.healthy && node.unhealthySince && now - node.unhealthySince > EVICT_AFTER_MS) {
        this.#nodes.delete(node.id);
        this.ctx.storage.sql.exec("DELETE FROM nodes WHERE id = ?", node.id);
        this.#log.info("node evicted", { nodeId: node.id });
        // Normally long gone; one still on the line would report into the void.
        hangUps.push({ nodeId: node.id, why: "evicted from the registry" });
      }
    }
    await this.#armAlarm();
    // After the records are saved: the node DOs call back in (disconnected) meanwhile.
    const results = await Promise.allSettled(hangUps.map(({ nodeId, why }) => this.env.NODES.getByName(nodeId).hangUp(why)));
    results.forEach((result, i) => {
      if (result.status === "rejected") this.#log.error("could not hang up on a node", { nodeId: hangUps[i]!.nodeId, ...errorFields(result.reason) });
    });
  }

  #markUnhealthy(nodeId: string, why: string): void {
    const node = this.#nodes.get(nodeId);
    if (!node || !node.healthy) return;
    this.#save({ ...node, healthy: false, unhealthySince: Date.now() });
    this.#log.warn("node unhealthy", { nodeId, why });
  }

  #save(record: NodeRecord): void {
    const { vec: _vec, ...stored } = record;
    this.#nodes.set(record.id, { ...stored, vec: toVec(record) });
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO nodes (id, record) VALUES (?, ?)", record.id, JSON.stringify(stored));
  }

  /** The next moment a healthy node would count as silent, or an unhealthy one as gone. */
  async #armAlarm(): Promise<void> {
    let next = Infinity;
    for (const node of this.#nodes.values()) {
      next = Math.min(next, node.healthy ? node.lastSeen + MISSED_REPORTS * node.reportIntervalMs + 1 : node.unhealthySince + EVICT_AFTER_MS + 1);
    }
    if (next === Infinity) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }
}
