import {
  PROTOCOL_VERSION,
  ProtocolError,
  RoomCloseCode,
  encodeEvent,
  errorFields,
  type EventFrame,
  type Handlers,
  type RoomMethods,
} from "@meridian/protocol";
import { base64url } from "jose";
import { verifyJoinToken } from "../../auth/tokens.ts";
import { sha256Hex } from "../../lib/encoding.ts";
import { defaultAvatar, type Profile } from "../../profiles/profile.ts";
import { iceServersFor, iceServersFrom, nearestTurnNodes, type TurnNode } from "../../turn/ice-servers.ts";
import { participantOf, type RequestContext, type RoomApi } from "./context.ts";

type Membership = Pick<Handlers<RoomMethods, RequestContext>, "hello" | "resume" | "routerCapabilities" | "iceServers" | "renewToken" | "join" | "leave">;

function checkProtocol(protocol: number): void {
  if (protocol !== PROTOCOL_VERSION) {
    throw new ProtocolError("protocol_mismatch", `this page speaks protocol ${protocol}, the room ${PROTOCOL_VERSION}: reload the page`);
  }
}

/**
 * A token admits: a socket opened with it stays in the call after it expires. What hands
 * out something new — entering the call, TURN credentials — needs one still valid.
 */
function requireLiveToken(session: RequestContext["session"]): void {
  if (session.claims.exp * 1000 <= Date.now()) {
    throw new ProtocolError("unauthorized", "your join token has expired: renew it (renewToken) or reconnect with a new one");
  }
}

function randomToken(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
}

/** The capabilities of the participant's leg (placed now if needed), or why media is unavailable; the room works without media. */
async function mediaFor(room: RoomApi, geo: RequestContext["session"]["geo"], participantId: string) {
  try {
    return { routerRtpCapabilities: (await room.media.place(participantId, geo)).rtpCapabilities };
  } catch (error) {
    if (error instanceof ProtocolError) return { mediaError: error.toBody() };
    room.log.error("media placement failed", errorFields(error));
    return { mediaError: { code: "internal" as const, message: "media placement failed" } };
  }
}

/** Joining, leaving and coming back: hello → join (maybe via the lobby) → leave, or resume. */
export function membershipHandlers(room: RoomApi, env: Env): Membership {
  const { store, sockets } = room;

  /**
   * ICE servers for someone in the call, from the TURN nodes found at hello when known (so
   * the join click waits for no registry lookup); a registry hiccup costs TURN, not the join.
   */
  const iceFor = async (session: RequestContext["session"], participantId: string) => {
    try {
      const iceServers = session.turn ? await iceServersFrom(env, session.turn, participantId) : await iceServersFor(env, session.geo, participantId);
      return iceServers.length ? { iceServers } : {};
    } catch (error) {
      room.log.warn("no ICE servers for a participant", errorFields(error));
      return {};
    }
  };

  /** Where this socket's TURN servers will be: looked up while the page shows its preview. */
  const turnNodesNear = async (geo: RequestContext["session"]["geo"]): Promise<TurnNode[] | undefined> => {
    try {
      return await nearestTurnNodes(env, geo);
    } catch (error) {
      room.log.warn("TURN nodes lookup failed", errorFields(error));
      return undefined;
    }
  };

  const profileOf = async (subject: string): Promise<Profile> => {
    try {
      return await env.PROFILES.getByName(subject).get();
    } catch (error) {
      room.log.warn("profile lookup failed", { subject, ...errorFields(error) });
      return {};
    }
  };

  return {
    hello: async ({ protocol }, { ws, session }) => {
      checkProtocol(protocol);
      if (session.participantId) throw new ProtocolError("already_joined", "this socket has already said hello");
      const current = store.room();
      if (!current) throw new ProtocolError("room_not_found", "room does not exist");
      if (current.endedAt) throw new ProtocolError("room_closed", "this room has ended");
      const { claims } = session;
      const participantId = crypto.randomUUID();
      const [media, profile, turn] = await Promise.all([
        mediaFor(room, session.geo, participantId),
        profileOf(claims.sub),
        turnNodesNear(session.geo),
      ]);
      if (ws.readyState !== WebSocket.OPEN) {
        // Placed with no one to show for it: let go of the leg a placement may have opened.
        await room.media.unplace(participantId);
        throw new ProtocolError("closed", "socket closed during hello");
      }

      const displayName = profile.displayName ?? (claims.name || "Guest");
      const avatar = profile.avatar ?? defaultAvatar(claims.sub, displayName);
      const resumeToken = randomToken();
      store.addParticipant({
        id: participantId,
        identity: claims.sub,
        displayName,
        role: claims.role,
        avatar,
        state: "prejoin",
        presence: "connected",
        since: Date.now(),
        disconnectedAt: 0,
        resumeHash: await sha256Hex(resumeToken),
      });
      sockets.save(ws, { ...session, participantId, state: "prejoin", role: claims.role, ...(turn ? { turn } : {}) });
      await room.arrived();
      // No ICE servers yet: TURN credentials are for people in the call, not a pre-join page.
      return { roomId: current.roomId, participantId, role: claims.role, displayName, avatar, settings: current.settings, resumeToken, mediaMode: room.callMode.prospective(), ...media };
    },

    resume: async ({ protocol, participantId, resumeToken, lastSeq }, { ws, session }) => {
      checkProtocol(protocol);
      if (session.participantId) throw new ProtocolError("already_joined", "this socket has already said hello");
      const presented = await sha256Hex(resumeToken);
      const participant = store.participant(participantId);
      const refuse = (why: string) => new ProtocolError("resume_failed", `cannot resume: ${why}; join again`);
      if (!participant || participant.resumeHash !== presented) throw refuse("unknown participant or resume token");
      if (participant.identity !== session.claims.sub) throw refuse("the token is for someone else");
      if (participant.presence === "reconnecting" && Date.now() - participant.disconnectedAt >= room.config.resumeWindowMs) {
        throw refuse("the resume window has passed");
      }
      if (!room.canReplayFrom(lastSeq)) throw refuse("too many events were missed");
      const [media, ice] = await Promise.all([
        participant.state === "prejoin" ? {} : mediaFor(room, session.geo, participantId),
        participant.state === "joined" ? iceFor(session, participantId) : {},
      ]);
      if (ws.readyState !== WebSocket.OPEN) throw new ProtocolError("closed", "socket closed during resume");
      // From here on everything is synchronous, so no event can slip between the replay and live delivery.
      const fresh = store.participant(participantId);
      if (!fresh) throw refuse("the participant was removed meanwhile");
      const previous = sockets.of(participantId);
      if (previous && previous !== ws) sockets.dismiss(previous, "replaced", RoomCloseCode.replaced);
      sockets.save(ws, { ...session, participantId, state: fresh.state, role: fresh.role });
      if (fresh.presence === "reconnecting") {
        store.setPresence(participantId, "connected", 0);
        if (fresh.state === "joined") room.publish("presence", { peerId: participantId, presence: "connected" }, { to: "joined", except: participantId });
      }
      const missed: EventFrame[] = room
        .missedBy(fresh, lastSeq)
        .map((e) => JSON.parse(encodeEvent(e.event, e.data, e.seq)) as EventFrame);
      const current = store.room()!;
      if (fresh.state === "joined") room.tellActiveSpeaker(participantId);
      void room.schedule();
      return {
        roomId: current.roomId,
        role: fresh.role,
        settings: current.settings,
        state: fresh.state,
        peers: fresh.state === "joined" ? room.peers(participantId) : [],
        missed,
        ...media,
        ...ice,
      };
    },

    routerCapabilities: async (_params, { session }) => {
      participantOf(room, session, "hello");
      return { routerRtpCapabilities: (await room.media.place(session.participantId!, session.geo)).rtpCapabilities };
    },

    iceServers: async (_params, { session }) => {
      const participant = participantOf(room, session, "joined");
      requireLiveToken(session);
      return { iceServers: await iceServersFor(env, session.geo, participant.id) };
    },

    renewToken: async ({ token }, { ws, session }) => {
      let claims;
      try {
        claims = await verifyJoinToken(env.SIGNING_KEYS, token, { room: room.roomId });
      } catch (error) {
        throw error instanceof ProtocolError ? error : new ProtocolError("unauthorized", "token not accepted");
      }
      if (claims.sub !== session.claims.sub) throw new ProtocolError("forbidden", "the token is for someone else");
      // Only the expiry moves: a role or name change takes a new connection.
      const current = sockets.session(ws);
      const exp = Math.max(current.claims.exp, claims.exp);
      sockets.save(ws, { ...current, claims: { ...current.claims, exp } });
      return { expiresAt: exp };
    },

    join: async ({ displayName }, { ws, session }) => {
      participantOf(room, session, "hello");
      requireLiveToken(session);
      // Minted first (it may be refused below: a wasted HMAC), so nothing awaits between
      // the checks and entering the call.
      const ice = await iceFor(session, session.participantId!);
      const participant = participantOf(room, session, "hello");
      if (participant.state !== "prejoin") throw new ProtocolError("already_joined", "already in the call or the lobby");
      const current = store.room()!;
      if (current.endedAt) throw new ProtocolError("room_closed", "this room has ended");
      const { settings } = current;
      const staff = participant.role !== "guest";
      if (settings.locked && !staff) throw new ProtocolError("room_locked", "the room is locked");
      if (store.countIn("joined") + store.countIn("lobby") >= settings.capacity) {
        throw new ProtocolError("room_full", `the room is full (${settings.capacity} people)`);
      }
      const name = displayName ?? participant.displayName;
      if (settings.lobby && !staff) {
        store.setState(participant.id, "lobby", Date.now(), name);
        sockets.save(ws, { ...session, state: "lobby" });
        room.publishLobby();
        return { status: "lobby" as const };
      }
      const lastSeq = room.enterCall(participant, name);
      // A host or moderator arriving after guests began to wait learns about them now.
      if (staff && store.countIn("lobby") > 0) room.publish("lobbyChanged", { waiting: store.lobby() }, { to: "one", id: participant.id });
      return { status: "joined" as const, peers: room.peers(participant.id), lastSeq, mediaMode: room.callMode.mode, ...ice };
    },

    leave: async (_params, context) => {
      const participant = participantOf(room, context.session, "hello");
      sockets.save(context.ws, { claims: context.session.claims, geo: context.session.geo });
      await room.removeParticipant(participant.id, "left");
      context.closeAfterReply = { code: RoomCloseCode.left, reason: "left" };
      return {};
    },
  };
}
