import type { Avatar, ChatMessage, LobbyEntry, PeerInfo, Presence, ProducerInfo, Role, RoomSettings } from "@meridian/protocol";

/**
 * A room's durable state in its Durable Object's SQLite: nothing lives only in memory.
 * Its media (legs, transports, producers, consumers, pipes) is media/media-store.ts.
 */

export interface RoomRow {
  roomId: string;
  createdAt: number;
  settings: RoomSettings;
  /** When the first participant joined (the room "started"), 0 before. */
  startedAt: number;
  endedAt: number;
  owner: string | null;
}

export type ParticipantState = "prejoin" | "lobby" | "joined";

export interface ParticipantRow {
  id: string;
  identity: string;
  displayName: string;
  role: Role;
  avatar: Avatar;
  state: ParticipantState;
  presence: Presence;
  /** When the participant entered the call (state joined), or the lobby. */
  since: number;
  /** When its socket dropped (presence reconnecting). */
  disconnectedAt: number;
  resumeHash: string;
}

/** Who a logged event is for. */
export type Audience =
  | { readonly to: "all" }
  | { readonly to: "joined"; readonly except?: string }
  | { readonly to: "staff" }
  | { readonly to: "one"; readonly id: string };

export interface LoggedEvent {
  seq: number;
  event: string;
  data: unknown;
  audience: Audience;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS room (
  one INTEGER PRIMARY KEY CHECK (one = 1),
  room_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  settings TEXT NOT NULL,
  started_at INTEGER NOT NULL DEFAULT 0,
  ended_at INTEGER NOT NULL DEFAULT 0,
  owner TEXT
);
CREATE TABLE IF NOT EXISTS participants (
  id TEXT PRIMARY KEY,
  identity TEXT NOT NULL,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL,
  avatar TEXT NOT NULL,
  state TEXT NOT NULL,
  presence TEXT NOT NULL,
  since INTEGER NOT NULL,
  disconnected_at INTEGER NOT NULL DEFAULT 0,
  resume_hash TEXT NOT NULL
);
-- One log for everything the room tells its participants. Chat messages live in it too
-- (one write per message) and are never pruned; other events are kept for resume only.
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event TEXT NOT NULL,
  data TEXT NOT NULL,
  audience TEXT NOT NULL,
  at INTEGER NOT NULL,
  identity TEXT,
  client_id TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS chat_once ON events (identity, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_kind ON events (event, seq);
CREATE TABLE IF NOT EXISTS log_state (one INTEGER PRIMARY KEY CHECK (one = 1), pruned_through INTEGER NOT NULL);
-- The highest seq handed out, reserved in blocks: a chat message is delivered before its
-- write commits, so a seq that reached a browser but never got stored is never reused.
CREATE TABLE IF NOT EXISTS seq_block (one INTEGER PRIMARY KEY CHECK (one = 1), reserved_through INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bans (identity TEXT PRIMARY KEY, at INTEGER NOT NULL);
`;

type Row = Record<string, SqlStorageValue>;

function participantFrom(row: Row): ParticipantRow {
  return {
    id: row.id as string,
    identity: row.identity as string,
    displayName: row.display_name as string,
    role: row.role as Role,
    avatar: JSON.parse(row.avatar as string) as Avatar,
    state: row.state as ParticipantState,
    presence: row.presence as Presence,
    since: row.since as number,
    disconnectedAt: row.disconnected_at as number,
    resumeHash: row.resume_hash as string,
  };
}

type StoredChat = Omit<ChatMessage, "seq">;

/** A chat row's message; its seq is the row's (unknown when the message was stored). */
function chatFrom(row: Row): ChatMessage {
  return { seq: row.seq as number, ...(JSON.parse(row.data as string) as StoredChat) };
}

/** Seqs reserved per durable write; each wake of the room starts a new block (gaps are fine). */
const SEQ_BLOCK = 256;

export class RoomStore {
  readonly #sql: SqlStorage;
  /** Participants are read on every request: cached, and dropped on every write. */
  readonly #participants = new Map<string, ParticipantRow | undefined>();
  /** The next seq to hand out and the end of the reserved block; 0/−1 until the first. */
  #nextSeq = 0;
  #reservedThrough = -1;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.ensureSchema();
  }

  /** Creates the tables (again, after the room's storage was deleted). */
  ensureSchema(): void {
    this.#participants.clear();
    this.#nextSeq = 0;
    this.#reservedThrough = -1;
    this.#sql.exec(SCHEMA);
    const columns = this.#sql.exec<{ name: string }>("PRAGMA table_info(room)").toArray().map((c) => c.name);
    if (!columns.includes("owner")) this.#sql.exec("ALTER TABLE room ADD COLUMN owner TEXT");
  }

  // ── room ──────────────────────────────────────────────────────────────────

  room(): RoomRow | undefined {
    const row = this.#sql.exec<Row>("SELECT * FROM room WHERE one = 1").toArray()[0];
    if (!row) return undefined;
    return {
      roomId: row.room_id as string,
      createdAt: row.created_at as number,
      settings: JSON.parse(row.settings as string) as RoomSettings,
      startedAt: row.started_at as number,
      endedAt: row.ended_at as number,
      owner: (row.owner as string | null) ?? null,
    };
  }

  /** `owner`: the integrator API key that created the room (null: made from the web app). */
  createRoom(roomId: string, settings: RoomSettings, now: number, owner: string | null = null): void {
    this.#sql.exec(
      "INSERT OR IGNORE INTO room (one, room_id, created_at, settings, owner) VALUES (1, ?, ?, ?, ?)",
      roomId, now, JSON.stringify(settings), owner,
    );
  }

  setSettings(settings: RoomSettings): void {
    this.#sql.exec("UPDATE room SET settings = ? WHERE one = 1", JSON.stringify(settings));
  }

  markStarted(now: number): boolean {
    return this.#sql.exec("UPDATE room SET started_at = ? WHERE one = 1 AND started_at = 0", now).rowsWritten > 0;
  }

  markEnded(now: number): void {
    this.#sql.exec("UPDATE room SET ended_at = ? WHERE one = 1", now);
  }

  // ── participants ──────────────────────────────────────────────────────────

  addParticipant(p: ParticipantRow): void {
    this.#participants.clear();
    this.#sql.exec(
      `INSERT INTO participants (id, identity, display_name, role, avatar, state, presence, since, disconnected_at, resume_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      p.id, p.identity, p.displayName, p.role, JSON.stringify(p.avatar), p.state, p.presence, p.since, p.disconnectedAt, p.resumeHash,
    );
  }

  participant(id: string): ParticipantRow | undefined {
    if (this.#participants.has(id)) return this.#participants.get(id);
    const row = this.#sql.exec<Row>("SELECT * FROM participants WHERE id = ?", id).toArray()[0];
    const participant = row ? participantFrom(row) : undefined;
    if (this.#participants.size > 5000) this.#participants.clear();
    this.#participants.set(id, participant);
    return participant;
  }

  participants(state?: ParticipantState): ParticipantRow[] {
    const rows = state
      ? this.#sql.exec<Row>("SELECT * FROM participants WHERE state = ? ORDER BY since, id", state)
      : this.#sql.exec<Row>("SELECT * FROM participants ORDER BY since, id");
    return rows.toArray().map(participantFrom);
  }

  setState(id: string, state: ParticipantState, since: number, displayName?: string): void {
    this.#participants.clear();
    if (displayName === undefined) this.#sql.exec("UPDATE participants SET state = ?, since = ? WHERE id = ?", state, since, id);
    else this.#sql.exec("UPDATE participants SET state = ?, since = ?, display_name = ? WHERE id = ?", state, since, displayName, id);
  }

  setPresence(id: string, presence: Presence, disconnectedAt: number): void {
    this.#participants.clear();
    this.#sql.exec("UPDATE participants SET presence = ?, disconnected_at = ? WHERE id = ?", presence, disconnectedAt, id);
  }

  /** Everyone holding a session, on the pre-join page, in the lobby or in the call. */
  participantCount(): number {
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM participants").one().n;
  }

  countIn(state: ParticipantState): number {
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM participants WHERE state = ?", state).one().n;
  }

  /** The earliest moment a reconnecting participant's resume window started, if any. */
  earliestDisconnect(): number | undefined {
    const row = this.#sql
      .exec<{ at: number | null }>("SELECT MIN(disconnected_at) AS at FROM participants WHERE presence = 'reconnecting'")
      .one();
    return row.at ?? undefined;
  }

  /** Removes a participant (their media is the media store's to forget). */
  removeParticipant(id: string): void {
    this.#participants.clear();
    this.#sql.exec("DELETE FROM participants WHERE id = ?", id);
  }

  peerInfo(p: ParticipantRow, producers: ProducerInfo[]): PeerInfo {
    return { id: p.id, displayName: p.displayName, role: p.role, avatar: p.avatar, presence: p.presence, producers };
  }

  lobby(): LobbyEntry[] {
    return this.participants("lobby").map((p) => ({ id: p.id, displayName: p.displayName, avatar: p.avatar, since: p.since }));
  }

  ban(identity: string, now: number): void {
    this.#sql.exec("INSERT OR REPLACE INTO bans (identity, at) VALUES (?, ?)", identity, now);
  }

  isBanned(identity: string): boolean {
    return this.#sql.exec("SELECT 1 FROM bans WHERE identity = ?", identity).toArray().length > 0;
  }

  // ── chat ──────────────────────────────────────────────────────────────────

  /**
   * Logs a chat message once per (sender identity, client id), in one write; a resend
   * returns the stored message instead.
   */
  /** The stored message a sender's earlier attempt with this clientId left, if any. */
  chatByClientId(identity: string, clientId: string): ChatMessage | undefined {
    const row = this.#sql.exec<Row>("SELECT * FROM events WHERE identity = ? AND client_id = ?", identity, clientId).toArray()[0];
    return row ? chatFrom(row) : undefined;
  }

  /** Stores a chat message under a seq from `allocateSeq` (the unique index refuses a second copy). */
  addChat(message: ChatMessage, identity: string, audience: Audience, now: number): void {
    const { seq, ...stored } = message;
    this.#sql.exec(
      "INSERT INTO events (seq, event, data, audience, at, identity, client_id) VALUES (?, 'chat', ?, ?, ?, ?, ?)",
      seq, JSON.stringify(stored), JSON.stringify(audience), now, identity, message.clientId,
    );
  }

  chatPage(before: number | undefined, limit: number): { messages: ChatMessage[]; hasMore: boolean } {
    const rows = this.#sql
      .exec<Row>("SELECT * FROM events WHERE event = 'chat' AND seq < ? ORDER BY seq DESC LIMIT ?", before ?? Number.MAX_SAFE_INTEGER, limit + 1)
      .toArray();
    const hasMore = rows.length > limit;
    return { messages: rows.slice(0, limit).reverse().map(chatFrom), hasMore };
  }

  // ── event log (for resume) ────────────────────────────────────────────────

  appendEvent(event: string, data: unknown, audience: Audience, now: number): number {
    const seq = this.allocateSeq();
    this.#sql.exec("INSERT INTO events (seq, event, data, audience, at) VALUES (?, ?, ?, ?, ?)", seq, event, JSON.stringify(data), JSON.stringify(audience), now);
    return seq;
  }

  /**
   * The next event seq. Handed out from a block reserved durably (one write per block),
   * so seqs only grow, even across a restart that lost a delivered-but-uncommitted event.
   */
  allocateSeq(): number {
    if (this.#nextSeq > this.#reservedThrough) {
      const reserved = this.#sql.exec<{ seq: number }>("SELECT reserved_through AS seq FROM seq_block WHERE one = 1").toArray()[0]?.seq ?? 0;
      this.#nextSeq = Math.max(reserved, this.lastSeq()) + 1;
      this.#reservedThrough = this.#nextSeq + SEQ_BLOCK - 1;
      this.#sql.exec(
        "INSERT INTO seq_block (one, reserved_through) VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET reserved_through = excluded.reserved_through",
        this.#reservedThrough,
      );
    }
    return this.#nextSeq++;
  }

  lastSeq(): number {
    return this.#sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM events").one().seq ?? 0;
  }

  /** Events up to this seq may have been pruned: a resume from before it cannot be served. */
  prunedThrough(): number {
    return this.#sql.exec<{ seq: number }>("SELECT pruned_through AS seq FROM log_state WHERE one = 1").toArray()[0]?.seq ?? 0;
  }

  /** How many events are logged after `seq`, counting no further than `atMost`. */
  countEventsAfter(seq: number, atMost: number): number {
    return this.#sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM (SELECT 1 FROM events WHERE seq > ? LIMIT ?)", seq, atMost)
      .one().n;
  }

  eventsAfter(seq: number): LoggedEvent[] {
    return this.#sql
      .exec<Row>("SELECT * FROM events WHERE seq > ? ORDER BY seq", seq)
      .toArray()
      .map((row) => ({
        seq: row.seq as number,
        event: row.event as string,
        data: row.event === "chat" ? { message: chatFrom(row) } : JSON.parse(row.data as string),
        audience: JSON.parse(row.audience as string) as Audience,
      }));
  }

  /** Keeps the non-chat log bounded: the newest `keep` events, none older than `olderThan`. */
  pruneEvents(keep: number, olderThan: number): void {
    const cutoff = this.#sql
      .exec<{ seq: number | null }>(
        "SELECT MAX(seq) AS seq FROM events WHERE event <> 'chat' AND (seq <= (SELECT MAX(seq) FROM events) - ? OR at < ?)",
        keep, olderThan,
      )
      .one().seq;
    if (cutoff === null) return;
    this.#sql.exec("DELETE FROM events WHERE event <> 'chat' AND seq <= ?", cutoff);
    this.#sql.exec(
      "INSERT INTO log_state (one, pruned_through) VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET pruned_through = MAX(pruned_through, excluded.pruned_through)",
      cutoff,
    );
  }

}
