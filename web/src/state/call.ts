import { batch } from "solid-js";
import { createStore, produce, type SetStoreFunction } from "solid-js/store";
import {
  isProtocolError,
  type EventData,
  type MediaSource,
  type PeerInfo,
  type ProducerInfo,
  type Role,
  type RoomEvents,
  type RoomSettings,
} from "@meridian/protocol";
import type { MediaEngine } from "../lib/media-engine.ts";
import { RoomConnection, type EventKey } from "./room-connection.ts";

export type CallPhase = "idle" | "joining" | "lobby" | "joined" | "reconnecting" | "left" | "ended" | "removed" | "failed";

export interface RemoteTrack {
  readonly source: MediaSource;
  readonly track: MediaStreamTrack;
}

export interface PeerView {
  id: string;
  displayName: string;
  role: Role;
  presence: PeerInfo["presence"];
  avatar: PeerInfo["avatar"];
  /** Remote media by producer id. */
  media: Record<string, RemoteTrack>;
}

export interface CallState {
  phase: CallPhase;
  error: string | undefined;
  participantId: string | undefined;
  role: Role | undefined;
  settings: RoomSettings | undefined;
  localStream: MediaStream | undefined;
  /** Why the camera/microphone is unavailable, if it is. */
  mediaError: string | undefined;
  /** Whether the room connection is warmed up (hello, device, transports) for an instant join. */
  ready: boolean;
  peers: Record<string, PeerView>;
}

/** How long to keep trying to resume after the socket drops (the room's window is 30 s). */
const RESUME_FOR_MS = 25_000;

/**
 * One call: the room connection, the media engine and the reactive state the UI renders.
 * Components read `state` and call `prepare` / `join` / `leave`; they never touch WebRTC.
 *
 * The pre-join page calls `prepare`: camera preview, room socket, hello, device and
 * transports. The Join click then only costs `join` and the consumes. A dropped socket
 * is resumed in the background (the call shows "reconnecting"), without losing events.
 */
export class CallSession {
  readonly state: CallState;
  readonly #set: SetStoreFunction<CallState>;
  readonly #roomId: string;
  #connection: Promise<RoomConnection> | undefined;
  #current: RoomConnection | undefined;
  #preview: Promise<MediaStream | undefined> | undefined;
  /** Producers announced before our join was answered; consumed right after it. */
  #announced: ProducerInfo[] | undefined;
  #displayName = "";

  constructor(roomId: string) {
    this.#roomId = roomId;
    [this.state, this.#set] = createStore<CallState>({
      phase: "idle",
      error: undefined,
      participantId: undefined,
      role: undefined,
      settings: undefined,
      localStream: undefined,
      mediaError: undefined,
      ready: false,
      peers: {},
    });
  }

  /** Warms everything up before the click; safe to call repeatedly. Failures surface on join. */
  prepare(): void {
    void this.startPreview();
    void this.#connect().catch(() => undefined);
  }

  /**
   * Starts the camera and microphone for the preview. Failing devices are reported in
   * `mediaError`; joining still works without them.
   */
  async startPreview(): Promise<MediaStream | undefined> {
    if (this.state.localStream) return this.state.localStream;
    this.#preview ??= navigator.mediaDevices
      .getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true },
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
      })
      .then(
        (stream) => {
          this.#set({ localStream: stream, mediaError: undefined });
          return stream;
        },
        (error: unknown) => {
          this.#set("mediaError", describe(error));
          return undefined;
        },
      )
      .finally(() => (this.#preview = undefined));
    return this.#preview;
  }

  async join(displayName: string): Promise<void> {
    if (this.state.phase !== "idle" && this.state.phase !== "left" && this.state.phase !== "failed") return;
    this.#displayName = displayName;
    this.#set({ phase: "joining", error: undefined, peers: {} });
    let connection: RoomConnection | undefined;
    try {
      connection = await this.#connect();
      this.#announced = [];
      const answer = await connection.signalling.request("join", { displayName });
      if (answer.status === "lobby") {
        this.#set("phase", "lobby");
        return;
      }
      await this.#enter(connection, answer.peers, answer.lastSeq);
    } catch (error) {
      if (!connection || this.#current === connection) this.#fail(describe(error));
    }
  }

  leave(): void {
    const signalling = this.#current?.signalling;
    const inRoom = this.state.phase === "joined" || this.state.phase === "lobby";
    if (signalling && inRoom) void signalling.request("leave", {}).catch(() => undefined);
    this.#teardown();
    this.#set({ phase: "left", peers: {} });
  }

  /** In the call (joined or admitted from the lobby): show everyone, consume, then produce. */
  async #enter(connection: RoomConnection, peers: PeerInfo[], lastSeq: number): Promise<void> {
    connection.advanceTo(lastSeq);
    const announced = [...peers.flatMap((peer) => peer.producers), ...(this.#announced ?? [])];
    this.#announced = undefined;
    batch(() => {
      for (const peer of peers) this.#addPeer(peer);
      this.#set("phase", "joined");
    });
    const media = connection.media;
    if (!media.ready) return;
    // Receive first: the browser's WebRTC signalling thread is shared, and a user sees
    // the room sooner if the consumers' negotiations do not queue behind our producers'.
    await Promise.all(announced.map((producer) => this.#consume(media, producer)));
    const stream = await this.startPreview();
    if (this.#current !== connection) return;
    await Promise.all([
      ...(stream?.getAudioTracks() ?? []).map((track) => media.produce(track, "mic")),
      ...(stream?.getVideoTracks() ?? []).map((track) => media.produce(track, "camera")),
    ]);
  }

  /** The current connection, or a new one: token, socket, hello, device, transports. */
  #connect(): Promise<RoomConnection> {
    this.#connection ??= (async () => {
      try {
        const { connection, hello } = await RoomConnection.open(this.#roomId, (event, data) => this.#apply(event, data));
        this.#adopt(connection);
        this.#set({
          participantId: hello.participantId,
          role: hello.role,
          settings: hello.settings,
          ready: true,
          ...(hello.mediaError ? { mediaError: `media is unavailable: ${hello.mediaError.message}` } : {}),
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
      if (this.state.phase === "joined" || this.state.phase === "lobby") void this.#recover(connection);
      else if (this.state.phase === "idle" || this.state.phase === "joining") this.#dropConnection();
      else if (code >= 4000) this.#fail(reason || `closed (${code})`);
    });
  }

  /** The socket dropped mid-call: resume for as long as the room keeps our place, else rejoin. */
  async #recover(lost: RoomConnection): Promise<void> {
    this.#set("phase", "reconnecting");
    const deadline = Date.now() + RESUME_FOR_MS;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      if (this.#current !== lost) return;
      try {
        const { connection, resumed } = await RoomConnection.resume(this.#roomId, lost, (event, data) => this.#apply(event, data));
        this.#adopt(connection);
        this.#connection = Promise.resolve(connection);
        this.#reconcile(resumed.peers);
        this.#set({ phase: resumed.state === "lobby" ? "lobby" : "joined", settings: resumed.settings });
        return;
      } catch (error) {
        if (isProtocolError(error, "resume_failed")) break;
      }
      await new Promise((r) => setTimeout(r, Math.min(4000, 250 * 2 ** attempt)));
    }
    if (this.#current !== lost) return;
    // The room no longer holds our place: join again from scratch.
    this.#teardown(false);
    this.#set({ phase: "idle", peers: {} });
    await this.join(this.#displayName);
  }

  /** After a resume: the room's peer list is the truth; drop what vanished, add what is new. */
  #reconcile(peers: PeerInfo[]): void {
    const media = this.#current?.media;
    const present = new Set(peers.map((p) => p.id));
    for (const id of Object.keys(this.state.peers)) {
      if (!present.has(id)) this.#apply("peerLeft", { peerId: id, reason: "left" });
    }
    for (const peer of peers) {
      this.#addPeer(peer);
      if (media) for (const producer of peer.producers) void this.#consume(media, producer);
    }
  }

  /** Applies one room event to the state (live or replayed; each arrives once). */
  #apply<K extends EventKey>(event: K, data: EventData<RoomEvents, K>): void {
    const media = this.#current?.media;
    switch (event) {
      case "peerJoined":
        this.#addPeer((data as EventData<RoomEvents, "peerJoined">).peer);
        return;
      case "peerLeft": {
        const { peerId } = data as EventData<RoomEvents, "peerLeft">;
        const peer = this.state.peers[peerId];
        if (peer && media) for (const producerId of Object.keys(peer.media)) media.dropProducer(producerId);
        this.#set("peers", produce((peers) => void delete peers[peerId]));
        return;
      }
      case "presence": {
        const { peerId, presence } = data as EventData<RoomEvents, "presence">;
        if (this.state.peers[peerId]) this.#set("peers", peerId, "presence", presence);
        return;
      }
      case "newProducer": {
        const { producer } = data as EventData<RoomEvents, "newProducer">;
        if (this.#announced) this.#announced.push(producer);
        else if (media) void this.#consume(media, producer);
        return;
      }
      case "producerClosed": {
        const { peerId, producerId } = data as EventData<RoomEvents, "producerClosed">;
        media?.dropProducer(producerId);
        if (this.state.peers[peerId]) this.#set("peers", peerId, "media", produce((remote) => void delete remote[producerId]));
        return;
      }
      case "settingsChanged":
        this.#set("settings", (data as EventData<RoomEvents, "settingsChanged">).settings);
        return;
      case "admitted": {
        const { peers, lastSeq } = data as EventData<RoomEvents, "admitted">;
        const connection = this.#current;
        if (connection && this.state.phase === "lobby") void this.#enter(connection, peers, lastSeq).catch((e) => this.#fail(describe(e)));
        return;
      }
      case "removed": {
        const { reason } = data as EventData<RoomEvents, "removed">;
        if (reason === "timeout") return; // The close follows; recovery resumes or rejoins.
        this.#teardown();
        const message = {
          kicked: "a host removed you from the call",
          denied: "the host did not let you in",
          ended: "the host ended the call for everyone",
          replaced: "you joined this call from another tab",
        }[reason];
        this.#set({ phase: reason === "ended" ? "ended" : "removed", error: message, peers: {} });
        return;
      }
      case "roomEnded":
        return; // `removed` (ended) follows and does the work.
      default:
        return; // chat, lobby, mutes: shown by their components (issue-level UI).
    }
  }

  #addPeer(peer: PeerInfo): void {
    if (peer.id === this.#current?.participantId || this.state.peers[peer.id]) return;
    this.#set("peers", peer.id, {
      id: peer.id,
      displayName: peer.displayName,
      role: peer.role,
      presence: peer.presence,
      avatar: peer.avatar,
      media: {},
    });
  }

  async #consume(media: MediaEngine, producer: ProducerInfo): Promise<void> {
    try {
      const remote = await media.consume(producer.id);
      if (!remote || !this.state.peers[remote.peerId]) return;
      this.#set("peers", remote.peerId, "media", producer.id, { source: remote.source, track: remote.consumer.track });
    } catch (error) {
      // A producer can close between its announcement and our consume: not an error for the call.
      if (!isProtocolError(error, "not_found")) console.warn("meridian: consume failed", describe(error));
    }
  }

  #fail(message: string): void {
    this.#teardown();
    this.#set({ phase: "failed", error: message });
  }

  #dropConnection(): void {
    this.#set("ready", false);
    this.#current?.close();
    this.#current = undefined;
    this.#connection = undefined;
    this.#announced = undefined;
  }

  #teardown(stopPreview = true): void {
    this.#dropConnection();
    if (!stopPreview) return;
    this.state.localStream?.getTracks().forEach((track) => track.stop());
    this.#set("localStream", undefined);
  }
}

function describe(error: unknown): string {
  if (error instanceof DOMException && error.name === "NotAllowedError") return "camera and microphone access was denied";
  if (error instanceof DOMException && error.name === "NotFoundError") return "no camera or microphone was found";
  if (isProtocolError(error, "protocol_mismatch")) return "Meridian was updated: please reload the page";
  if (error instanceof Error) return error.message;
  return String(error);
}
