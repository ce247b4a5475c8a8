import { ProtocolError, type Handlers, type RoomMethods } from "@meridian/protocol";
import { participantOf, type RequestContext, type RoomApi } from "./context.ts";

type P2P = Pick<Handlers<RoomMethods, RequestContext>, "p2pSignal" | "p2pFailed">;

/**
 * A call of two, browser to browser: the room relays their negotiation (offers, answers,
 * ICE candidates, which transceiver carries what) and nothing else — only while the call
 * is peer-to-peer, only between its two participants, never logged.
 */
export function p2pHandlers(room: RoomApi): P2P {
  return {
    p2pSignal: async ({ to, signal }, { session }) => {
      const from = participantOf(room, session, "joined");
      if (room.callMode.mode !== "p2p") throw new ProtocolError("forbidden", "the call is not peer-to-peer");
      const target = room.store.participant(to);
      if (!target || target.state !== "joined" || target.id === from.id) throw new ProtocolError("not_found", `no one to connect to as ${to}`);
      room.sockets.deliver("p2pSignal", { from: from.id, signal }, { to: "one", id: to });
      return {};
    },

    p2pFailed: async (_params, { session }) => {
      participantOf(room, session, "joined");
      if (room.callMode.mode === "p2p") room.callMode.reconsider(Date.now(), true);
      return {};
    },
  };
}
