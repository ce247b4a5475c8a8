import type { Handlers, RoomMethods } from "@meridian/protocol";
import { participantOf, type RequestContext, type RoomApi } from "./context.ts";

type Chat = Pick<Handlers<RoomMethods, RequestContext>, "sendChat" | "chatHistory">;

const DEFAULT_PAGE = 50;

/**
 * Chat: stored in the room's SQLite with a room-wide sequence number, paged by `before`.
 * The sender's `clientId` makes a resend (after a reconnect) return the stored message
 * instead of storing it again, and nobody sees it twice.
 */
export function chatHandlers(room: RoomApi): Chat {
  return {
    sendChat: async ({ clientId, text }, { session }) => {
      const sender = participantOf(room, session, "joined");
      const earlier = room.store.chatByClientId(sender.identity, clientId);
      if (earlier) return { seq: earlier.seq, sentAt: earlier.sentAt };
      const now = Date.now();
      const audience = { to: "joined" } as const;
      const message = { seq: room.store.allocateSeq(), from: sender.id, name: sender.displayName, text, sentAt: now, clientId };
      // Delivered before it is written, so the fan-out does not wait for the commit (the
      // output gate); the sender's answer below does, so only a stored message counts as
      // sent. If the write were lost, its seq is never reused and the sender's resend
      // (same clientId) is what history keeps.
      room.delivered("chat", { message }, audience, message.seq, now);
      room.store.addChat(message, sender.identity, audience, now);
      return { seq: message.seq, sentAt: message.sentAt };
    },

    chatHistory: async ({ before, limit }, { session }) => {
      participantOf(room, session, "joined");
      return room.store.chatPage(before, limit ?? DEFAULT_PAGE);
    },
  };
}
