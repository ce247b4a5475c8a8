import { batch } from "solid-js";
import { createStore, produce, type SetStoreFunction } from "solid-js/store";
import {
  isProtocolError,
  type Avatar,
  type EventData,
  type IceServer,
  type LobbyEntry,
  type MediaKind,
  type MediaSource,
  type PeerInfo,
  type ProducerInfo,
  type Role,
  type RoomEvents,
  type RoomSettings,
  type RtpCapabilities,
} from "@meridian/protocol";
import { getProfile, updateProfile } from "../lib/api.ts";
import type { MediaDevicesLike } from "../lib/devices.ts";
import { layerForHeight } from "../lib/layout.ts";
import { StaleMediaError, type MediaEngine, type TransportState } from "../lib/media-engine.ts";
import { DownlinkBudget, QualityMeter, sampleOf, type Layer, type Quality } from "../lib/network-quality.ts";
import { rememberRoom } from "../lib/recent-rooms.ts";
import { REMOVED, callErrorOf, closeError, type CallError } from "./call-errors.ts";
import { ChatStore } from "./chat.ts";
import { LocalMedia } from "./local-media.ts";
import { RoomConnection, type ConnectionOptions, type EventKey } from "./room-connection.ts";

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

/** How long to keep trying to resume after the socket drops (the room's window is 30 s). */
const RESUME_FOR_MS = 25_000;
/** How long to keep trying to join again once resuming is impossible. */
const REJOIN_FOR_MS = 120_000;
const STATS_INTERVAL_MS = 2_000;
/** Room close codes after which resuming makes no sense (see RoomCloseCode). */
const FINAL_CLOSE_CODES = new Set([4001, 4003, 4004, 4005, 4006]);
const LAYER_DEBOUNCE_MS = 300;
const NOTICE_MS = 6_000;

/**
 * One call: the room connection, the media engine and the reactive state the UI renders.
 * Components read `state` (and `chat.state`, `local.state`) and call the methods; they
 * never touch WebRTC or the socket.
 *
 * The pre-join page calls `prepare`: camera preview, room socket, hello, device and
 * transports. The Join click then only costs `join` and the consumes. A dropped socket is
 * resumed in the background (the call shows "reconnecting"), without losing events; a
 * media reset (the room's node failed) rebuilds every transport, producer and consumer
 * without a click.
 */
export class CallSession {
  readonly roomId: string;
  readonly state: CallState;
  readonly chat: ChatStore;
  readonly local: LocalMedia;
  readonly #set: SetStoreFunction<CallState>;
  readonly #options: CallOptions;
  #connection: Promise<RoomConnection> | undefined;
  #current: RoomConnection | undefined;
  /** Producers announced before our join was answered; consumed right after it. */
  #announced: Array<{ peerId: string; producer: ProducerInfo }> | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  readonly #meters = new Map<string, QualityMeter>();
  readonly #uplink = new QualityMeter();
  readonly #layerTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Each camera tile's last size, to ask again when the downlink budget changes. */
  readonly #tiles = new Map<string, { peerId: string; heightPx: number; pixelRatio: number }>();
  readonly #downlink = new DownlinkBudget();
  #noticeId = 0;
  #knownWaiting = new Set<string>();
  #disposed = false;

  constructor(roomId: string, options: CallOptions = {}) {
    this.roomId = roomId;
    this.#options = options;
    this.local = options.localMedia ?? new LocalMedia(options.devices);
    [this.state, this.#set] = createStore<CallState>({
      phase: "prejoin",
      error: undefined,
      signal: "connecting",
      media: "connecting",
      mediaProblem: undefined,
      participantId: undefined,
      role: undefined,
      suggestedName: "",
      displayName: "",
      avatar: undefined,
      settings: undefined,
      ready: false,
      peers: {},
      activeSpeakerId: undefined,
      lobby: [],
      screenTrack: undefined,
      quality: "unknown",
      notices: [],
    });
    const storage = options.storage ?? globalThis.sessionStorage;
    this.chat = new ChatStore({
      requester: () => (this.#current && this.#current.signalling.open ? this.#current.signalling : undefined),
      selfId: () => this.state.participantId,
      selfName: () => this.state.displayName,
      storage,
      storageKey: `meridian.chat.mine.${roomId}`,
    });
  }

  get isStaff(): boolean {
    return this.state.role === "host" || this.state.role === "moderator";
  }

  /** Warms everything up before the click; safe to call repeatedly. Failures surface on join. */
  prepare(): void {
    void this.local.start();
    void this.#connect().catch((error: unknown) => {
      // A room that does not exist or has ended is worth saying before the click.
      const failure = callErrorOf(error);
      if (failure.kind !== "other") this.#fail(failure);
    });
    if (this.#options.profile !== false) {
      void getProfile()
        .then((profile) => {
          if (!profile) return;
          if (profile.displayName && !this.state.suggestedName) this.#set("suggestedName", profile.displayName);
          if (profile.preferences) this.local.applyPreferences(profile.preferences);
        })
        .catch(() => undefined);
    }
  }

  async join(displayName: string): Promise<void> {
    if (this.state.phase !== "prejoin" && this.state.phase !== "left" && this.state.phase !== "failed") return;
    this.#set({ phase: "joining", error: undefined, displayName, peers: {}, lobby: [] });
    this.local.savePreferences();
    let connection: RoomConnection | undefined;
    try {
      connection = await this.#connect();
      this.#announced = [];
      const answer = await connection.signalling.request("join", { displayName });
      if (answer.status === "lobby") {
        this.#announced = undefined;
        this.#set("phase", "lobby");
        return;
      }
      await this.#enter(connection, answer.peers, answer.lastSeq, answer.iceServers);
    } catch (error) {
      if (!connection || this.#current === connection) this.#fail(callErrorOf(error));
      return;
    }
    // After the media is up, not competing with it: the name and devices for next time.
    if (this.#options.profile !== false) void updateProfile({ displayName, preferences: this.local.preferences }).catch(() => undefined);
  }

  leave(): void {
    const signalling = this.#current?.signalling;
    const inRoom = this.state.phase === "joined" || this.state.phase === "lobby";
    if (signalling?.open && inRoom) void signalling.request("leave", {}).catch(() => undefined);
    this.#teardown();
    this.#set({ phase: "left", peers: {}, lobby: [], activeSpeakerId: undefined });
  }

  /** Back to the pre-join page after leaving or a failure: warm up again. */
  restart(): void {
    this.#set({ phase: "prejoin", error: undefined });
    this.prepare();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.state.phase === "joined" || this.state.phase === "lobby" || this.state.phase === "joining") this.leave();
    else this.#teardown();
    this.local.dispose();
  }

  // ── own media ────────────────────────────────────────────────────────────────

  async toggleMic(): Promise<void> {
    const on = !this.local.state.micOn;
    const track = await this.local.setMic(on);
    const media = this.#sendingMedia();
    if (!media) return;
    await this.#tolerate(async () => {
      if (media.producer("mic")) await media.setPaused("mic", !on);
      else if (on && track) await media.produce(track, "mic");
    });
  }

  async toggleCamera(): Promise<void> {
    const on = !this.local.state.cameraOn;
    const track = await this.local.setCamera(on);
    const media = this.#sendingMedia();
    if (!media) return;
    await this.#tolerate(async () => {
      if (!on) return media.setPaused("camera", true);
      if (!track) return;
      if (media.producer("camera")) {
        await media.replaceTrack("camera", track);
        await media.setPaused("camera", false);
      } else await media.produce(track, "camera");
    });
  }

  async toggleScreen(): Promise<void> {
    if (this.state.screenTrack) return this.stopScreen();
    const devices = this.#options.devices ?? globalThis.navigator?.mediaDevices;
    if (!devices?.getDisplayMedia) {
      this.notify("warn", "This browser cannot share its screen.");
      return;
    }
    let stream: MediaStream;
    try {
      stream = await devices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: true });
    } catch (error) {
      // Cancelling the picker is a choice, not an error.
      if ((error as { name?: string }).name !== "NotAllowedError") this.notify("error", `Screen sharing did not start: ${(error as Error).message}`);
      return;
    }
    const [video] = stream.getVideoTracks();
    if (!video) return;
    if ("contentHint" in video) video.contentHint = "detail";
    video.addEventListener("ended", () => void this.stopScreen());
    this.#set("screenTrack", video);
    const media = this.#sendingMedia();
    if (!media) return;
    await this.#tolerate(async () => {
      await media.produce(video, "screen");
      const [audio] = stream.getAudioTracks();
      if (audio) await media.produce(audio, "screen-audio");
    });
  }

  async stopScreen(): Promise<void> {
    const track = this.state.screenTrack;
    if (!track) return;
    this.#set("screenTrack", undefined);
    const media = this.#sendingMedia();
    const audio = media?.producer("screen-audio")?.track;
    track.stop();
    audio?.stop();
    if (!media) return;
    await this.#tolerate(async () => {
      await media.closeProducer("screen");
      await media.closeProducer("screen-audio");
    });
  }

  async selectCamera(deviceId: string): Promise<void> {
    const track = await this.local.selectCamera(deviceId);
    this.local.savePreferences();
    const media = this.#sendingMedia();
    if (media && track) await this.#tolerate(() => media.replaceTrack("camera", track));
  }

  async selectMic(deviceId: string): Promise<void> {
    const track = await this.local.selectMic(deviceId);
    this.local.savePreferences();
    const media = this.#sendingMedia();
    if (media && track) await this.#tolerate(() => media.replaceTrack("mic", track));
  }

  selectSpeaker(deviceId: string): void {
    this.local.selectSpeaker(deviceId);
    this.local.savePreferences();
  }

  /**
   * A tile showing a camera changed size: ask the SFU for the layer that fills it, or a
   * smaller one while our downlink struggles (the SFU's own estimate then trims further).
   */
  setTileSize(peerId: string, producerId: string, heightPx: number, pixelRatio = globalThis.devicePixelRatio ?? 1): void {
    const stream = this.state.peers[peerId]?.streams[producerId];
    if (!stream || stream.source !== "camera") return;
    this.#tiles.set(producerId, { peerId, heightPx, pixelRatio });
    const layer = Math.min(layerForHeight(heightPx, pixelRatio), this.#downlink.cap) as Layer;
    clearTimeout(this.#layerTimers.get(producerId));
    if (stream.layer === layer) return;
    this.#layerTimers.set(
      producerId,
      setTimeout(() => {
        this.#layerTimers.delete(producerId);
        const media = this.#current?.media;
        if (!media) return;
        void media
          .setPreferredLayer(producerId, layer)
          .then((asked) => {
            if (asked && this.state.peers[peerId]?.streams[producerId]) this.#set("peers", peerId, "streams", producerId, "layer", layer);
          })
          .catch(() => undefined);
      }, LAYER_DEBOUNCE_MS),
    );
  }

  // ── host and moderator actions ───────────────────────────────────────────────

  admit(participantId: string): Promise<void> {
    return this.#act("admit", () => this.#request("admit", { participantId }));
  }

  deny(participantId: string): Promise<void> {
    return this.#act("deny", () => this.#request("deny", { participantId }));
  }

  kick(participantId: string): Promise<void> {
    return this.#act("remove", () => this.#request("kick", { participantId }));
  }

  mutePeer(participantId: string): Promise<void> {
    return this.#act("mute", () => this.#request("mute", { participantId }));
  }

  setLocked(locked: boolean): Promise<void> {
    return this.#act("lock", async () => {
      const settings = await this.#request("updateSettings", { locked });
      this.#set("settings", settings);
    });
  }

  setLobby(lobby: boolean): Promise<void> {
    return this.#act("lobby", async () => {
      const settings = await this.#request("updateSettings", { lobby });
      this.#set("settings", settings);
    });
  }

  async endForAll(): Promise<void> {
    await this.#act("end the call", async () => {
      await this.#request("endRoom", {});
      // The room closes our socket next: that is the end, not a drop to recover from.
      this.#teardown();
      this.#set({ phase: "ended", error: { kind: "ended", message: "You ended the meeting for everyone." }, peers: {}, lobby: [] });
    });
  }

  /** Tries to place media again after hello found no media server. */
  async retryMedia(): Promise<void> {
    const connection = this.#current;
    if (!connection) return;
    try {
      this.#set({ media: "connecting", mediaProblem: undefined });
      await connection.retryMedia();
      this.#set("media", "connected");
      if (this.state.phase !== "joined") return;
      await this.#consumeAll(connection.media);
      await this.#publish(connection.media);
    } catch (error) {
      this.#set({ media: "unavailable", mediaProblem: callErrorOf(error).message });
    }
  }

  notify(tone: Notice["tone"], text: string, action?: Notice["action"]): number {
    const id = ++this.#noticeId;
    this.#set("notices", (list) => [...list.slice(-3), { id, tone, text, ...(action ? { action } : {}) }]);
    if (tone !== "error" && !action) setTimeout(() => this.dismiss(id), NOTICE_MS);
    return id;
  }

  dismiss(id: number): void {
    this.#set("notices", (list) => list.filter((n) => n.id !== id));
  }

  // ── joining ──────────────────────────────────────────────────────────────────

  /**
   * In the call (joined or admitted from the lobby): show everyone, take the TURN servers
   * a member gets (with the join answer, or asked for after an admission), consume, then
   * produce.
   */
  async #enter(connection: RoomConnection, peers: PeerInfo[], lastSeq: number, iceServers?: IceServer[]): Promise<void> {
    connection.advanceTo(lastSeq);
    const announced = this.#announced ?? [];
    this.#announced = undefined;
    batch(() => {
      for (const peer of peers) this.#addPeer(peer);
      for (const { peerId, producer } of announced) this.#addStream(peerId, producer);
      this.#set({ phase: "joined", signal: "connected" });
    });
    rememberRoom({ roomId: this.roomId, role: this.state.role ?? "guest" });
    void this.chat.loadLatest().catch(() => undefined);
    void this.chat.resendPending();
    this.#startStats();
    if (!connection.hasMedia) return;
    const media = connection.media;
    if (iceServers) media.setIceServers(iceServers);
    // Without TURN the call may still connect directly: a failed refresh is no reason to stop.
    else await media.refreshIceServers().catch(() => undefined);
    if (this.#current !== connection) return;
    // Receive first: the browser's WebRTC signalling thread is shared, and a user sees
    // the room sooner if the consumers' negotiations do not queue behind our producers'.
    await this.#consumeAll(media);
    if (this.#current !== connection) return;
    await this.#publish(media);
  }

  /** Sends what the user has on: the microphone (paused when muted), camera, screen. */
  async #publish(media: MediaEngine): Promise<void> {
    await this.local.start();
    if (this.#current?.media !== media || this.state.phase !== "joined") return;
    const { micTrack, micOn, cameraTrack, cameraOn } = this.local.state;
    const screen = this.state.screenTrack;
    await this.#tolerate(() =>
      Promise.all([
        micTrack && !media.producer("mic") ? media.produce(micTrack, "mic", { paused: !micOn }) : undefined,
        cameraTrack && cameraOn && !media.producer("camera") ? media.produce(cameraTrack, "camera") : undefined,
        screen && screen.readyState === "live" && !media.producer("screen") ? media.produce(screen, "screen") : undefined,
      ]),
    );
    // A mute or camera-off clicked while its producer was being made found nothing to
    // pause: the producer follows what the user chose by now.
    await this.#tolerate(async () => {
      const { micOn, cameraOn } = this.local.state;
      if (media.pausedInRoom("mic") === micOn) await media.setPaused("mic", !micOn);
      if (!cameraOn && media.pausedInRoom("camera") === false) await media.setPaused("camera", true);
    });
  }

  /** The current connection, or a new one: token, socket, hello, device, transports. */
  #connect(): Promise<RoomConnection> {
    this.#connection ??= (async () => {
      try {
        // A rejoin keeps showing "reconnecting" until it is through.
        this.#set({ signal: this.state.signal === "reconnecting" ? "reconnecting" : "connecting", media: "connecting" });
        const { connection, hello } = await RoomConnection.open(this.roomId, (event, data) => this.#apply(event, data), {
          ...(this.#options.endpoint ? { endpoint: this.#options.endpoint } : {}),
          media: { ...this.#options.media, onTransportState: (_direction, state) => this.#onTransportState(state) },
        });
        this.#adopt(connection);
        this.#set({
          participantId: hello.participantId,
          role: hello.role,
          avatar: hello.avatar,
          settings: hello.settings,
          ready: true,
          signal: "connected",
          media: hello.routerRtpCapabilities ? "connected" : "unavailable",
          mediaProblem: hello.mediaError ? `No media server is available right now (${hello.mediaError.message}).` : undefined,
          ...(!this.state.suggestedName && hello.displayName && hello.displayName !== "Guest" ? { suggestedName: hello.displayName } : {}),
        });
        return connection;
      } catch (error) {
        this.#connection = undefined;
        throw error;
      }
    })();
    return this.#connection;
  }

  #adopt(connection: RoomConnection): void {
    this.#current = connection;
    connection.signalling.onClose(({ code, reason }) => {
      if (this.#current !== connection) return;
      const phase = this.state.phase;
      // Kicked, ended, denied, replaced, outdated: final, whether or not the event made it first.
      if (FINAL_CLOSE_CODES.has(code)) this.#fail(closeError(code, reason));
      else if (phase === "joined" || phase === "lobby") void this.#recover(connection);
      else if (phase === "prejoin" || phase === "joining") {
        this.#dropConnection();
        if (code >= 4000 && code !== 4002) this.#fail(closeError(code, reason));
      } else if (code >= 4000) this.#fail(closeError(code, reason));
    });
  }

  /** The socket dropped mid-call: resume for as long as the room keeps our place, else rejoin. */
  async #recover(lost: RoomConnection): Promise<void> {
    this.#set("signal", "reconnecting");
    const deadline = Date.now() + RESUME_FOR_MS;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      if (this.#current !== lost) return;
      try {
        const { connection, resumed } = await RoomConnection.resume(this.roomId, lost, (event, data) => this.#apply(event, data), {
          ...(this.#options.endpoint ? { endpoint: this.#options.endpoint } : {}),
        });
        if (this.#current !== lost) {
          connection.signalling.close();
          return;
        }
        this.#adopt(connection);
        this.#connection = Promise.resolve(connection);
        // Dropped while joining again: the room has us on its pre-join list, not in the call.
        if (resumed.state === "prejoin" && this.state.phase === "joined") {
          await this.#rejoin();
          return;
        }
        batch(() => {
          this.#reconcile(resumed.peers);
          this.#set({ phase: resumed.state === "lobby" ? "lobby" : this.state.phase, settings: resumed.settings, role: resumed.role, signal: "connected" });
        });
        void this.chat.resendPending();
        return;
      } catch (error) {
        if (isProtocolError(error, "resume_failed")) break;
      }
      await new Promise((r) => setTimeout(r, Math.min(4000, 250 * 2 ** attempt)));
    }
    if (this.#current !== lost) return;
    await this.#rejoin();
  }

  /**
   * The room no longer holds our place (or never answered in time): join again from
   * scratch, still on the call page with "reconnecting" showing, keeping our tracks and
   * chat. Gives up only on an answer that will not change (ended, locked, removed) or after
   * REJOIN_FOR_MS.
   */
  async #rejoin(): Promise<void> {
    const name = this.state.displayName;
    const deadline = Date.now() + REJOIN_FOR_MS;
    this.#teardown(false);
    this.#set({ peers: {}, lobby: [], activeSpeakerId: undefined, signal: "reconnecting" });
    for (let attempt = 0; ; attempt++) {
      let connection: RoomConnection | undefined;
      try {
        connection = await this.#connect();
        this.#announced = [];
        const answer = await connection.signalling.request("join", { displayName: name });
        if (answer.status === "lobby") {
          this.#announced = undefined;
          this.#set({ phase: "lobby", signal: "connected" });
          return;
        }
        await this.#enter(connection, answer.peers, answer.lastSeq, answer.iceServers);
        return;
      } catch (error) {
        if (this.#disposed || (connection && this.#current !== connection)) return;
        const failure = callErrorOf(error);
        if (failure.kind !== "other" || Date.now() > deadline) {
          this.#fail(failure.kind === "other" ? { kind: "other", message: `Could not reconnect: ${failure.message}` } : failure);
          return;
        }
        this.#dropConnection();
      }
      await new Promise((r) => setTimeout(r, Math.min(8000, 500 * 2 ** attempt)));
      if (this.#disposed || this.state.phase !== "joined") return;
    }
  }

  /** After a resume: the room's peer list is the truth; drop what vanished, add what is new. */
  #reconcile(peers: PeerInfo[]): void {
    const media = this.#current?.hasMedia ? this.#current.media : undefined;
    const present = new Set(peers.map((p) => p.id));
    for (const id of Object.keys(this.state.peers)) {
      if (!present.has(id)) this.#apply("peerLeft", { peerId: id, reason: "left" });
    }
    for (const peer of peers) {
      this.#addPeer(peer);
      this.#set("peers", peer.id, { presence: peer.presence, displayName: peer.displayName, role: peer.role });
      const known = this.state.peers[peer.id]!.streams;
      const live = new Set(peer.producers.map((p) => p.id));
      for (const producerId of Object.keys(known)) if (!live.has(producerId)) this.#dropStream(peer.id, producerId);
      for (const producer of peer.producers) {
        this.#addStream(peer.id, producer);
        if (media) void this.#consume(media, producer);
      }
    }
  }

  // ── room events ──────────────────────────────────────────────────────────────

  /** Applies one room event to the state (live or replayed; each arrives once). */
  #apply<K extends EventKey>(event: K, data: EventData<RoomEvents, K>): void {
    const connection = this.#current;
    const media = connection?.hasMedia && this.state.phase === "joined" ? connection.media : undefined;
    switch (event) {
      case "peerJoined": {
        const { peer } = data as EventData<RoomEvents, "peerJoined">;
        this.#addPeer(peer);
        if (media) for (const producer of peer.producers) void this.#consume(media, producer);
        return;
      }
      case "peerLeft": {
        const { peerId } = data as EventData<RoomEvents, "peerLeft">;
        const peer = this.state.peers[peerId];
        if (!peer) return;
        for (const producerId of Object.keys(peer.streams)) connection?.media.dropProducer(producerId);
        this.#meters.delete(peerId);
        batch(() => {
          this.#set("peers", produce((peers) => void delete peers[peerId]));
          if (this.state.activeSpeakerId === peerId) this.#set("activeSpeakerId", undefined);
        });
        return;
      }
      case "presence": {
        const { peerId, presence } = data as EventData<RoomEvents, "presence">;
        if (this.state.peers[peerId]) this.#set("peers", peerId, "presence", presence);
        return;
      }
      case "newProducer": {
        const { peerId, producer } = data as EventData<RoomEvents, "newProducer">;
        this.#addStream(peerId, producer);
        if (this.#announced) this.#announced.push({ peerId, producer });
        else if (media) void this.#consume(media, producer);
        return;
      }
      case "producerClosed": {
        const { peerId, producerId } = data as EventData<RoomEvents, "producerClosed">;
        connection?.media.dropProducer(producerId);
        this.#dropStream(peerId, producerId);
        return;
      }
      case "producerPaused": {
        const { peerId, producerId, paused } = data as EventData<RoomEvents, "producerPaused">;
        if (this.state.peers[peerId]?.streams[producerId]) this.#set("peers", peerId, "streams", producerId, "paused", paused);
        return;
      }
      case "chat":
        this.chat.receive((data as EventData<RoomEvents, "chat">).message);
        return;
      case "settingsChanged":
        this.#set("settings", (data as EventData<RoomEvents, "settingsChanged">).settings);
        return;
      case "lobbyChanged": {
        const { waiting } = data as EventData<RoomEvents, "lobbyChanged">;
        this.#set("lobby", waiting);
        const arrived = waiting.filter((w) => !this.#knownWaiting.has(w.id));
        this.#knownWaiting = new Set(waiting.map((w) => w.id));
        if (arrived.length && this.state.phase === "joined") {
          const names = arrived.map((w) => w.displayName).join(", ");
          this.notify("info", `${names} ${arrived.length === 1 ? "is" : "are"} waiting to join`);
        }
        return;
      }
      case "admitted": {
        const { peers, lastSeq } = data as EventData<RoomEvents, "admitted">;
        if (connection && this.state.phase === "lobby") void this.#enter(connection, peers, lastSeq).catch((e: unknown) => this.#fail(callErrorOf(e)));
        return;
      }
      case "activeSpeaker":
        this.#set("activeSpeakerId", (data as EventData<RoomEvents, "activeSpeaker">).peerId ?? undefined);
        return;
      case "mediaReset":
        if (connection) void this.#resetMedia(connection, (data as EventData<RoomEvents, "mediaReset">).routerRtpCapabilities);
        return;
      case "mutedBy": {
        // The room closed our microphone producer; the track stays for a later unmute.
        void connection?.media.closeProducer("mic", false);
        void this.local.setMic(false);
        this.notify("warn", "A host muted your microphone. Press M to unmute when you need to speak.");
        return;
      }
      case "removed": {
        const { reason } = data as EventData<RoomEvents, "removed">;
        if (reason === "timeout") return; // The close follows; recovery resumes or rejoins.
        this.#teardown();
        const error = REMOVED[reason];
        this.#set({ phase: reason === "ended" ? "ended" : "removed", error, peers: {}, lobby: [] });
        return;
      }
      case "roomEnded":
        return; // `removed` (ended) follows and does the work.
      case "error":
        console.warn("meridian: room error", data);
        return;
      default:
        return;
    }
  }

  /**
   * The room's media moved to another node. Every producer and consumer died with the old
   * node: the others' streams go (their tiles keep the person) until they produce again
   * and `newProducer` brings them back; we rebuild the device and transports and send our
   * own tracks again — the tracks themselves never stopped.
   */
  async #resetMedia(connection: RoomConnection, capabilities: RtpCapabilities): Promise<void> {
    this.#set("media", "recovering");
    batch(() => {
      for (const peer of Object.values(this.state.peers)) {
        for (const producerId of Object.keys(peer.streams)) this.#dropStream(peer.id, producerId);
      }
    });
    for (let attempt = 0; this.#current === connection; attempt++) {
      try {
        await connection.resetMedia(capabilities);
        if (this.#current !== connection) return;
        if (this.state.phase === "joined") await this.#publish(connection.media);
        this.#set("media", "connected");
        return;
      } catch (error) {
        if (error instanceof StaleMediaError) return; // A newer reset took over.
        if (attempt >= 4) {
          this.#set({ media: "unavailable", mediaProblem: `Media could not be restored: ${callErrorOf(error).message}` });
          return;
        }
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
  }

  #consumeAll(media: MediaEngine): Promise<unknown> {
    const all = Object.values(this.state.peers).flatMap((peer) => Object.values(peer.streams).map((s) => ({ id: s.producerId, kind: s.kind, source: s.source, paused: s.paused })));
    return Promise.all(all.map((producer) => this.#consume(media, producer)));
  }

  #onTransportState(state: TransportState): void {
    if (state === "connected" && this.state.media === "recovering") this.#set("media", "connected");
    if ((state === "disconnected" || state === "failed") && this.state.media === "connected") this.#set("media", "recovering");
  }

  #addPeer(peer: PeerInfo): void {
    if (peer.id === this.#current?.participantId) return;
    if (!this.state.peers[peer.id]) {
      this.#set("peers", peer.id, {
        id: peer.id,
        displayName: peer.displayName,
        role: peer.role,
        presence: peer.presence,
        avatar: peer.avatar,
        streams: {},
        quality: "unknown",
      });
    }
    for (const producer of peer.producers) this.#addStream(peer.id, producer);
  }

  #addStream(peerId: string, producer: ProducerInfo): void {
    if (!this.state.peers[peerId] || this.state.peers[peerId]!.streams[producer.id]) return;
    this.#set("peers", peerId, "streams", producer.id, {
      producerId: producer.id,
      kind: producer.kind,
      source: producer.source,
      paused: producer.paused,
      track: undefined,
      layer: undefined,
    });
  }

  #dropStream(peerId: string, producerId: string): void {
    clearTimeout(this.#layerTimers.get(producerId));
    this.#tiles.delete(producerId);
    if (this.state.peers[peerId]?.streams[producerId]) this.#set("peers", peerId, "streams", produce((streams) => void delete streams[producerId]));
  }

  async #consume(media: MediaEngine, producer: ProducerInfo): Promise<void> {
    try {
      const remote = await media.consume(producer.id);
      if (!remote) return;
      const stream = this.state.peers[remote.peerId]?.streams[producer.id];
      if (!stream) {
        // Announced but gone by now (left, or closed while we consumed).
        media.dropProducer(producer.id);
        return;
      }
      this.#set("peers", remote.peerId, "streams", producer.id, { track: remote.consumer.track, paused: remote.producerPaused });
    } catch (error) {
      // A producer can close between its announcement and our consume: not an error for the call.
      if (isProtocolError(error, "not_found")) {
        for (const peer of Object.values(this.state.peers)) if (peer.streams[producer.id]) this.#dropStream(peer.id, producer.id);
      } else if (!isProtocolError(error, "closed")) console.warn("meridian: consume failed", callErrorOf(error).message);
    }
  }

  // ── network quality ──────────────────────────────────────────────────────────

  #startStats(): void {
    if (this.#statsTimer) return;
    const interval = this.#options.statsIntervalMs ?? STATS_INTERVAL_MS;
    if (interval <= 0) return;
    this.#statsTimer = setInterval(() => void this.#sampleStats(), interval);
  }

  async #sampleStats(): Promise<void> {
    const media = this.#current?.media;
    if (!media || this.state.phase !== "joined") return;
    const now = Date.now();
    const updates: Array<[string, Quality]> = [];
    const cameraQualities: Quality[] = [];
    for (const peer of Object.values(this.state.peers)) {
      const streams = Object.values(peer.streams).filter((s) => s.track && !s.paused);
      // Video shows loss first; audio speaks for someone without a camera.
      const stream = streams.find((s) => s.source === "camera") ?? streams.find((s) => s.source === "mic") ?? streams[0];
      const report = stream ? media.receiveStats(stream.producerId) : undefined;
      if (!report) continue;
      try {
        const sample = sampleOf(await report, now);
        let meter = this.#meters.get(peer.id);
        if (!meter) this.#meters.set(peer.id, (meter = new QualityMeter()));
        const quality = meter.update(sample);
        updates.push([peer.id, quality]);
        if (stream?.source === "camera") cameraQualities.push(quality);
      } catch {
        // The consumer closed while sampling.
      }
    }
    let uplink: Quality | undefined;
    const send = media.sendStats();
    if (send) uplink = await send.then((r) => this.#uplink.update(sampleOf(r, now), false)).catch(() => undefined);
    batch(() => {
      for (const [peerId, quality] of updates) if (this.state.peers[peerId]) this.#set("peers", peerId, "quality", quality);
      if (uplink) this.#set("quality", uplink);
    });
    const cap = this.#downlink.cap;
    if (this.#downlink.update(cameraQualities) !== cap) {
      for (const [producerId, tile] of this.#tiles) this.setTileSize(tile.peerId, producerId, tile.heightPx, tile.pixelRatio);
    }
  }

  // ── plumbing ─────────────────────────────────────────────────────────────────

  /** The engine to send on, when we are in the call with media. */
  #sendingMedia(): MediaEngine | undefined {
    const connection = this.#current;
    return this.state.phase === "joined" && connection?.hasMedia ? connection.media : undefined;
  }

  async #tolerate(work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      // A reset overtook the work; the reset re-produces.
      if (error instanceof StaleMediaError || isProtocolError(error, "closed")) return;
      this.notify("error", `Media problem: ${callErrorOf(error).message}`);
    }
  }

  #request: RoomConnection["signalling"]["request"] = (method, params) => {
    const signalling = this.#current?.signalling;
    if (!signalling) return Promise.reject(new Error("not connected to the room"));
    return signalling.request(method, params);
  };

  async #act(what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.notify("error", `Could not ${what}: ${callErrorOf(error).message}`);
    }
  }

  #fail(error: CallError): void {
    this.#teardown();
    const phase: CallPhase = error.kind === "ended" ? "ended" : error.kind === "kicked" || error.kind === "denied" || error.kind === "replaced" ? "removed" : "failed";
    this.#set({ phase, error, peers: {}, lobby: [] });
  }

  #dropConnection(): void {
    this.#set("ready", false);
    this.#current?.close();
    this.#current = undefined;
    this.#connection = undefined;
    this.#announced = undefined;
  }

  #teardown(stopLocal = true): void {
    clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
    for (const timer of this.#layerTimers.values()) clearTimeout(timer);
    this.#layerTimers.clear();
    this.#tiles.clear();
    this.#meters.clear();
    this.#dropConnection();
    if (!stopLocal) return;
    this.local.stop();
    this.state.screenTrack?.stop();
    this.#set("screenTrack", undefined);
  }
}
