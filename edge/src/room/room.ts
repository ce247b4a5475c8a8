import { RoomCloseCode, errorFields, type EventData, type Logger, type PeerInfo, type RoomEvents, type RoomSettings } from "@meridian/protocol";
import { publishRoomEvent, type RoomEventType } from "../events/room-events.ts";
import { closeQuietly } from "../lib/sockets.ts";
import { REGISTRY_NAME } from "../registry/name.ts";
import type { LeaveReason, RoomApi } from "./handlers/context.ts";
import { CallMode } from "./call-mode.ts";
import { MediaFailover, type FailoverHost, type PendingMove } from "./media/failover.ts";
import type { RoomMedia } from "./media/room-media.ts";
import { matches, type PeerSockets, type Session } from "./peer-sockets.ts";
import type { RoomConfig } from "./room-config.ts";
import type { Audience, LoggedEvent, ParticipantRow, RoomStore } from "./room-store.ts";

type EventName = keyof RoomEvents & string;

const EMPTY_SINCE_KEY = "emptySince";
/** People whose media found no node after a move, tried again at this key's time. */
const MEDIA_RETRY_KEY = "mediaRetry";
/** The speaker leg's last dominant speaker report: kept so it outlives hibernation. */
const SPEAKER_KEY = "speaker";
const MEDIA_RETRY_MS = 2000;

interface Speaker {
  readonly routerId: string;
  readonly participantId: string | null;
}

/**
 * A room's behaviour over its state: publishing events (logged for resume, then
 * delivered), people leaving and dropping, the room ending, and the alarm that enforces
 * every deadline (resume windows, silent sockets, empty-room cleanup). Request handlers
 * (handlers/*.ts) call in here; the Durable Object shell owns the sockets' lifecycle.
 */
export class Room implements RoomApi, FailoverHost {
  readonly store: RoomStore;
  readonly sockets: PeerSockets;
  readonly media: RoomMedia;
  readonly failover: MediaFailover;
  /** Peer-to-peer for a call of two, the SFU otherwise. */
  readonly callMode: CallMode;
  readonly config: RoomConfig;
  readonly log: Logger;
  readonly #ctx: DurableObjectState;
  readonly #env: Env;
  /** Last frame time per socket while awake (keepalive pings are counted by the runtime). */
  readonly lastSeen = new WeakMap<WebSocket, number>();
  #publishes = 0;

  constructor(deps: {
    ctx: DurableObjectState;
    env: Env;
    store: RoomStore;
    sockets: PeerSockets;
    media: RoomMedia;
    config: RoomConfig;
    log: Logger;
  }) {
    this.#ctx = deps.ctx;
    this.#env = deps.env;
    this.store = deps.store;
    this.sockets = deps.sockets;
    this.media = deps.media;
    this.config = deps.config;
    this.log = deps.log;
    this.failover = new MediaFailover(this);
    this.callMode = new CallMode({
      kv: deps.ctx.storage.kv,
      log: deps.log,
      joinedIds: () => this.store.participants("joined").map((p) => p.id),
      p2pAllowed: () => this.store.room()?.settings.p2p !== false,
      holdOffMs: deps.config.p2pHoldOffMs,
      publish: (event, data, audience) => this.publish(event, data, audience),
    });
  }

  get roomId(): string {
    return this.store.room()?.roomId ?? "";
  }

  settings(): RoomSettings {
    const room = this.store.room();
    if (!room) throw new Error("room does not exist");
    return room.settings;
  }

  /** Logs an event (so a resuming socket can get it again) and delivers it. */
  publish<K extends EventName>(event: K, data: EventData<RoomEvents, K>, audience: Audience): number {
    const now = Date.now();
    const seq = this.store.appendEvent(event, data, audience, now);
    this.delivered(event, data, audience, seq, now);
    return seq;
  }

  /** Delivers an event the store has already logged (chat logs itself in one write). */
  delivered<K extends EventName>(event: K, data: EventData<RoomEvents, K>, audience: Audience, seq: number, now = Date.now()): void {
    this.sockets.deliver(event, data, audience, seq);
    if (++this.#publishes % 200 === 0) this.store.pruneEvents(this.config.eventLogKeep, now - this.config.eventLogMaxAgeMs);
  }

  /** The logged events after `seq` that `participant` should have seen, as frames. */
  missedBy(participant: ParticipantRow, seq: number): LoggedEvent[] {
    const viewer: Session = {
      claims: { sub: participant.identity, name: participant.displayName, role: participant.role, exp: 0 },
      geo: {},
      participantId: participant.id,
      state: participant.state,
      role: participant.role,
    };
    return this.store.eventsAfter(seq).filter((e) => matches(viewer, e.audience));
  }

  /**
   * Whether the log still holds everything after `seq`, and it fits one answer: chat is
   * never pruned, so a long absence is refused, and the client joins again and pages its chat.
   */
  canReplayFrom(seq: number): boolean {
    const keep = this.config.eventLogKeep;
    return seq >= this.store.prunedThrough() && this.store.countEventsAfter(seq, keep + 1) <= keep;
  }

  /** Queues an integrator event; never fails the caller. */
  emit(type: RoomEventType, data: Record<string, unknown>): void {
    const roomId = this.roomId;
    this.#ctx.waitUntil(
      publishRoomEvent(this.#env, type, roomId, data).catch((error) =>
        this.log.error("could not queue a room event", { type, roomId, ...errorFields(error) }),
      ),
    );
  }

  publishLobby(): void {
    this.publish("lobbyChanged", { waiting: this.store.lobby() }, { to: "staff" });
  }

  /** Someone entered the call: record it, tell everyone, start the room if first. */
  enterCall(participant: ParticipantRow, displayName: string): number {
    const now = Date.now();
    this.store.setState(participant.id, "joined", now, displayName);
    const ws = this.sockets.of(participant.id);
    if (ws) this.sockets.save(ws, { ...this.sockets.session(ws), state: "joined" });
    const peer = this.store.peerInfo({ ...participant, displayName, state: "joined" }, []);
    const seq = this.publish("peerJoined", { peer }, { to: "joined", except: participant.id });
    if (this.store.markStarted(now)) this.emit("room.started", {});
    const mode = this.callMode.reconsider(now);
    this.tellActiveSpeaker(participant.id);
    this.emit("participant.joined", { participantId: participant.id, identity: participant.identity, role: participant.role, mode });
    return seq;
  }

  /**
   * Removes a participant for good: their media on the node, their rows, and the others
   * are told. Used by leave, kick, deny, resume timeout and the room ending.
   */
  async removeParticipant(participantId: string, reason: LeaveReason): Promise<void> {
    const participant = this.store.participant(participantId);
    if (!participant) return;
    this.store.removeParticipant(participantId);
    if (participant.state === "joined") {
      this.publish("peerLeft", { peerId: participantId, reason }, { to: "joined", except: participantId });
      this.emit("participant.left", { participantId, identity: participant.identity, reason });
    }
    if (participant.state === "lobby") this.publishLobby();
    if (participant.state === "joined") this.callMode.reconsider();
    await this.media.unplace(participantId);
    await this.noteIfEmpty();
  }

  /**
   * A socket closed without `leave`. A participant in the call or the lobby becomes
   * "reconnecting" for the resume window; one still on the pre-join page is removed.
   */
  async socketGone(ws: WebSocket): Promise<void> {
    const { participantId } = this.sockets.session(ws);
    if (!participantId) return;
    const participant = this.store.participant(participantId);
    if (!participant) return;
    // A newer socket may already have resumed this participant.
    const current = this.sockets.of(participantId);
    if (current && current !== ws) return;
    await this.#dropped(participant);
  }

  async #dropped(participant: ParticipantRow): Promise<void> {
    if (participant.state === "prejoin") {
      await this.removeParticipant(participant.id, "left");
      return;
    }
    this.store.setPresence(participant.id, "reconnecting", Date.now());
    if (participant.state === "joined") {
      this.publish("presence", { peerId: participant.id, presence: "reconnecting" }, { to: "joined", except: participant.id });
    }
    await this.schedule();
  }

  /**
   * Ends the room for everyone: no one may join it again. `requester` keeps its socket
   * until its answer is out (its handler closes it).
   */
  async end(requester?: WebSocket): Promise<void> {
    this.publish("roomEnded", {}, { to: "joined" });
    for (const ws of this.sockets.all()) {
      if (ws === requester) this.sockets.save(ws, { claims: this.sockets.session(ws).claims, geo: {} });
      else this.sockets.dismiss(ws, "ended", RoomCloseCode.ended);
    }
    for (const participant of this.store.participants()) await this.removeParticipant(participant.id, "ended");
    const wasStarted = (this.store.room()?.startedAt ?? 0) > 0;
    this.store.markEnded(Date.now());
    await this.media.release();
    if (wasStarted) this.emit("room.ended", { reason: "ended by host" });
    await this.schedule();
  }

  /** Everyone in the call but `exceptId`, with what they are sending. */
  peers(exceptId?: string): PeerInfo[] {
    const peers = new Map<string, PeerInfo>();
    for (const p of this.store.participants("joined")) {
      if (p.id !== exceptId) peers.set(p.id, this.store.peerInfo(p, []));
    }
    for (const { id, kind, source, paused, participantId } of this.media.store.producers()) {
      peers.get(participantId)?.producers.push({ id, kind, source, paused });
    }
    return [...peers.values()];
  }

  isParticipant(participantId: string): boolean {
    return this.store.participant(participantId) !== undefined;
  }

  nodeHealthy(nodeId: string): Promise<boolean> {
    return this.#env.REGISTRY.getByName(REGISTRY_NAME).isHealthy(nodeId);
  }

  async retryLater(move: PendingMove): Promise<void> {
    const pending = this.#ctx.storage.kv.get<{ at: number; moves: PendingMove[] }>(MEDIA_RETRY_KEY);
    this.#ctx.storage.kv.put(MEDIA_RETRY_KEY, { at: Date.now() + MEDIA_RETRY_MS, moves: [...(pending?.moves ?? []), move] });
    await this.schedule();
  }

  /**
   * Relays the node's active speaker to the call. Not logged for resume (a stale speaker
   * is worthless); the last one is kept apart, for whoever enters or comes back later.
   */
  activeSpeaker(routerId: string, participantId: string | null): void {
    // The speaker leg hears every audio producer of the room; other legs hear only some.
    if (this.media.speakerLeg()?.id !== routerId) return;
    const last = this.#ctx.storage.kv.get<Speaker>(SPEAKER_KEY);
    if (last?.routerId === routerId && last.participantId === participantId) return;
    // Told before it is stored, so the output gate does not hold it: a speaker whose write
    // were lost is replaced by the node's next report anyway.
    this.sockets.deliver("activeSpeaker", { peerId: participantId }, { to: "joined" });
    this.#ctx.storage.kv.put(SPEAKER_KEY, { routerId, participantId } satisfies Speaker);
  }

  /**
   * A leg's node left the edge: its browsers are asked whether media still reaches them
   * (those it does not reach say `mediaUnreachable`, which moves the leg). Not logged: a
   * browser that resumes later is checked by its own transports.
   */
  checkMedia(legId: string): void {
    for (const { participantId } of this.media.store.placedOn(legId)) this.sockets.deliver("mediaCheck", {}, { to: "one", id: participantId });
  }

  /** Tells someone who just entered (or came back to) the call who is speaking: the node reports changes only. */
  tellActiveSpeaker(participantId: string): void {
    const last = this.#ctx.storage.kv.get<Speaker>(SPEAKER_KEY);
    if (!last?.participantId || last.routerId !== this.media.speakerLeg()?.id) return;
    if (this.store.participant(last.participantId)?.state !== "joined") return;
    this.sockets.deliver("activeSpeaker", { peerId: last.participantId }, { to: "one", id: participantId });
  }

  /** Cancels the empty-room countdown (someone arrived). */
  async arrived(): Promise<void> {
    if (this.#ctx.storage.kv.get(EMPTY_SINCE_KEY) !== undefined) this.#ctx.storage.kv.delete(EMPTY_SINCE_KEY);
    await this.schedule();
  }

  /** Starts the empty-room countdown if nobody is here (also for a room nobody entered yet). */
  async noteIfEmpty(now = Date.now()): Promise<void> {
    if (this.store.participantCount() === 0 && this.#ctx.storage.kv.get(EMPTY_SINCE_KEY) === undefined) {
      this.#ctx.storage.kv.put(EMPTY_SINCE_KEY, now);
    }
    await this.schedule();
  }

  /** Sets the alarm to the nearest deadline of any kind. */
  async schedule(): Promise<void> {
    const now = Date.now();
    const deadlines: number[] = [];
    const earliest = this.store.earliestDisconnect();
    if (earliest !== undefined) deadlines.push(earliest + this.config.resumeWindowMs);
    const sockets = this.sockets.all();
    if (sockets.length > 0) deadlines.push(now + this.config.heartbeatCheckMs);
    for (const ws of sockets) {
      const { participantId, openedAt } = this.sockets.session(ws);
      if (!participantId && openedAt !== undefined && ws.readyState === WebSocket.OPEN) deadlines.push(openedAt + this.config.helloDeadlineMs);
    }
    const emptySince = this.#ctx.storage.kv.get<number>(EMPTY_SINCE_KEY);
    const room = this.store.room();
    if (emptySince !== undefined && room) {
      if (this.media.store.legs().length > 0) deadlines.push(emptySince + this.config.emptyGraceMs);
      deadlines.push(emptySince + this.config.emptyTtlMs);
    }
    const retry = this.#ctx.storage.kv.get<{ at: number }>(MEDIA_RETRY_KEY);
    if (retry) deadlines.push(retry.at);
    const pipes = this.media.nextDeadline();
    if (pipes !== undefined) deadlines.push(pipes);
    const p2p = this.callMode.deadline();
    if (p2p !== undefined) deadlines.push(p2p);
    if (deadlines.length === 0) await this.#ctx.storage.deleteAlarm();
    else await this.#ctx.storage.setAlarm(Math.max(now, Math.min(...deadlines)));
  }

  /** Runs every deadline that has come, then schedules the next. */
  async alarm(): Promise<void> {
    const now = Date.now();
    // People whose media found no node after a move: try again.
    const retry = this.#ctx.storage.kv.get<{ at: number; moves: PendingMove[] }>(MEDIA_RETRY_KEY);
    if (retry && retry.at <= now) {
      this.#ctx.storage.kv.delete(MEDIA_RETRY_KEY);
      for (const move of retry.moves ?? []) await this.failover.place(move);
    }
    // Pipe copies nobody has used for a while.
    await this.media.alarm(now);
    // A call down to two goes back to peer-to-peer once its hold-off is over.
    if ((this.callMode.deadline() ?? Infinity) <= now) this.callMode.reconsider(now);
    // Resume windows that ran out.
    for (const p of this.store.participants()) {
      if (p.presence === "reconnecting" && now - p.disconnectedAt >= this.config.resumeWindowMs) {
        await this.removeParticipant(p.id, "timeout");
      }
    }
    // Sockets that never said hello: keepalives do not buy them time.
    for (const ws of this.sockets.all()) {
      const { participantId, openedAt } = this.sockets.session(ws);
      if (!participantId && openedAt !== undefined && now - openedAt >= this.config.helloDeadlineMs && ws.readyState === WebSocket.OPEN) {
        closeQuietly(ws, RoomCloseCode.noHello, "no hello");
      }
    }
    // Sockets that went silent: no frame and no keepalive.
    for (const ws of this.sockets.all()) {
      const pinged = this.#ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const seen = Math.max(pinged, this.lastSeen.get(ws) ?? 0, this.sockets.session(ws).openedAt ?? 0);
      if (now - seen >= this.config.silentAfterMs) {
        closeQuietly(ws, RoomCloseCode.silent, "no keepalive");
        await this.socketGone(ws);
        this.sockets.save(ws, { claims: this.sockets.session(ws).claims, geo: {} });
      }
    }
    // Connected participants whose socket is gone with no close delivered (the room was
    // reset): dropped like any other, so their resume window runs out if they never return.
    const held = new Set(this.sockets.all().map((ws) => this.sockets.session(ws).participantId));
    for (const { id } of this.store.participants()) {
      if (held.has(id)) continue;
      // Read again: an earlier drop awaited, and a resume may have come in meanwhile.
      const p = this.store.participant(id);
      if (p?.presence === "connected" && !this.sockets.of(id)) await this.#dropped(p);
    }
    // An empty room: free the router after the grace period, forget the room after its TTL.
    const emptySince = this.#ctx.storage.kv.get<number>(EMPTY_SINCE_KEY);
    const room = this.store.room();
    if (emptySince !== undefined && room && this.store.participantCount() === 0) {
      if (now - emptySince >= this.config.emptyTtlMs) {
        if (room.startedAt > 0 && room.endedAt === 0) this.emit("room.ended", { reason: "expired" });
        await this.media.release();
        // Everything goes (tables, kv, alarm); the empty schema comes back for later requests.
        await this.#ctx.storage.deleteAll();
        this.store.ensureSchema();
        this.media.store.ensureSchema();
        return;
      }
      if (this.media.store.legs().length > 0 && now - emptySince >= this.config.emptyGraceMs) await this.media.release();
    }
    this.store.pruneEvents(this.config.eventLogKeep, now - this.config.eventLogMaxAgeMs);
    await this.schedule();
  }
}
