import { batch } from "solid-js";
import { createStore, type SetStoreFunction } from "solid-js/store";
import type { IceServer, MediaMode, PeerInfo } from "@meridian/protocol";
import { getProfile, updateProfile } from "../lib/api.ts";
import { rememberRoom } from "../lib/recent-rooms.ts";
import { callErrorOf, type CallError } from "./call-errors.ts";
import { CallEvents } from "./call-events.ts";
import { MediaPlane } from "./call-media.ts";
import { Moderation } from "./call-moderation.ts";
import { PeerToPeer } from "./call-p2p.ts";
import { RemotePeers } from "./call-peers.ts";
import { Publisher } from "./call-publisher.ts";
import { MediaQuality } from "./call-quality.ts";
import { Recovery } from "./call-recovery.ts";
import type { CallCore, CallOptions, CallPhase, CallState, Notice } from "./call-types.ts";
import { ChatStore } from "./chat.ts";
import { LocalMedia } from "./local-media.ts";
import { RoomConnection, type RoomEventListener } from "./room-connection.ts";

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
 *
 * A call of two goes browser to browser when the room says so (PeerToPeer), and moves
 * to the SFU and back without a gap as people come and go.
 *
 * This class owns the connection and the call's lifecycle; its parts each keep one
 * concern: the room's events (CallEvents), the others and their streams (RemotePeers),
 * what we send (Publisher), the media plane's health (MediaPlane), the peer-to-peer path
 * and the switches (PeerToPeer), layers and quality (MediaQuality), a dropped socket
 * (Recovery) and the host's actions (Moderation).
 */
export class CallSession {
  readonly roomId: string;
  readonly state: CallState;
  readonly chat: ChatStore;
  readonly local: LocalMedia;
  readonly #set: SetStoreFunction<CallState>;
  readonly #options: CallOptions;
  readonly #quality: MediaQuality;
  readonly #peers: RemotePeers;
  readonly #publisher: Publisher;
  readonly #media: MediaPlane;
  readonly #events: CallEvents;
  readonly #recovery: Recovery;
  readonly #moderation: Moderation;
  readonly #p2p: PeerToPeer;
  readonly #listener: RoomEventListener = (event, data) => this.#events.apply(event, data);
  #connection: Promise<RoomConnection> | undefined;
  #current: RoomConnection | undefined;
  #noticeId = 0;
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
      mediaMode: "sfu",
      mediaPath: undefined,
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
    const core: CallCore = {
      state: this.state,
      set: this.#set,
      connection: () => this.#current,
      joinedMedia: () => (this.state.phase === "joined" && this.#current?.hasMedia && this.#current.media.active ? this.#current.media : undefined),
      senders: () => {
        if (this.state.phase !== "joined") return [];
        const media = core.joinedMedia();
        const link = this.#p2p.link;
        return [...(media ? [media] : []), ...(link ? [link] : [])];
      },
      receiveStats: (stream) => (stream.via === "p2p" ? this.#p2p.link?.receiveStats(stream.source) : this.#current?.media.receiveStats(stream.producerId)),
      sendStats: () => (this.#p2p.carrying ? this.#p2p.link!.stats() : this.#current?.media.sendStats()),
      notify: (tone, text) => void this.notify(tone, text),
    };
    this.#quality = new MediaQuality(core, options.statsIntervalMs);
    this.#peers = new RemotePeers(core, this.#quality);
    this.#publisher = new Publisher(core, this.local, options.devices);
    this.#media = new MediaPlane(core, this.#peers, this.#publisher);
    this.#p2p = new PeerToPeer(core, {
      peers: this.#peers,
      publisher: this.#publisher,
      local: this.local,
      sfu: {
        start: () => this.#startSfu(),
        release: async () => {
          // A transport the room already closed (it left with its node) is given back anyway.
          await this.#current?.media.release().catch((error: unknown) => console.warn("meridian: giving back SFU transports", callErrorOf(error).message));
        },
        active: () => this.#current?.hasMedia === true && this.#current.media.active,
      },
    });
    this.#events = new CallEvents(core, {
      peers: this.#peers,
      media: this.#media,
      p2p: this.#p2p,
      chat: this.chat,
      local: this.local,
      enter: (connection, peers, lastSeq, mode) => this.#enter(connection, peers, lastSeq, mode),
      finish: (error) => this.#finish(error),
    });
    this.#moderation = new Moderation(core, (error) => this.#finish(error));
    this.#recovery = new Recovery(core, this.#peers, this.chat, {
      disposed: () => this.#disposed,
      resume: (lost) => RoomConnection.resume(this.roomId, lost, this.#listener, { endpoint: options.endpoint }),
      adopt: (connection) => {
        this.#adopt(connection);
        this.#connection = Promise.resolve(connection);
      },
      connect: () => this.#connect(),
      requestJoin: (connection, displayName) => this.#requestJoin(connection, displayName),
      finish: (error) => this.#finish(error),
      dropConnection: () => this.#dropConnection(),
      teardownKeepingTracks: () => this.#teardown(false),
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
      if (failure.kind !== "other") this.#finish(failure);
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
      if (!(await this.#requestJoin(connection, displayName))) return;
    } catch (error) {
      if (!connection || this.#current === connection) this.#finish(callErrorOf(error));
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

  toggleMic(): Promise<void> {
    return this.#publisher.toggleMic();
  }

  toggleCamera(): Promise<void> {
    return this.#publisher.toggleCamera();
  }

  toggleScreen(): Promise<void> {
    return this.#publisher.toggleScreen();
  }

  stopScreen(): Promise<void> {
    return this.#publisher.stopScreen();
  }

  selectCamera(deviceId: string): Promise<void> {
    return this.#publisher.switchTo("camera", this.local.selectCamera(deviceId));
  }

  selectMic(deviceId: string): Promise<void> {
    return this.#publisher.switchTo("mic", this.local.selectMic(deviceId));
  }

  selectSpeaker(deviceId: string): void {
    this.local.selectSpeaker(deviceId);
    this.local.savePreferences();
  }

  /** Calls of two only through TURN, so the other browser never learns our addresses; remembered in the profile. */
  setHideAddress(hide: boolean): void {
    this.local.setHideAddress(hide);
    this.local.savePreferences();
    this.#p2p.relayOnlyChanged();
    if (this.#options.profile !== false) void updateProfile({ preferences: this.local.preferences }).catch(() => undefined);
  }

  /** A camera tile's size, for the simulcast layer that fills it. */
  setTileSize(peerId: string, producerId: string, heightPx: number, pixelRatio = globalThis.devicePixelRatio ?? 1): void {
    this.#quality.setTileSize(peerId, producerId, heightPx, pixelRatio);
  }

  /** Tries to place media again after hello found no media server. */
  retryMedia(): Promise<void> {
    return this.#media.retry();
  }

  // ── host and moderator actions ───────────────────────────────────────────────

  admit(participantId: string): Promise<void> {
    return this.#moderation.admit(participantId);
  }

  deny(participantId: string): Promise<void> {
    return this.#moderation.deny(participantId);
  }

  kick(participantId: string): Promise<void> {
    return this.#moderation.kick(participantId);
  }

  mutePeer(participantId: string): Promise<void> {
    return this.#moderation.mute(participantId);
  }

  setLocked(locked: boolean): Promise<void> {
    return this.#moderation.updateSettings("lock", { locked });
  }

  setLobby(lobby: boolean): Promise<void> {
    return this.#moderation.updateSettings("lobby", { lobby });
  }

  /** Whether a call of two may go browser to browser in this room. */
  setP2PAllowed(p2p: boolean): Promise<void> {
    return this.#moderation.updateSettings("change direct calls", { p2p });
  }

  endForAll(): Promise<void> {
    return this.#moderation.endForAll();
  }

  // ── notices ──────────────────────────────────────────────────────────────────

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

  /** Asks to be let in; false when the room puts us in its lobby (`admitted` enters later). */
  async #requestJoin(connection: RoomConnection, displayName: string): Promise<boolean> {
    this.#events.holdAnnouncements();
    const answer = await connection.signalling.request("join", { displayName });
    if (answer.status === "lobby") {
      this.#events.releaseAnnouncements();
      this.#set({ phase: "lobby", signal: "connected" });
      return false;
    }
    await this.#enter(connection, answer.peers, answer.lastSeq, answer.mediaMode, answer.iceServers, true);
    return true;
  }

  /**
   * In the call (joined or admitted from the lobby): show everyone, take the TURN servers
   * a member gets (with the join answer, or asked for after an admission), then media on
   * the path the room says: through the SFU (consume, then produce), or peer-to-peer.
   */
  async #enter(connection: RoomConnection, peers: PeerInfo[], lastSeq: number, mode: MediaMode, iceServers?: IceServer[], answered = false): Promise<void> {
    connection.advanceTo(lastSeq);
    const announced = this.#events.releaseAnnouncements();
    batch(() => {
      for (const peer of peers) this.#peers.add(peer);
      for (const { peerId, producer } of announced) this.#peers.addStream(peerId, producer);
      // The mode with the phase: events handled before the media starts already see it.
      this.#set({ phase: "joined", signal: "connected", mediaMode: mode });
    });
    rememberRoom({ roomId: this.roomId, role: this.state.role ?? "guest" });
    void this.chat.loadLatest().catch(() => undefined);
    void this.chat.resendPending();
    this.#quality.start();
    const media = connection.media;
    if (iceServers) media.setIceServers(iceServers);
    // A join answer without servers means the room has no TURN; an admission brings none
    // and asks. Without TURN the call may still connect directly: a failed ask is no reason to stop.
    else if (!answered) await media.refreshIceServers().catch(() => undefined);
    if (this.#current !== connection) return;
    const sfu = mode === "sfu" ? this.#startSfu() : undefined;
    this.#p2p.enter(mode);
    await sfu;
  }

  /**
   * Media through the SFU: transports (once), then consume, then produce. Receive first:
   * the browser's WebRTC signalling thread is shared, and a user sees the room sooner if
   * the consumers' negotiations do not queue behind our producers'.
   */
  async #startSfu(): Promise<void> {
    const connection = this.#current;
    if (!connection?.hasMedia || this.state.phase !== "joined") return;
    const media = connection.media;
    // Synchronously marks the engine active: a second start while this one runs is a no-op.
    const ready = media.ensureTransports();
    try {
      await ready;
    } catch (error) {
      this.#set({ media: "unavailable", mediaProblem: callErrorOf(error).message });
      return;
    }
    if (this.#current !== connection) return;
    await this.#peers.consumeAll(media);
    if (this.#current !== connection) return;
    await this.#publisher.publish(media);
  }

  /** The current connection, or a new one: token, socket, hello, device, transports. */
  #connect(): Promise<RoomConnection> {
    this.#connection ??= (async () => {
      try {
        // A rejoin keeps showing "reconnecting" until it is through.
        this.#set({ signal: this.state.signal === "reconnecting" ? "reconnecting" : "connecting", media: "connecting" });
        const { connection, hello } = await RoomConnection.open(this.roomId, this.#listener, {
          endpoint: this.#options.endpoint,
          media: { ...this.#options.media, onTransportState: (_direction, state) => this.#media.transportChanged(state) },
        });
        this.#adopt(connection);
        // Joining would make us the second: the browser-to-browser link gets ready before the click.
        if (hello.mediaMode === "p2p") this.#p2p.warm();
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
    this.#recovery.watch(connection);
  }

  // ── plumbing ─────────────────────────────────────────────────────────────────

  /** The call is over, for this reason; the page it shows follows from the reason. */
  #finish(error: CallError): void {
    this.#teardown();
    const phase: CallPhase = error.kind === "ended" ? "ended" : error.kind === "kicked" || error.kind === "denied" || error.kind === "replaced" ? "removed" : "failed";
    this.#set({ phase, error, peers: {}, lobby: [] });
  }

  #dropConnection(): void {
    this.#set("ready", false);
    this.#current?.close();
    this.#current = undefined;
    this.#connection = undefined;
    this.#events.releaseAnnouncements();
  }

  #teardown(stopLocal = true): void {
    this.#quality.stop();
    this.#p2p.close();
    this.#dropConnection();
    if (!stopLocal) return;
    this.local.stop();
    this.state.screenTrack?.stop();
    this.#set("screenTrack", undefined);
  }
}
