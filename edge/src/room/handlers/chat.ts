import type { Handlers, RoomMethods } from "@meridian/protocol";
import type { Room } from "../room.ts";
import { participantOf, type RequestContext } from "./context.ts";

type Chat = Pick<Handlers<RoomMethods, RequestContext>, "sendChat" | "chatHistory">;

const DEFAULT_PAGE = 50;

/**
 * Chat: stored in the room's SQLite with a room-wide sequence number, paged by `before`.
 * The sender's `clientId` makes a resend (after a reconnect) return the stored message
 * instead of storing it again, and nobody sees it twice.
 */
export function chatHandlers(room: Room): Chat {
  return {
    sendChat: async ({ clientId, text }, { session }) => {
      const sender = participantOf(room, session, "joined");
      const now = Date.now();
      const audience = { to: "joined" } as const;
      const { message, duplicate } = room.store.addChat(
        { from: sender.id, identity: sender.identity, name: sender.displayName, text, sentAt: now, clientId },
        audience,
        now,
      );
      if (!duplicate) room.delivered("chat", { message }, audience, message.seq, now);
      return { seq: message.seq, sentAt: message.sentAt };
    },

    chatHistory: async ({ before, limit }, { session }) => {
      participantOf(room, session, "joined");
      return room.store.chatPage(before, limit ?? DEFAULT_PAGE);
    },
  };
}
