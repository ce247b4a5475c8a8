import type { SetStoreFunction } from "solid-js/store";
import type { Avatar, LobbyEntry, MediaKind, MediaMode, MediaSource, PeerInfo, Role, RoomSettings } from "@meridian/protocol";
import type { MediaDevicesLike } from "../lib/devices.ts";
import type { MediaEngine } from "../lib/media-engine.ts";
import type { MediaSender } from "../lib/media-sender.ts";
import type { Quality } from "../lib/network-quality.ts";
import type { CallError } from "./call-errors.ts";
import type { LocalMedia } from "./local-media.ts";
import type { ConnectionOptions, RoomConnection } from "./room-connection.ts";

export type CallPhase = "prejoin" | "joining" | "lobby" | "joined" | "left" | "ended" | "removed" | "failed";
/** The room socket: up, or being resumed in the background. */
export type SignalStatus = "connecting" | "connected" | "reconnecting";
/** The media plane: transports up, being rebuilt (ICE restart, node failover), or absent. */
export type MediaStatus = "connecting" | "connected" | "recovering" | "unavailable";
/** How our media travels now: browser to browser (directly or through a TURN relay) or through the SFU. */
export type MediaPath = "direct" | "relayed" | "server";

export interface RemoteStream {
  /** The SFU producer's id, or `p2p:<source>` for what the peer-to-peer link carries. */
  readonly producerId: string;
  /** Which path it arrives on. While a call switches paths a source has one of each for a moment. */
  readonly via: "sfu" | "p2p";
  readonly kind: MediaKind;
  readonly source: MediaSource;
  paused: boolean;
  track: MediaStreamTrack | undefined;
  /** The simulcast layer asked for (camera only), once asked. */
  layer: number | undefined;
}

export interface PeerView {
  id: string;
  displayName: string;
  role: Role;
  presence: PeerInfo["presence"];
  avatar: Avatar;
  /** What they send, by producer id; `track` once consumed. */
  streams: Record<string, RemoteStream>;
  quality: Quality;
}

export interface Notice {
  readonly id: number;
  readonly tone: "info" | "warn" | "error";
  readonly text: string;
  readonly action?: { readonly label: string; readonly run: () => void };
}

export interface CallState {
  phase: CallPhase;
  error: CallError | undefined;
  signal: SignalStatus;
  media: MediaStatus;
  mediaProblem: string | undefined;
  participantId: string | undefined;
  role: Role | undefined;
  /** The name the room or profile knows us by; the pre-join field starts with it. */
  suggestedName: string;
  displayName: string;
  avatar: Avatar | undefined;
  settings: RoomSettings | undefined;
  /** Warmed up (hello, device, transports): the join click costs one round trip. */
  ready: boolean;
  peers: Record<string, PeerView>;
  activeSpeakerId: string | undefined;
  /** Who waits in the lobby (hosts and moderators see it). */
  lobby: LobbyEntry[];
  screenTrack: MediaStreamTrack | undefined;
  /** Our own uplink, from the receiver reports of the SFU (or of the other browser). */
  quality: Quality;
  /** What the room says: peer-to-peer for a call of two (where allowed), the SFU otherwise. */
  mediaMode: MediaMode;
  /** What our media actually travels on (undefined before any does). */
  mediaPath: MediaPath | undefined;
  notices: Notice[];
}

export interface CallOptions extends ConnectionOptions {
  readonly devices?: MediaDevicesLike;
  readonly localMedia?: LocalMedia;
  /** Whether to read/write the profile over HTTP (off in unit tests). */
  readonly profile?: boolean;
  readonly statsIntervalMs?: number;
  readonly storage?: Pick<Storage, "getItem" | "setItem">;
}

/**
 * What the session's parts share. The connection is asked for each time, never kept:
 * a resume or rejoin replaces it, and work begun on an older one must see that and stop.
 */
export interface CallCore {
  readonly state: CallState;
  readonly set: SetStoreFunction<CallState>;
  connection(): RoomConnection | undefined;
  /** The SFU engine to send and receive on, only while we are in the call with media and the SFU is a path. */
  joinedMedia(): MediaEngine | undefined;
  /** Every path we send on now (the SFU's, the peer-to-peer link's, both while switching). */
  senders(): MediaSender[];
  /** Stats of one remote stream, from the path it arrives on. */
  receiveStats(stream: RemoteStream): Promise<RTCStatsReport> | undefined;
  /** Stats of what we send, on the path the call uses. */
  sendStats(): Promise<RTCStatsReport> | undefined;
  notify(tone: Notice["tone"], text: string): void;
}

/**
 * The stream a tile shows for one source: the one that has a track (while a call switches
 * paths the new one waits without a track until its media decodes), else any.
 */
export function streamOf(streams: Record<string, RemoteStream>, source: MediaSource): RemoteStream | undefined {
  let found: RemoteStream | undefined;
  for (const stream of Object.values(streams)) {
    if (stream.source !== source) continue;
    if (stream.track) return stream;
    found ??= stream;
  }
  return found;
}
