import { batch } from "solid-js";
import { createStore, produce, type SetStoreFunction } from "solid-js/store";
import { PROTOCOL_VERSION, isProtocolError, type MediaSource, type PeerInfo, type ProducerInfo } from "@meridian/protocol";
import { roomSocketUrl } from "../lib/api.ts";
import { MediaEngine } from "../lib/media-engine.ts";
import { SignallingClient } from "../lib/signalling.ts";

export type CallPhase = "idle" | "joining" | "joined" | "left" | "failed";

export interface RemoteTrack {
  readonly source: MediaSource;
  readonly track: MediaStreamTrack;
}

export interface PeerView {
  id: string;
  displayName: string;
  /** Remote media by producer id. */
  media: Record<string, RemoteTrack>;
}

export interface CallState {
  phase: CallPhase;
  error: string | undefined;
  participantId: string | undefined;
  localStream: MediaStream | undefined;
  /** Why the camera/microphone is unavailable, if it is. */
  mediaError: string | undefined;
  /** Whether the room connection is warmed up (hello, device, transports) for an instant join. */
  ready: boolean;
  peers: Record<string, PeerView>;
}

/** A socket that said hello, with its device loaded and transports created: ready to join. */
interface Connection {
  readonly signalling: SignallingClient;
  readonly media: MediaEngine;
  readonly participantId: string;
}

/**
 * One call: the room socket, the media engine and the reactive state the UI renders.
 * Components read `state` and call `prepare` / `join` / `leave`; they never touch WebRTC.
 *
 * The pre-join page calls `prepare`: camera preview, room socket, hello, device and
 * transports. The Join click then only costs `join` and the consumes.
 */
export class CallSession {
  readonly state: CallState;
  readonly #set: SetStoreFunction<CallState>;
  readonly #roomId: string;
  #connection: Promise<Connection> | undefined;
  #current: Connection | undefined;
  #preview: Promise<MediaStream | undefined> | undefined;
  /** Producers announced before our join was answered; consumed right after it. */
  #announced: ProducerInfo[] | undefined;

  constructor(roomId: string) {
    this.#roomId = roomId;
    [this.state, this.#set] = createStore<CallState>({
      phase: "idle",
      error: undefined,
      participantId: undefined,
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
    if (this.state.phase === "joining" || this.state.phase === "joined") return;
    this.#set({ phase: "joining", error: undefined, peers: {} });
    let connection: Connection | undefined;
    try {
      connection = await this.#connect();
      const { signalling, media, participantId } = connection;
      this.#announced = [];
      const { peers } = await signalling.request("join", { displayName });
      const announced = [...peers.flatMap((peer) => peer.producers), ...this.#announced];
      this.#announced = undefined;
      batch(() => {
        this.#set("participantId", participantId);
        for (const peer of peers) this.#addPeer(peer);
        this.#set("phase", "joined");
      });
      // Receive first: the browser's WebRTC signalling thread is shared, and a user sees
      // the room sooner if the consumers' negotiations do not queue behind our producers'.
      await Promise.all(announced.map((producer) => this.#consume(media, producer)));
      const stream = await this.startPreview();
      if (this.#current !== connection) return;
      await Promise.all([
        ...(stream?.getAudioTracks() ?? []).map((track) => media.produce(track, "mic")),
        ...(stream?.getVideoTracks() ?? []).map((track) => media.produce(track, "camera")),
      ]);
    } catch (error) {
      if (!connection || this.#current === connection) this.#fail(describe(error));
    }
  }

  leave(): void {
    const signalling = this.#current?.signalling;
    if (signalling && this.state.phase === "joined") void signalling.request("leave", {}).catch(() => undefined);
    this.#teardown();
    this.#set({ phase: "left", peers: {} });
  }

  /** The current connection, or a new one: socket, hello, device, transports. */
  #connect(): Promise<Connection> {
    this.#connection ??= (async () => {
      const signalling = new SignallingClient(roomSocketUrl(this.#roomId));
      const media = new MediaEngine(signalling);
      try {
        await signalling.connect();
        this.#listen(signalling, media);
        const hello = await signalling.request("hello", { protocol: PROTOCOL_VERSION });
        await media.load(hello.routerRtpCapabilities);
        await media.createTransports();
        const connection = { signalling, media, participantId: hello.participantId };
        this.#current = connection;
        this.#set("ready", true);
        return connection;
      } catch (error) {
        media.close();
        signalling.close();
        this.#connection = undefined;
        throw error;
      }
    })();
    return this.#connection;
  }

  #listen(signalling: SignallingClient, media: MediaEngine): void {
    signalling.on("peerJoined", ({ peer }) => this.#addPeer(peer));
    signalling.on("peerLeft", ({ peerId }) =>
      this.#set(
        "peers",
        produce((peers) => {
          delete peers[peerId];
        }),
      ),
    );
    signalling.on("newProducer", ({ producer }) => {
      if (this.#announced) this.#announced.push(producer);
      else void this.#consume(media, producer);
    });
    signalling.on("producerClosed", ({ peerId, producerId }) => {
      media.dropProducer(producerId);
      if (!this.state.peers[peerId]) return;
      this.#set(
        "peers",
        peerId,
        "media",
        produce((remote) => {
          delete remote[producerId];
        }),
      );
    });
    signalling.onClose(({ reason }) => {
      if (this.#current?.signalling !== signalling && this.#current !== undefined) return;
      if (this.state.phase === "joined" || this.state.phase === "joining") {
        this.#fail(`disconnected from the room${reason ? `: ${reason}` : ""}`);
      } else {
        // Dropped while on the pre-join page: reconnect on join.
        this.#dropConnection();
      }
    });
  }

  #addPeer(peer: PeerInfo): void {
    if (peer.id === this.#current?.participantId || this.state.peers[peer.id]) return;
    this.#set("peers", peer.id, { id: peer.id, displayName: peer.displayName, media: {} });
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
    this.#current?.media.close();
    this.#current?.signalling.close();
    this.#current = undefined;
    this.#connection = undefined;
    this.#announced = undefined;
  }

  #teardown(): void {
    this.#dropConnection();
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
