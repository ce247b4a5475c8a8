import { encodeEvent, type Role } from "@meridian/protocol";
import type { RequestGeo } from "../lib/geo.ts";
import { closeQuietly, sendQuietly } from "../lib/sockets.ts";
import type { TurnNode } from "../turn/ice-servers.ts";
import type { Audience, ParticipantState } from "./room-store.ts";

/** The verified token a socket was opened with. */
export interface SocketClaims {
  readonly sub: string;
  readonly name: string;
  readonly role: Role;
  readonly exp: number;
}

/** What the room remembers about one browser socket; kept in its attachment (survives hibernation). */
export interface Session {
  readonly claims: SocketClaims;
  readonly geo: RequestGeo;
  /** When the socket was accepted; a fresh socket is not "silent" before its first ping. */
  readonly openedAt?: number;
  /** The client's address, for the per-address admission limit. */
  readonly address?: string;
  /** Set by `hello` / `resume`. */
  participantId?: string;
  /** Mirrors the participant's state, so fan-out needs no SQL. */
  state?: ParticipantState;
  role?: Role;
  /** The TURN nodes near this socket, found at hello; credentials for them come with the join. */
  turn?: TurnNode[];
}

const isStaff = (role: Role | undefined) => role === "host" || role === "moderator";

/**
 * The room's browser sockets on the Hibernation API. The runtime keeps them while the DO
 * sleeps; each carries its Session as an attachment, mirrored in memory so a broadcast to
 * a thousand sockets does not deserialize a thousand attachments.
 */
export class PeerSockets {
  readonly #ctx: DurableObjectState;
  readonly #sessions = new WeakMap<WebSocket, Session>();

  constructor(ctx: DurableObjectState) {
    this.#ctx = ctx;
  }

  accept(ws: WebSocket, session: Session): void {
    this.#ctx.acceptWebSocket(ws);
    this.save(ws, session);
  }

  session(ws: WebSocket): Session {
    let session = this.#sessions.get(ws);
    if (!session) {
      session = ws.deserializeAttachment() as Session;
      this.#sessions.set(ws, session);
    }
    return session;
  }

  save(ws: WebSocket, session: Session): void {
    ws.serializeAttachment(session);
    this.#sessions.set(ws, session);
  }

  all(): WebSocket[] {
    return this.#ctx.getWebSockets();
  }

  /** The sessions of sockets still open (a socket being closed no longer counts for admission). */
  openSessions(): Session[] {
    return this.all()
      .filter((ws) => ws.readyState === WebSocket.OPEN)
      .map((ws) => this.session(ws));
  }

  /** The open socket of a participant, if it has one. */
  of(participantId: string): WebSocket | undefined {
    return this.all().find((ws) => this.session(ws).participantId === participantId);
  }

  /** Sends an event frame to everyone the audience names. */
  deliver(event: string, data: unknown, audience: Audience, seq?: number): void {
    const text = encodeEvent(event, data, seq);
    for (const ws of this.all()) {
      if (matches(this.session(ws), audience)) sendQuietly(ws, text);
    }
  }

  /** Tells one socket why it is being closed, then closes it. */
  dismiss(ws: WebSocket, reason: "kicked" | "denied" | "ended" | "timeout" | "replaced", code: number): void {
    sendQuietly(ws, encodeEvent("removed", { reason }));
    const session = this.session(ws);
    this.save(ws, { claims: session.claims, geo: session.geo });
    closeQuietly(ws, code, reason);
  }
}

export function matches(session: Session, audience: Audience): boolean {
  if (!session.participantId) return false;
  switch (audience.to) {
    case "all":
      return true;
    case "joined":
      return session.state === "joined" && session.participantId !== audience.except;
    case "staff":
      return session.state === "joined" && isStaff(session.role);
    case "one":
      return session.participantId === audience.id;
  }
}
