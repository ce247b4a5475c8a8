import * as v from "valibot";
import { ErrorBody } from "./errors.ts";
import { EventFrame } from "./frames.ts";
import {
  Direction,
  DtlsParameters,
  IceParameters,
  IceServer,
  Id,
  Layers,
  StatsList,
  MediaKind,
  MediaSource,
  RtpCapabilities,
  RtpParameters,
  TransportOptions,
} from "./media.ts";
import { Empty, method } from "./methods.ts";

/** The browser <-> room Durable Object wire. */

/** Largest text frame a browser may send to its room (RTP capabilities are the bulk). */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
/** Longest chat message, in characters. */
export const MAX_CHAT_CHARS = 4000;
/** Most chat messages one history page returns. */
export const MAX_CHAT_PAGE = 200;

/**
 * The WebSocket subprotocols a browser offers: the protocol version, and its join token
 * as `bearer.<jwt>` (a header, so the token never lands in a URL or an access log).
 */
export const ROOM_SUBPROTOCOL = "meridian.v1";
export const TOKEN_SUBPROTOCOL_PREFIX = "bearer.";

/** Sent as a text frame, answered "pong" by the runtime without waking the room. */
export const KEEPALIVE_PING = "ping";
export const KEEPALIVE_PONG = "pong";

export const DisplayName = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(64));

export const Role = v.picklist(["host", "moderator", "guest"]);
export type Role = v.InferOutput<typeof Role>;

export const Avatar = v.object({
  color: v.pipe(v.string(), v.regex(/^#[0-9a-fA-F]{6}$/)),
  initials: v.pipe(v.string(), v.maxLength(3)),
});
export type Avatar = v.InferOutput<typeof Avatar>;

export const ProducerInfo = v.object({
  id: Id,
  kind: MediaKind,
  source: MediaSource,
  paused: v.boolean(),
});
export type ProducerInfo = v.InferOutput<typeof ProducerInfo>;

export const Presence = v.picklist(["connected", "reconnecting"]);
export type Presence = v.InferOutput<typeof Presence>;

export const PeerInfo = v.object({
  id: Id,
  displayName: v.string(),
  role: Role,
  avatar: Avatar,
  presence: Presence,
  producers: v.array(ProducerInfo),
});
export type PeerInfo = v.InferOutput<typeof PeerInfo>;

export const RoomSettings = v.object({
  /** Anyone with the link may get a guest token. */
  open: v.boolean(),
  /** Guests wait in a lobby until a host or moderator admits them. */
  lobby: v.boolean(),
  /** Only hosts and moderators may join. */
  locked: v.boolean(),
  /** Most participants in the call at once. */
  capacity: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** A call of two may go browser to browser (absent: yes). False keeps every call on the SFU. */
  p2p: v.optional(v.boolean()),
});
export type RoomSettings = v.InferOutput<typeof RoomSettings>;

/**
 * How a call's media flows: `p2p` browser to browser (a call of two, where the room
 * allows it), `sfu` through the room's SFU nodes.
 */
export const MediaMode = v.picklist(["sfu", "p2p"]);
export type MediaMode = v.InferOutput<typeof MediaMode>;

/** SDP is a few KiB; this bounds it well inside a frame. */
const Sdp = v.pipe(v.string(), v.maxLength(32 * 1024));

/**
 * What one browser of a peer-to-peer call tells the other through the room (perfect
 * negotiation): a description, an ICE candidate (null: end of candidates), or which of its
 * transceivers carries which source and whether it is paused.
 */
export const P2PSignal = v.variant("type", [
  v.object({ type: v.literal("description"), description: v.object({ type: v.picklist(["offer", "answer", "pranswer", "rollback"]), sdp: v.optional(Sdp) }) }),
  v.object({
    type: v.literal("candidate"),
    candidate: v.nullable(
      v.object({
        candidate: v.pipe(v.string(), v.maxLength(1024)),
        sdpMid: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(32)))),
        sdpMLineIndex: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(64)))),
        usernameFragment: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(256)))),
      }),
    ),
  }),
  v.object({
    type: v.literal("sources"),
    /** Transceiver mid → what it sends. */
    sources: v.pipe(
      v.record(v.pipe(v.string(), v.maxLength(32)), v.object({ source: MediaSource, paused: v.boolean() })),
      v.maxEntries(8),
    ),
  }),
]);
export type P2PSignal = v.InferOutput<typeof P2PSignal>;

export const ChatMessage = v.object({
  seq: v.pipe(v.number(), v.integer(), v.minValue(1)),
  from: Id,
  name: v.string(),
  text: v.string(),
  sentAt: v.number(),
  clientId: v.string(),
});
export type ChatMessage = v.InferOutput<typeof ChatMessage>;

export const LobbyEntry = v.object({ id: Id, displayName: v.string(), avatar: Avatar, since: v.number() });
export type LobbyEntry = v.InferOutput<typeof LobbyEntry>;

export const LeaveReason = v.picklist(["left", "kicked", "timeout", "ended"]);

const Media = {
  /** Absent when no media server is available: the room still works for chat and presence. */
  routerRtpCapabilities: v.optional(RtpCapabilities),
  mediaError: v.optional(ErrorBody),
};

/**
 * STUN/TURN servers near the participant, with short-lived TURN credentials: only for
 * someone in the call (the join answer, a resume of someone in it, `iceServers`), never
 * for a pre-join page or the lobby. Transports made before take them on their next
 * gathering (`updateIceServers`), which comes with the first produce or consume.
 */
const Ice = {
  iceServers: v.optional(v.array(IceServer)),
};

const Joined = v.object({
  status: v.literal("joined"),
  peers: v.array(PeerInfo),
  /** Seq of the last logged event the joiner is already up to date with. */
  lastSeq: v.number(),
  /** How the call's media flows now that this participant is in it. */
  mediaMode: MediaMode,
  ...Ice,
});
const InLobby = v.object({ status: v.literal("lobby") });

/**
 * Requests a browser sends to its room. A socket says `hello` as soon as the pre-join page
 * opens: it gets the router's capabilities and may create its transports, invisible to
 * everyone. `join` (the user's click) makes it a participant the others see — or puts a
 * guest in the lobby when the room has one. A socket that dropped can `resume` instead of
 * `hello` within the resume window and receives every event it missed.
 */
export const roomMethods = {
  hello: method(
    v.object({ protocol: v.number() }),
    v.object({
      roomId: Id,
      participantId: Id,
      role: Role,
      displayName: v.string(),
      avatar: Avatar,
      settings: RoomSettings,
      /** Present this to `resume` after a dropped socket. */
      resumeToken: v.string(),
      /** How the call's media would flow were this participant to join now (SFU transports are worth warming up only for `sfu`). */
      mediaMode: MediaMode,
      ...Media,
    }),
  ),
  resume: method(
    v.object({
      protocol: v.number(),
      participantId: Id,
      resumeToken: v.pipe(v.string(), v.maxLength(128)),
      lastSeq: v.pipe(v.number(), v.integer(), v.minValue(0)),
    }),
    v.object({
      roomId: Id,
      role: Role,
      settings: RoomSettings,
      state: v.picklist(["joined", "lobby", "prejoin"]),
      peers: v.array(PeerInfo),
      /** Every event after `lastSeq` meant for this participant, in order: applied before live ones. */
      missed: v.array(EventFrame),
      ...Media,
      ...Ice,
    }),
  ),
  /** Retries media placement after `hello` reported none available. */
  routerCapabilities: method(Empty, v.object({ routerRtpCapabilities: RtpCapabilities })),
  /** Fresh TURN credentials (they are short-lived), e.g. before an ICE restart; in the call only. */
  iceServers: method(Empty, v.object({ iceServers: v.array(IceServer) })),
  /**
   * A join token admits to the room; the socket may stay in the call after it expires,
   * but joining and fresh TURN credentials need one that has not: a long call presents a
   * new token (same room, same identity) here.
   */
  renewToken: method(v.object({ token: v.pipe(v.string(), v.maxLength(4096)) }), v.object({ expiresAt: v.number() })),
  join: method(v.object({ displayName: v.optional(DisplayName) }), v.variant("status", [Joined, InLobby])),
  leave: method(Empty, Empty),

  createTransport: method(
    v.object({ direction: Direction, rtpCapabilities: v.optional(RtpCapabilities) }),
    TransportOptions,
  ),
  connectTransport: method(v.object({ transportId: Id, dtlsParameters: DtlsParameters }), Empty),
  /** Gives a transport back, with its producers and consumers (a call gone peer-to-peer needs none on the SFU). */
  closeTransport: method(v.object({ transportId: Id }), Empty),
  produce: method(
    v.object({ transportId: Id, kind: MediaKind, source: MediaSource, rtpParameters: RtpParameters, paused: v.optional(v.boolean()) }),
    v.object({ producerId: Id }),
  ),
  closeProducer: method(v.object({ producerId: Id }), Empty),
  /** Mute / unmute one's own producer (the others see it as paused). */
  setProducerPaused: method(v.object({ producerId: Id, paused: v.boolean() }), Empty),
  consume: method(
    v.object({ transportId: Id, producerId: Id }),
    v.object({
      consumerId: Id,
      producerId: Id,
      peerId: Id,
      kind: MediaKind,
      source: MediaSource,
      producerPaused: v.boolean(),
      rtpParameters: RtpParameters,
    }),
  ),
  resumeConsumer: method(v.object({ consumerId: Id }), Empty),
  /** Which simulcast layer this subscriber wants (tile size, bandwidth). */
  setPreferredLayers: method(v.object({ consumerId: Id, ...Layers.entries }), Empty),
  /** New ICE credentials for one of one's transports (after a network change). */
  restartIce: method(v.object({ transportId: Id }), v.object({ iceParameters: IceParameters })),
  /** The node's stats of one of one's transports (and its producers/consumers). */
  transportStats: method(v.object({ transportId: Id }), v.object({ stats: StatsList })),
  /**
   * This browser's transports lost their media server (ICE disconnected or failed). When
   * the server's node has also stopped answering the edge, the room moves everyone on it
   * now (`moved: true`, then `mediaReset`) instead of waiting out the node's reconnect
   * grace; otherwise (`moved: false`) the browser restarts ICE as usual.
   */
  mediaUnreachable: method(Empty, v.object({ moved: v.boolean() })),

  sendChat: method(
    v.object({
      /** Chosen by the sender; a resend with the same id is not stored twice. */
      clientId: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
      text: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(MAX_CHAT_CHARS)),
    }),
    v.object({ seq: v.number(), sentAt: v.number() }),
  ),
  chatHistory: method(
    v.object({
      /** Messages with a seq below this one; the newest page when absent. */
      before: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
      limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_CHAT_PAGE))),
    }),
    v.object({ messages: v.array(ChatMessage), hasMore: v.boolean() }),
  ),

  // Host and moderator actions, checked by role in the room.
  admit: method(v.object({ participantId: Id }), Empty),
  deny: method(v.object({ participantId: Id }), Empty),
  kick: method(v.object({ participantId: Id }), Empty),
  mute: method(v.object({ participantId: Id }), Empty),
  updateSettings: method(v.object({ locked: v.optional(v.boolean()), lobby: v.optional(v.boolean()), p2p: v.optional(v.boolean()) }), RoomSettings),
  /**
   * Peer-to-peer: a signal for the other browser of a call of two, relayed by the room
   * only while the call is in `p2p` mode and only between its two participants.
   */
  p2pSignal: method(v.object({ to: Id, signal: P2PSignal }), Empty),
  /** The direct connection did not connect, or failed and an ICE restart did not bring it back: the call moves to the SFU. */
  p2pFailed: method(Empty, Empty),
  endRoom: method(Empty, Empty),
  requestRecording: method(Empty, Empty),
} as const;
export type RoomMethods = typeof roomMethods;

/** Events a room pushes to browsers. */
export const roomEvents = {
  peerJoined: v.object({ peer: PeerInfo }),
  peerLeft: v.object({ peerId: Id, reason: LeaveReason }),
  presence: v.object({ peerId: Id, presence: Presence }),
  newProducer: v.object({ peerId: Id, producer: ProducerInfo }),
  producerClosed: v.object({ peerId: Id, producerId: Id }),
  producerPaused: v.object({ peerId: Id, producerId: Id, paused: v.boolean() }),
  chat: v.object({ message: ChatMessage }),
  settingsChanged: v.object({ settings: RoomSettings }),
  /** To hosts and moderators: who is waiting. */
  lobbyChanged: v.object({ waiting: v.array(LobbyEntry) }),
  /** To a waiting guest: you are in; the room as it is now. */
  admitted: v.object({ peers: v.array(PeerInfo), lastSeq: v.number(), mediaMode: MediaMode }),
  /** Who is speaking now (the loudest, held for a moment), or nobody. */
  activeSpeaker: v.object({ peerId: v.nullable(Id) }),
  /**
   * Your media moved to another SFU node (yours failed or is draining): your transports,
   * producers and consumers are gone. Load these capabilities, create transports again,
   * produce again, and consume what `peers` sends (the others' producers that live on;
   * those that moved with you come back as `newProducer`). No click needed.
   */
  mediaReset: v.object({ routerRtpCapabilities: RtpCapabilities, reason: v.string(), peers: v.optional(v.array(PeerInfo)) }),
  /**
   * The room lost touch with your media server (its node's control link closed): if media
   * no longer reaches you either, say so with `mediaUnreachable` and the room moves you at
   * once; if it still flows, do nothing (the node is only reconnecting). Not logged.
   */
  mediaCheck: Empty,
  /**
   * The call's media mode changed (a third person joined, the call is down to two after a
   * hold-off, the direct connection failed, the host forbade P2P). Keep what plays until
   * the new path's media is decoded.
   */
  mediaMode: v.object({ mode: MediaMode, reason: v.string() }),
  /** A peer-to-peer signal from the other browser of the call. Not logged. */
  p2pSignal: v.object({ from: Id, signal: P2PSignal }),
  /** To a participant whose microphone a host closed. */
  mutedBy: v.object({ by: Id }),
  /** The socket is about to close for this reason. */
  removed: v.object({ reason: v.picklist(["kicked", "denied", "ended", "timeout", "replaced"]) }),
  roomEnded: Empty,
  /** An error not tied to a request (e.g. a frame whose id could not be read). */
  error: ErrorBody,
} as const;
export type RoomEvents = typeof roomEvents;

/** WebSocket close codes the room uses, so the browser can tell the user why. */
export const RoomCloseCode = {
  left: 1000,
  /** A newer socket resumed this participant. */
  replaced: 4001,
  /** No keepalive for too long. */
  silent: 4002,
  kicked: 4003,
  ended: 4004,
  denied: 4005,
  /** Opened, but no hello within the deadline (pings do not count). */
  noHello: 4007,
  rateLimited: 4008,
} as const;
