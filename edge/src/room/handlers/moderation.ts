import { ProtocolError, RoomCloseCode, type Handlers, type RoomMethods } from "@meridian/protocol";
import type { ParticipantRow } from "../room-store.ts";
import { mayActOn, requireRole, type RequestContext, type RoomApi } from "./context.ts";

type Moderation = Pick<
  Handlers<RoomMethods, RequestContext>,
  "admit" | "deny" | "kick" | "mute" | "updateSettings" | "endRoom" | "requestRecording"
>;

/** Host and moderator actions, enforced here whatever the client shows. */
export function moderationHandlers(room: RoomApi): Moderation {
  const { store, sockets } = room;

  const target = (actor: ParticipantRow, participantId: string, state?: ParticipantRow["state"]): ParticipantRow => {
    const found = store.participant(participantId);
    if (!found || (state && found.state !== state)) throw new ProtocolError("not_found", `no such participant ${participantId}`);
    if (found.id === actor.id) throw new ProtocolError("forbidden", "cannot do that to yourself");
    if (!mayActOn(actor, found)) throw new ProtocolError("forbidden", `a ${actor.role} cannot act on a ${found.role}`);
    return found;
  };

  const admit = (participant: ParticipantRow): void => {
    const settings = room.settings();
    if (store.countIn("joined") >= settings.capacity) throw new ProtocolError("room_full", `the room is full (${settings.capacity} people)`);
    room.enterCall(participant, participant.displayName);
    room.publish("admitted", { peers: room.peers(participant.id), lastSeq: store.lastSeq(), mediaMode: room.callMode.mode }, { to: "one", id: participant.id });
  };

  return {
    admit: async ({ participantId }, { session }) => {
      const actor = requireRole(room, session, "moderator");
      admit(target(actor, participantId, "lobby"));
      room.publishLobby();
      return {};
    },

    deny: async ({ participantId }, { session }) => {
      const actor = requireRole(room, session, "moderator");
      const waiting = target(actor, participantId, "lobby");
      const ws = sockets.of(waiting.id);
      if (ws) sockets.dismiss(ws, "denied", RoomCloseCode.denied);
      await room.removeParticipant(waiting.id, "left");
      return {};
    },

    kick: async ({ participantId }, { session }) => {
      const actor = requireRole(room, session, "moderator");
      const kicked = target(actor, participantId);
      // The identity cannot come back with the same or a new token for this room.
      store.ban(kicked.identity, Date.now());
      const ws = sockets.of(kicked.id);
      if (ws) sockets.dismiss(ws, "kicked", RoomCloseCode.kicked);
      await room.removeParticipant(kicked.id, kicked.state === "joined" ? "kicked" : "left");
      return {};
    },

    mute: async ({ participantId }, { session }) => {
      const actor = requireRole(room, session, "moderator");
      const muted = target(actor, participantId, "joined");
      const audio = room.media.store.producersOf(muted.id).filter((p) => p.kind === "audio");
      for (const producer of audio) {
        const consumers = room.media.store.removeProducer(producer.id);
        room.publish("producerClosed", { peerId: muted.id, producerId: producer.id }, { to: "joined", except: muted.id });
        await room.media.closeProducer(producer, consumers);
      }
      room.publish("mutedBy", { by: actor.id }, { to: "one", id: muted.id });
      return {};
    },

    updateSettings: async ({ locked, lobby, p2p }, { session }) => {
      requireRole(room, session, "moderator");
      const settings = {
        ...room.settings(),
        ...(locked === undefined ? {} : { locked }),
        ...(lobby === undefined ? {} : { lobby }),
        ...(p2p === undefined ? {} : { p2p }),
      };
      store.setSettings(settings);
      room.publish("settingsChanged", { settings }, { to: "joined" });
      if (p2p !== undefined) room.callMode.reconsider();
      // Turning the lobby off lets in everyone waiting, as far as the room has space.
      if (lobby === false) {
        for (const waiting of store.participants("lobby")) {
          if (store.countIn("joined") >= settings.capacity) break;
          admit(waiting);
        }
        room.publishLobby();
      }
      return settings;
    },

    endRoom: async (_params, context) => {
      requireRole(room, context.session, "host");
      await room.end(context.ws);
      context.closeAfterReply = { code: RoomCloseCode.ended, reason: "ended" };
      return {};
    },

    requestRecording: async (_params, { session }) => {
      const host = requireRole(room, session, "host");
      room.emit("recording.requested", { requestedBy: host.id, identity: host.identity });
      return {};
    },
  };
}
