import type { SetStoreFunction } from "solid-js/store";
import type { Avatar, LobbyEntry, MediaKind, MediaSource, PeerInfo, Role, RoomSettings } from "@meridian/protocol";
import type { MediaDevicesLike } from "../lib/devices.ts";
import type { MediaEngine } from "../lib/media-engine.ts";
import type { Quality } from "../lib/network-quality.ts";
import type { CallError } from "./call-errors.ts";
import type { LocalMedia } from "./local-media.ts";
import type { ConnectionOptions, RoomConnection } from "./room-connection.ts";

export type CallPhase = "prejoin" | "joining" | "lobby" | "joined" | "left" | "ended" | "removed" | "failed";
/** The room socket: up, or being resumed in the background. */
export type SignalStatus = "connecting" | "connected" | "reconnecting";
/** The media plane: transports up, being rebuilt (ICE restart, node failover), or absent. */
export type MediaStatus = "connecting" | "connected" | "recovering" | "unavailable";

export interface RemoteStream {
  readonly producerId: string;
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
  /** Our own uplink, from the SFU's receiver reports. */
  quality: Quality;
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
  /** The engine to send and receive on, only while we are in the call with media. */
  joinedMedia(): MediaEngine | undefined;
  notify(tone: Notice["tone"], text: string): void;
}
