import { ProtocolError, type Role } from "@meridian/protocol";
import type { Session } from "../peer-sockets.ts";
import type { Room } from "../room.ts";
import type { ParticipantRow } from "../room-store.ts";

/** Per-request context: the socket the request came on and its session. */
export interface RequestContext {
  readonly ws: WebSocket;
  readonly session: Session;
  /** Set by a handler that wants the socket closed once its response is sent. */
  closeAfterReply?: { code: number; reason: string };
}

/** The participant behind a socket that said hello; `joined` also requires being in the call. */
export function participantOf(room: Room, session: Session, need: "hello" | "joined"): ParticipantRow {
  const participant = session.participantId ? room.store.participant(session.participantId) : undefined;
  if (!participant) throw new ProtocolError("not_joined", "send hello first");
  if (need === "joined" && participant.state !== "joined") throw new ProtocolError("not_joined", "join the call first");
  return participant;
}

const RANK: Record<Role, number> = { guest: 0, moderator: 1, host: 2 };

/** A participant in the call with at least `role`. */
export function requireRole(room: Room, session: Session, role: "moderator" | "host"): ParticipantRow {
  const participant = participantOf(room, session, "joined");
  if (RANK[participant.role] < RANK[role]) throw new ProtocolError("forbidden", `only a ${role} may do that`);
  return participant;
}

/** Whether `actor` outranks or equals `target` (a moderator cannot act on a host). */
export function mayActOn(actor: ParticipantRow, target: ParticipantRow): boolean {
  return RANK[actor.role] >= RANK[target.role];
}
