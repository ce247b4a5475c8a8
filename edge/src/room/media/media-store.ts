import type { Direction, MediaKind, MediaSource, ProducerInfo, RtpCapabilities } from "@meridian/protocol";
import type { RequestGeo } from "../../lib/geo.ts";

/**
 * Where a room's media lives, in its Durable Object's SQLite: the legs (one router on one
 * SFU node each), which participant is placed on which leg, every transport, producer
 * and consumer with its leg, the pipes joining legs and the producers carried over them.
 */

export interface LegRow {
  /** The router's id on its node. */
  readonly id: string;
  readonly nodeId: string;
  readonly rtpCapabilities: RtpCapabilities;
  readonly createdAt: number;
}

export interface TransportRow {
  readonly id: string;
  readonly participantId: string;
  readonly direction: Direction;
  readonly legId: string;
}

export interface ProducerRow extends ProducerInfo {
  readonly participantId: string;
  /** The leg it was produced on: where the original lives; other legs get copies through pipes. */
  readonly legId: string;
}

export interface ConsumerRow {
  readonly id: string;
  readonly participantId: string;
  readonly producerId: string;
  readonly transportId: string;
  readonly legId: string;
}

/** A pipe joins two legs: a pipe transport on each leg's node (`transportA` on `legA`), `legA < legB`. */
export interface PipeRow {
  readonly legA: string;
  readonly legB: string;
  readonly transportA: string;
  readonly transportB: string;
}

/** A producer carried to another leg: its pipe consumer on the origin leg feeds a copy with its id there. */
export interface PipedRow {
  readonly producerId: string;
  readonly toLeg: string;
  /** The pipe consumer on the producer's own leg. */
  readonly consumerId: string;
  /** Since when no subscriber on `toLeg` uses it (0: in use); closed after a grace period. */
  readonly idleSince: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS legs (
  id TEXT PRIMARY KEY,
  node_id TEXT NOT NULL UNIQUE,
  rtp_capabilities TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS placements (
  participant_id TEXT PRIMARY KEY,
  leg_id TEXT NOT NULL,
  geo TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS transports (
  id TEXT PRIMARY KEY,
  participant_id TEXT NOT NULL,
  direction TEXT NOT NULL,
  leg_id TEXT
);
CREATE TABLE IF NOT EXISTS producers (
  id TEXT PRIMARY KEY,
  participant_id TEXT NOT NULL,
  transport_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  source TEXT NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  leg_id TEXT
);
CREATE TABLE IF NOT EXISTS consumers (
  id TEXT PRIMARY KEY,
  participant_id TEXT NOT NULL,
  transport_id TEXT NOT NULL,
  producer_id TEXT NOT NULL,
  leg_id TEXT
);
CREATE TABLE IF NOT EXISTS pipes (
  leg_a TEXT NOT NULL,
  leg_b TEXT NOT NULL,
  transport_a TEXT NOT NULL,
  transport_b TEXT NOT NULL,
  PRIMARY KEY (leg_a, leg_b)
);
CREATE TABLE IF NOT EXISTS piped (
  producer_id TEXT NOT NULL,
  to_leg TEXT NOT NULL,
  consumer_id TEXT NOT NULL,
  idle_since INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (producer_id, to_leg)
);
CREATE INDEX IF NOT EXISTS transports_by_participant ON transports (participant_id);
CREATE INDEX IF NOT EXISTS producers_by_participant ON producers (participant_id);
CREATE INDEX IF NOT EXISTS consumers_by_participant ON consumers (participant_id);
CREATE INDEX IF NOT EXISTS consumers_by_producer ON consumers (producer_id, leg_id);
CREATE INDEX IF NOT EXISTS placements_by_leg ON placements (leg_id);
`;

type Row = Record<string, SqlStorageValue>;

const legFrom = (row: Row): LegRow => ({
  id: row.id as string,
  nodeId: row.node_id as string,
  rtpCapabilities: JSON.parse(row.rtp_capabilities as string) as RtpCapabilities,
  createdAt: row.created_at as number,
});

const transportFrom = (row: Row): TransportRow => ({
  id: row.id as string,
  participantId: row.participant_id as string,
  direction: row.direction as Direction,
  legId: row.leg_id as string,
});

const producerFrom = (row: Row): ProducerRow => ({
  id: row.id as string,
  participantId: row.participant_id as string,
  kind: row.kind as MediaKind,
  source: row.source as MediaSource,
  paused: row.paused === 1,
  legId: row.leg_id as string,
});

const consumerFrom = (row: Row): ConsumerRow => ({
  id: row.id as string,
  participantId: row.participant_id as string,
  producerId: row.producer_id as string,
  transportId: row.transport_id as string,
  legId: row.leg_id as string,
});

const pipeFrom = (row: Row): PipeRow => ({
  legA: row.leg_a as string,
  legB: row.leg_b as string,
  transportA: row.transport_a as string,
  transportB: row.transport_b as string,
});

const pipedFrom = (row: Row): PipedRow => ({
  producerId: row.producer_id as string,
  toLeg: row.to_leg as string,
  consumerId: row.consumer_id as string,
  idleSince: row.idle_since as number,
});

/** The two legs of a pipe in its stored order. */
export const pipeKey = (x: string, y: string): [string, string] => (x < y ? [x, y] : [y, x]);

export class MediaStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.ensureSchema();
  }

  /**
   * Creates the tables (again, after the room's storage was deleted). A room from before
   * cascading kept its one router on the room row: it becomes the room's one leg, so a
   * call in progress across an upgrade keeps its media.
   */
  ensureSchema(): void {
    this.#sql.exec(SCHEMA);
    for (const table of ["transports", "producers", "consumers"]) {
      const columns = this.#sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray().map((c) => c.name);
      if (!columns.includes("leg_id")) this.#sql.exec(`ALTER TABLE ${table} ADD COLUMN leg_id TEXT`);
    }
    const roomColumns = this.#sql.exec<{ name: string }>("PRAGMA table_info(room)").toArray().map((c) => c.name);
    if (!roomColumns.includes("router_id")) return;
    const old = this.#sql
      .exec<{ node_id: string; router_id: string; rtp_capabilities: string; created_at: number; placement: string | null }>(
        "SELECT node_id, router_id, rtp_capabilities, created_at, placement FROM room WHERE router_id IS NOT NULL",
      )
      .toArray()[0];
    if (!old) return;
    this.#sql.exec("INSERT OR IGNORE INTO legs (id, node_id, rtp_capabilities, created_at) VALUES (?, ?, ?, ?)", old.router_id, old.node_id, old.rtp_capabilities, old.created_at);
    for (const table of ["transports", "producers", "consumers"]) this.#sql.exec(`UPDATE ${table} SET leg_id = ? WHERE leg_id IS NULL`, old.router_id);
    this.#sql.exec("INSERT OR IGNORE INTO placements (participant_id, leg_id, geo) SELECT id, ?, ? FROM participants", old.router_id, old.placement ?? "{}");
    this.#sql.exec("UPDATE room SET node_id = NULL, router_id = NULL, rtp_capabilities = NULL WHERE one = 1");
  }

  // ── legs and placements ───────────────────────────────────────────────────

  addLeg(leg: LegRow): void {
    this.#sql.exec(
      "INSERT INTO legs (id, node_id, rtp_capabilities, created_at) VALUES (?, ?, ?, ?)",
      leg.id, leg.nodeId, JSON.stringify(leg.rtpCapabilities), leg.createdAt,
    );
  }

  leg(id: string): LegRow | undefined {
    const row = this.#sql.exec<Row>("SELECT * FROM legs WHERE id = ?", id).toArray()[0];
    return row ? legFrom(row) : undefined;
  }

  /** Oldest first: the first is the room's speaker leg. */
  legs(): LegRow[] {
    return this.#sql.exec<Row>("SELECT * FROM legs ORDER BY created_at, id").toArray().map(legFrom);
  }

  legOnNode(nodeId: string): LegRow | undefined {
    const row = this.#sql.exec<Row>("SELECT * FROM legs WHERE node_id = ?", nodeId).toArray()[0];
    return row ? legFrom(row) : undefined;
  }

  removeLeg(id: string): void {
    this.#sql.exec("DELETE FROM legs WHERE id = ?", id);
  }

  place(participantId: string, legId: string, geo: RequestGeo): void {
    this.#sql.exec("INSERT OR REPLACE INTO placements (participant_id, leg_id, geo) VALUES (?, ?, ?)", participantId, legId, JSON.stringify(geo));
  }

  placement(participantId: string): { legId: string; geo: RequestGeo } | undefined {
    const row = this.#sql.exec<{ leg_id: string; geo: string }>("SELECT leg_id, geo FROM placements WHERE participant_id = ?", participantId).toArray()[0];
    return row ? { legId: row.leg_id, geo: JSON.parse(row.geo) as RequestGeo } : undefined;
  }

  placedOn(legId: string): Array<{ participantId: string; geo: RequestGeo }> {
    return this.#sql
      .exec<{ participant_id: string; geo: string }>("SELECT participant_id, geo FROM placements WHERE leg_id = ? ORDER BY rowid", legId)
      .toArray()
      .map((r) => ({ participantId: r.participant_id, geo: JSON.parse(r.geo) as RequestGeo }));
  }

  countPlacedOn(legId: string): number {
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM placements WHERE leg_id = ?", legId).one().n;
  }

  // ── transports, producers, consumers ─────────────────────────────────────

  addTransport(t: TransportRow): void {
    this.#sql.exec("INSERT INTO transports (id, participant_id, direction, leg_id) VALUES (?, ?, ?, ?)", t.id, t.participantId, t.direction, t.legId);
  }

  transport(id: string): TransportRow | undefined {
    const row = this.#sql.exec<Row>("SELECT * FROM transports WHERE id = ?", id).toArray()[0];
    return row ? transportFrom(row) : undefined;
  }

  transportsOf(participantId: string, direction?: Direction): TransportRow[] {
    const rows = direction
      ? this.#sql.exec<Row>("SELECT * FROM transports WHERE participant_id = ? AND direction = ?", participantId, direction)
      : this.#sql.exec<Row>("SELECT * FROM transports WHERE participant_id = ?", participantId);
    return rows.toArray().map(transportFrom);
  }

  /** Drops a transport and what was sent or received over it (the node closes those too). */
  removeTransport(id: string): { producers: ProducerRow[]; consumers: ConsumerRow[] } {
    const producers = this.#producersWhere("transport_id", id);
    const consumers = this.#sql
      .exec<Row>("SELECT * FROM consumers WHERE transport_id = ? OR producer_id IN (SELECT id FROM producers WHERE transport_id = ?)", id, id)
      .toArray()
      .map(consumerFrom);
    this.#sql.exec("DELETE FROM consumers WHERE producer_id IN (SELECT id FROM producers WHERE transport_id = ?)", id);
    this.#sql.exec("DELETE FROM producers WHERE transport_id = ?", id);
    this.#sql.exec("DELETE FROM consumers WHERE transport_id = ?", id);
    this.#sql.exec("DELETE FROM transports WHERE id = ?", id);
    return { producers, consumers };
  }

  addProducer(p: ProducerRow & { transportId: string }): void {
    this.#sql.exec(
      "INSERT INTO producers (id, participant_id, transport_id, kind, source, paused, leg_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
      p.id, p.participantId, p.transportId, p.kind, p.source, p.paused ? 1 : 0, p.legId,
    );
  }

  producer(id: string): ProducerRow | undefined {
    return this.#producersWhere("id", id)[0];
  }

  producersOf(participantId: string): ProducerRow[] {
    return this.#producersWhere("participant_id", participantId);
  }

  producersOn(legId: string): ProducerRow[] {
    return this.#producersWhere("leg_id", legId);
  }

  /** Every producer of the room, in the order they were made. */
  producers(): ProducerRow[] {
    return this.#sql.exec<Row>("SELECT * FROM producers ORDER BY rowid").toArray().map(producerFrom);
  }

  setProducerPaused(id: string, paused: boolean): void {
    this.#sql.exec("UPDATE producers SET paused = ? WHERE id = ?", paused ? 1 : 0, id);
  }

  /** Drops a producer with its consumers; returns those consumers. */
  removeProducer(id: string): ConsumerRow[] {
    const consumers = this.#sql.exec<Row>("SELECT * FROM consumers WHERE producer_id = ?", id).toArray().map(consumerFrom);
    this.#sql.exec("DELETE FROM consumers WHERE producer_id = ?", id);
    this.#sql.exec("DELETE FROM producers WHERE id = ?", id);
    return consumers;
  }

  addConsumer(c: ConsumerRow): void {
    this.#sql.exec(
      "INSERT INTO consumers (id, participant_id, transport_id, producer_id, leg_id) VALUES (?, ?, ?, ?, ?)",
      c.id, c.participantId, c.transportId, c.producerId, c.legId,
    );
  }

  consumer(id: string): ConsumerRow | undefined {
    const row = this.#sql.exec<Row>("SELECT * FROM consumers WHERE id = ?", id).toArray()[0];
    return row ? consumerFrom(row) : undefined;
  }

  /** Whether anyone on `legId` still consumes `producerId`. */
  consumedOn(producerId: string, legId: string): boolean {
    return this.#sql.exec("SELECT 1 FROM consumers WHERE producer_id = ? AND leg_id = ? LIMIT 1", producerId, legId).toArray().length > 0;
  }

  /**
   * Forgets a participant's media: transports, producers, consumers and the consumers of
   * its producers, and its placement. Returns what was there, for closing on the nodes.
   */
  forgetParticipant(participantId: string): { transports: TransportRow[]; producers: ProducerRow[]; consumers: ConsumerRow[] } {
    const transports = this.transportsOf(participantId);
    const producers = this.producersOf(participantId);
    const consumers = this.#sql
      .exec<Row>("SELECT * FROM consumers WHERE participant_id = ? OR producer_id IN (SELECT id FROM producers WHERE participant_id = ?)", participantId, participantId)
      .toArray()
      .map(consumerFrom);
    this.#sql.exec("DELETE FROM consumers WHERE participant_id = ?", participantId);
    this.#sql.exec("DELETE FROM consumers WHERE producer_id IN (SELECT id FROM producers WHERE participant_id = ?)", participantId);
    this.#sql.exec("DELETE FROM producers WHERE participant_id = ?", participantId);
    this.#sql.exec("DELETE FROM transports WHERE participant_id = ?", participantId);
    this.#sql.exec("DELETE FROM placements WHERE participant_id = ?", participantId);
    return { transports, producers, consumers };
  }

  #producersWhere(column: "id" | "participant_id" | "transport_id" | "leg_id", value: string): ProducerRow[] {
    return this.#sql.exec<Row>(`SELECT * FROM producers WHERE ${column} = ? ORDER BY rowid`, value).toArray().map(producerFrom);
  }

  // ── pipes ─────────────────────────────────────────────────────────────────

  pipe(x: string, y: string): PipeRow | undefined {
    const [a, b] = pipeKey(x, y);
    const row = this.#sql.exec<Row>("SELECT * FROM pipes WHERE leg_a = ? AND leg_b = ?", a, b).toArray()[0];
    return row ? pipeFrom(row) : undefined;
  }

  addPipe(pipe: PipeRow): void {
    this.#sql.exec("INSERT INTO pipes (leg_a, leg_b, transport_a, transport_b) VALUES (?, ?, ?, ?)", pipe.legA, pipe.legB, pipe.transportA, pipe.transportB);
  }

  pipesOf(legId: string): PipeRow[] {
    return this.#sql.exec<Row>("SELECT * FROM pipes WHERE leg_a = ? OR leg_b = ?", legId, legId).toArray().map(pipeFrom);
  }

  removePipe(x: string, y: string): void {
    const [a, b] = pipeKey(x, y);
    this.#sql.exec("DELETE FROM pipes WHERE leg_a = ? AND leg_b = ?", a, b);
  }

  piped(producerId: string, toLeg: string): PipedRow | undefined {
    const row = this.#sql.exec<Row>("SELECT * FROM piped WHERE producer_id = ? AND to_leg = ?", producerId, toLeg).toArray()[0];
    return row ? pipedFrom(row) : undefined;
  }

  addPiped(row: PipedRow): void {
    this.#sql.exec(
      "INSERT OR REPLACE INTO piped (producer_id, to_leg, consumer_id, idle_since) VALUES (?, ?, ?, ?)",
      row.producerId, row.toLeg, row.consumerId, row.idleSince,
    );
  }

  /** The copies of a producer on other legs. */
  copiesOf(producerId: string): PipedRow[] {
    return this.#sql.exec<Row>("SELECT * FROM piped WHERE producer_id = ?", producerId).toArray().map(pipedFrom);
  }

  /** Everything carried into or out of a leg. */
  pipedTouching(legId: string): PipedRow[] {
    return this.#sql
      .exec<Row>("SELECT * FROM piped WHERE to_leg = ? OR producer_id IN (SELECT id FROM producers WHERE leg_id = ?)", legId, legId)
      .toArray()
      .map(pipedFrom);
  }

  setIdle(producerId: string, toLeg: string, since: number): void {
    this.#sql.exec("UPDATE piped SET idle_since = ? WHERE producer_id = ? AND to_leg = ?", since, producerId, toLeg);
  }

  /** Copies nobody has used since before `before`. */
  idleSince(before: number): PipedRow[] {
    return this.#sql.exec<Row>("SELECT * FROM piped WHERE idle_since > 0 AND idle_since <= ?", before).toArray().map(pipedFrom);
  }

  earliestIdle(): number | undefined {
    return this.#sql.exec<{ at: number | null }>("SELECT MIN(idle_since) AS at FROM piped WHERE idle_since > 0").one().at ?? undefined;
  }

  removePiped(producerId: string, toLeg: string): void {
    this.#sql.exec("DELETE FROM piped WHERE producer_id = ? AND to_leg = ?", producerId, toLeg);
  }

  /** Forgets every leg, placement, transport, producer, consumer and pipe: the room's media is gone. */
  clear(): void {
    for (const table of ["piped", "pipes", "consumers", "producers", "transports", "placements", "legs"]) this.#sql.exec(`DELETE FROM ${table}`);
  }
}
