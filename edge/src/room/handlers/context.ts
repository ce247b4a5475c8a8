import { ProtocolError, type EventData, type Logger, type PeerInfo, type Role, type RoomEvents, type RoomSettings } from "@meridian/protocol";
import type { RoomEventType } from "../../events/room-events.ts";
import type { CallMode } from "../call-mode.ts";
import type { MediaFailover } from "../media/failover.ts";
import type { RoomMedia } from "../media/room-media.ts";
import type { PeerSockets, Session } from "../peer-sockets.ts";
import type { RoomConfig } from "../room-config.ts";
import type { Audience, LoggedEvent, ParticipantRow, RoomStore } from "../room-store.ts";

/** Per-request context: the socket the request came on and its session. */
export interface RequestContext {
  readonly ws: WebSocket;
  readonly session: Session;
  /** Set by a handler that wants the socket closed once its response is sent. */
  closeAfterReply?: { code: number; reason: string };
}

type EventName = keyof RoomEvents & string;
export type LeaveReason = EventData<RoomEvents, "peerLeft">["reason"];

/**
 * What request handlers may use of a room: the store's queries and writes they need,
 * the sockets they address, the media calls they make, and the room's behaviours. The
 * Room class implements it; handlers depend on nothing else, so the room's media can
 * change shape (legs on several nodes, peer-to-peer) behind `media`.
 */
export interface RoomApi {
  readonly store: Pick<
    RoomStore,
    // the room and its people
    | "room" | "setSettings" | "addParticipant" | "participant" | "participants" | "setState" | "setPresence" | "countIn" | "lobby" | "ban" | "lastSeq"
    // chat
    | "chatByClientId" | "allocateSeq" | "addChat" | "chatPage"
  >;
  readonly roomId: string;
  readonly sockets: Pick<PeerSockets, "of" | "session" | "save" | "dismiss" | "deliver">;
  /** The room's media across its legs: placement, calls to a leg's node, and the store of what lives where. */
  readonly media: Pick<RoomMedia, "store" | "place" | "legOf" | "unplace" | "call" | "callQuietly" | "produced" | "setProducerPaused" | "closeProducer" | "closeTransport">;
  readonly failover: Pick<MediaFailover, "consume" | "unreachable">;
  readonly callMode: Pick<CallMode, "mode" | "prospective" | "reconsider">;
  readonly config: Pick<RoomConfig, "resumeWindowMs">;
  readonly log: Logger;

  settings(): RoomSettings;
  /** Everyone in the call but `exceptId`, with what they send. */
  peers(exceptId?: string): PeerInfo[];
  publish<K extends EventName>(event: K, data: EventData<RoomEvents, K>, audience: Audience): number;
  delivered<K extends EventName>(event: K, data: EventData<RoomEvents, K>, audience: Audience, seq: number, now?: number): void;
  publishLobby(): void;
  emit(type: RoomEventType, data: Record<string, unknown>): void;
  arrived(): Promise<void>;
  schedule(): Promise<void>;
  enterCall(participant: ParticipantRow, displayName: string): number;
  removeParticipant(participantId: string, reason: LeaveReason): Promise<void>;
  end(requester?: WebSocket): Promise<void>;
  canReplayFrom(seq: number): boolean;
  missedBy(participant: ParticipantRow, seq: number): LoggedEvent[];
  tellActiveSpeaker(participantId: string): void;
}

/** The participant behind a socket that said hello; `joined` also requires being in the call. */
export function participantOf(room: RoomApi, session: Session, need: "hello" | "joined"): ParticipantRow {
  const participant = session.participantId ? room.store.participant(session.participantId) : undefined;
  if (!participant) throw new ProtocolError("not_joined", "send hello first");
  if (need === "joined" && participant.state !== "joined") throw new ProtocolError("not_joined", "join the call first");
  return participant;
}

const RANK: Record<Role, number> = { guest: 0, moderator: 1, host: 2 };

/** A participant in the call with at least `role`. */
export function requireRole(room: RoomApi, session: Session, role: "moderator" | "host"): ParticipantRow {
  const participant = participantOf(room, session, "joined");
  if (RANK[participant.role] < RANK[role]) throw new ProtocolError("forbidden", `only a ${role} may do that`);
  return participant;
}

/** Whether `actor` outranks or equals `target` (a moderator cannot act on a host). */
export function mayActOn(actor: ParticipantRow, target: ParticipantRow): boolean {
  return RANK[actor.role] >= RANK[target.role];
}
