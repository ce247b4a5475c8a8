import { encodeEvent, type EventData, type RoomEvents } from "@meridian/protocol";
import type { RequestGeo } from "../lib/geo.ts";
import { sendQuietly } from "../lib/sockets.ts";

/** What the room remembers about one browser socket; kept in its attachment (survives hibernation). */
export interface Session {
  /** Set by `hello`. */
  participantId?: string;
  /** Set by `join`: only joined sockets hear the room's events. */
  joined?: boolean;
  geo: RequestGeo;
}

/**
 * The room's browser sockets, on the Hibernation API: the runtime holds them while the
 * DO sleeps, and each carries its Session as a serialized attachment.
 */
export class PeerSockets {
  readonly #ctx: DurableObjectState;

  constructor(ctx: DurableObjectState) {
    this.#ctx = ctx;
  }

  accept(ws: WebSocket, session: Session): void {
    this.#ctx.acceptWebSocket(ws);
    ws.serializeAttachment(session);
  }

  session(ws: WebSocket): Session {
    return (ws.deserializeAttachment() as Session | null) ?? { geo: {} };
  }

  save(ws: WebSocket, session: Session): void {
    ws.serializeAttachment(session);
  }

  /** Sends a typed event to every joined participant except `exceptId`. */
  broadcast<K extends keyof RoomEvents & string>(event: K, data: EventData<RoomEvents, K>, exceptId?: string): void {
    const text = encodeEvent(event, data);
    for (const ws of this.#ctx.getWebSockets()) {
      const { participantId, joined } = this.session(ws);
      if (joined && participantId !== exceptId) sendQuietly(ws, text);
    }
  }
}
