import type { Direction, MediaKind, MediaSource, PeerInfo, ProducerInfo, RtpCapabilities } from "@meridian/protocol";

/** A room's durable state in its Durable Object's SQLite: nothing lives only in memory. */

export interface RoomRow {
  roomId: string;
  createdAt: number;
  nodeId: string | null;
  routerId: string | null;
  rtpCapabilities: RtpCapabilities | null;
}

export interface ParticipantRow {
  id: string;
  /** Empty until `join`. */
  displayName: string;
  /** 0 until `join`: a socket that said hello but is still on the pre-join page. */
  joinedAt: number;
}

export interface TransportRow {
  id: string;
  participantId: string;
  direction: Direction;
}

export interface ProducerRow extends ProducerInfo {
  participantId: string;
}

export interface ConsumerRow {
  id: string;
  participantId: string;
  producerId: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS room (
  one INTEGER PRIMARY KEY CHECK (one = 1),
  room_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  node_id TEXT,
  router_id TEXT,
  rtp_capabilities TEXT
);
CREATE TABLE IF NOT EXISTS participants (
  id TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  joined_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS transports (
  id TEXT PRIMARY KEY,
  participant_id TEXT NOT NULL,
  direction TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS producers (
  id TEXT PRIMARY KEY,
  participant_id TEXT NOT NULL,
  transport_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS consumers (
  id TEXT PRIMARY KEY,
  participant_id TEXT NOT NULL,
  transport_id TEXT NOT NULL,
  producer_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transports_by_participant ON transports (participant_id);
CREATE INDEX IF NOT EXISTS producers_by_participant ON producers (participant_id);
CREATE INDEX IF NOT EXISTS consumers_by_participant ON consumers (participant_id);
`;

type Row = Record<string, SqlStorageValue>;

export class RoomStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(SCHEMA);
  }

  room(): RoomRow | undefined {
    const row = this.#sql.exec<Row>("SELECT * FROM room WHERE one = 1").toArray()[0];
    if (!row) return undefined;
    return {
      roomId: row.room_id as string,
      createdAt: row.created_at as number,
      nodeId: row.node_id as string | null,
      routerId: row.router_id as string | null,
      rtpCapabilities: row.rtp_capabilities ? (JSON.parse(row.rtp_capabilities as string) as RtpCapabilities) : null,
    };
  }

  createRoom(roomId: string, now: number): void {
    this.#sql.exec("INSERT OR IGNORE INTO room (one, room_id, created_at) VALUES (1, ?, ?)", roomId, now);
  }

  setRouter(nodeId: string, routerId: string, rtpCapabilities: RtpCapabilities): void {
    this.#sql.exec(
      "UPDATE room SET node_id = ?, router_id = ?, rtp_capabilities = ? WHERE one = 1",
      nodeId, routerId, JSON.stringify(rtpCapabilities),
    );
  }

  clearRouter(): void {
    this.#sql.exec("UPDATE room SET node_id = NULL, router_id = NULL, rtp_capabilities = NULL WHERE one = 1");
  }

  addParticipant(p: ParticipantRow): void {
    this.#sql.exec("INSERT INTO participants (id, display_name, joined_at) VALUES (?, ?, ?)", p.id, p.displayName, p.joinedAt);
  }

  participant(id: string): ParticipantRow | undefined {
    const row = this.#sql.exec<Row>("SELECT * FROM participants WHERE id = ?", id).toArray()[0];
    return row ? { id: row.id as string, displayName: row.display_name as string, joinedAt: row.joined_at as number } : undefined;
  }

  markJoined(id: string, displayName: string, now: number): void {
    this.#sql.exec("UPDATE participants SET display_name = ?, joined_at = ? WHERE id = ?", displayName, now, id);
  }

  /** Everyone holding a session, joined or still on the pre-join page. */
  participantCount(): number {
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM participants").one().n;
  }

  joinedCount(): number {
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM participants WHERE joined_at > 0").one().n;
  }

  /** Removes a participant with everything they own; returns their transport ids. */
  removeParticipant(id: string): string[] {
    const transports = this.#sql
      .exec<{ id: string }>("SELECT id FROM transports WHERE participant_id = ?", id)
      .toArray()
      .map((r) => r.id);
    this.#sql.exec("DELETE FROM consumers WHERE participant_id = ?", id);
    this.#sql.exec("DELETE FROM consumers WHERE producer_id IN (SELECT id FROM producers WHERE participant_id = ?)", id);
    this.#sql.exec("DELETE FROM producers WHERE participant_id = ?", id);
    this.#sql.exec("DELETE FROM transports WHERE participant_id = ?", id);
    this.#sql.exec("DELETE FROM participants WHERE id = ?", id);
    return transports;
  }

  /** Everyone who joined the room but `exceptId`, with what they are sending. */
  peers(exceptId?: string): PeerInfo[] {
    const peers = new Map<string, PeerInfo>();
    for (const row of this.#sql.exec<Row>("SELECT * FROM participants WHERE joined_at > 0 ORDER BY joined_at")) {
      if (row.id === exceptId) continue;
      peers.set(row.id as string, { id: row.id as string, displayName: row.display_name as string, producers: [] });
    }
    for (const p of this.#sql.exec<Row>("SELECT * FROM producers")) {
      peers.get(p.participant_id as string)?.producers.push({
        id: p.id as string,
        kind: p.kind as MediaKind,
        source: p.source as MediaSource,
      });
    }
    return [...peers.values()];
  }

  addTransport(t: TransportRow): void {
    this.#sql.exec("INSERT INTO transports (id, participant_id, direction) VALUES (?, ?, ?)", t.id, t.participantId, t.direction);
  }

  transport(id: string): TransportRow | undefined {
    const row = this.#sql.exec<Row>("SELECT * FROM transports WHERE id = ?", id).toArray()[0];
    return row ? { id: row.id as string, participantId: row.participant_id as string, direction: row.direction as Direction } : undefined;
  }

  transportsOf(participantId: string, direction: Direction): TransportRow[] {
    return this.#sql
      .exec<Row>("SELECT * FROM transports WHERE participant_id = ? AND direction = ?", participantId, direction)
      .toArray()
      .map((row) => ({ id: row.id as string, participantId, direction }));
  }

  /** Drops a transport and what was sent or received over it (the node closes those too). */
  removeTransport(id: string): ProducerRow[] {
    const producers = this.#producersWhere("transport", id);
    this.#sql.exec("DELETE FROM consumers WHERE producer_id IN (SELECT id FROM producers WHERE transport_id = ?)", id);
    this.#sql.exec("DELETE FROM producers WHERE transport_id = ?", id);
    this.#sql.exec("DELETE FROM consumers WHERE transport_id = ?", id);
    this.#sql.exec("DELETE FROM transports WHERE id = ?", id);
    return producers;
  }

  addProducer(p: ProducerRow & { transportId: string }): void {
    this.#sql.exec(
      "INSERT INTO producers (id, participant_id, transport_id, kind, source) VALUES (?, ?, ?, ?, ?)",
      p.id, p.participantId, p.transportId, p.kind, p.source,
    );
  }

  producer(id: string): ProducerRow | undefined {
    return this.#producersWhere("id", id)[0];
  }

  producerBySource(participantId: string, source: MediaSource): ProducerRow | undefined {
    return this.#producersWhere("participant", participantId).find((p) => p.source === source);
  }

  removeProducer(id: string): void {
    this.#sql.exec("DELETE FROM consumers WHERE producer_id = ?", id);
    this.#sql.exec("DELETE FROM producers WHERE id = ?", id);
  }

  addConsumer(c: ConsumerRow & { transportId: string }): void {
    this.#sql.exec(
      "INSERT INTO consumers (id, participant_id, transport_id, producer_id) VALUES (?, ?, ?, ?)",
      c.id, c.participantId, c.transportId, c.producerId,
    );
  }

  consumer(id: string): ConsumerRow | undefined {
    const row = this.#sql.exec<Row>("SELECT * FROM consumers WHERE id = ?", id).toArray()[0];
    return row
      ? { id: row.id as string, participantId: row.participant_id as string, producerId: row.producer_id as string }
      : undefined;
  }

  #producersWhere(column: "id" | "participant" | "transport", value: string): ProducerRow[] {
    const where = { id: "id", participant: "participant_id", transport: "transport_id" }[column];
    return this.#sql
      .exec<Row>(`SELECT * FROM producers WHERE ${where} = ?`, value)
      .toArray()
      .map((row) => ({
        id: row.id as string,
        participantId: row.participant_id as string,
        kind: row.kind as MediaKind,
        source: row.source as MediaSource,
      }));
  }
}
