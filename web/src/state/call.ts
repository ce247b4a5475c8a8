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
  peers: Record<string, PeerView>;
}

/**
 * One call: the room socket, the media engine and the reactive state the UI renders.
 * Components read `state` and call `join` / `leave`; they never touch WebRTC.
 */
export class CallSession {
  readonly state: CallState;
  readonly #set: SetStoreFunction<CallState>;
  readonly #roomId: string;
  #signalling: SignallingClient | undefined;
  #media: MediaEngine | undefined;
  /** Producers announced before our transports existed; consumed once they do. */
  #announced: ProducerInfo[] | undefined;

  constructor(roomId: string) {
    this.#roomId = roomId;
    [this.state, this.#set] = createStore<CallState>({
      phase: "idle",
      error: undefined,
      participantId: undefined,
      localStream: undefined,
      peers: {},
    });
  }

  async join(displayName: string): Promise<void> {
    if (this.state.phase === "joining" || this.state.phase === "joined") return;
    this.#set({ phase: "joining", error: undefined, peers: {} });
    const signalling = new SignallingClient(roomSocketUrl(this.#roomId));
    const media = new MediaEngine(signalling);
    this.#signalling = signalling;
    this.#media = media;
    this.#announced = [];
    try {
      // The camera takes the longest to start: ask for it while signalling proceeds.
      const local = navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true },
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
      });
      local.catch(() => undefined);
      await signalling.connect();
      this.#listen(signalling, media);
      const joined = await signalling.request("join", { protocol: PROTOCOL_VERSION, displayName });
      await media.load(joined.routerRtpCapabilities);
      await media.createTransports();
      const announced = [...joined.peers.flatMap((peer) => peer.producers), ...this.#announced];
      this.#announced = undefined;
      batch(() => {
        this.#set("participantId", joined.participantId);
        for (const peer of joined.peers) this.#addPeer(peer);
        this.#set("phase", "joined");
      });
      const remote = announced.map((producer) => this.#consume(producer));
      const stream = await local;
      if (this.#media !== media) {
        stream.getTracks().forEach((track) => track.stop());
        return;
      }
      this.#set("localStream", stream);
      await Promise.all([
        ...remote,
        ...stream.getAudioTracks().map((track) => media.produce(track, "mic")),
        ...stream.getVideoTracks().map((track) => media.produce(track, "camera")),
      ]);
    } catch (error) {
      if (this.#media === media) this.#fail(describe(error));
    }
  }

  leave(): void {
    const signalling = this.#signalling;
    if (signalling && this.state.phase === "joined") void signalling.request("leave", {}).catch(() => undefined);
    this.#teardown();
    this.#set({ phase: "left", peers: {} });
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
      else void this.#consume(producer);
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
      if (this.state.phase === "joined" || this.state.phase === "joining") {
        this.#fail(`disconnected from the room${reason ? `: ${reason}` : ""}`);
      }
    });
  }

  #addPeer(peer: PeerInfo): void {
    if (peer.id === this.state.participantId || this.state.peers[peer.id]) return;
    this.#set("peers", peer.id, { id: peer.id, displayName: peer.displayName, media: {} });
  }

  async #consume(producer: ProducerInfo): Promise<void> {
    const media = this.#media;
    if (!media) return;
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

  #teardown(): void {
    this.#media?.close();
    this.#signalling?.close();
    this.state.localStream?.getTracks().forEach((track) => track.stop());
    this.#set("localStream", undefined);
    this.#media = undefined;
    this.#signalling = undefined;
    this.#announced = undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof DOMException && error.name === "NotAllowedError") return "camera and microphone access was denied";
  if (error instanceof DOMException && error.name === "NotFoundError") return "no camera or microphone was found";
  if (isProtocolError(error, "protocol_mismatch")) return "Meridian was updated: please reload the page";
  if (error instanceof Error) return error.message;
  return String(error);
}
