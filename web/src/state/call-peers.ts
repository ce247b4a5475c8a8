import { batch } from "solid-js";
import { produce } from "solid-js/store";
import { isProtocolError, type MediaSource, type PeerInfo, type ProducerInfo } from "@meridian/protocol";
import { firstMedia } from "../lib/first-media.ts";
import type { MediaEngine } from "../lib/media-engine.ts";
import type { RemoteP2PTrack } from "../lib/p2p-link.ts";
import { callErrorOf } from "./call-errors.ts";
import type { MediaQuality } from "./call-quality.ts";
import type { CallCore, RemoteStream } from "./call-types.ts";

/** A new path's stream that has not decoded in this long replaces the old one anyway. */
const HANDOVER_MS = 6_000;

/**
 * The others in the call as the store shows them: who is there, what they send, what we
 * receive of it, on which path.
 *
 * A source can arrive on two paths while the call switches between peer-to-peer and the
 * SFU. The new path's stream waits without a track until its media decodes; then, in one
 * update, it gets its track and the old one goes — so a tile never goes black and audio
 * never plays twice. An SFU stream replaced by the peer-to-peer one stays listed without a
 * track (its producer lives until its owner gives it back), ready to be consumed again.
 */
export class RemotePeers {
  readonly #core: CallCore;
  readonly #quality: MediaQuality;
  /** Told after every handover (the session decides when the old path can go). */
  onHandover: () => void = () => undefined;

  constructor(core: CallCore, quality: MediaQuality) {
    this.#core = core;
    this.#quality = quality;
  }

  add(peer: PeerInfo): void {
    const { state, set } = this.#core;
    if (peer.id === this.#core.connection()?.participantId) return;
    if (!state.peers[peer.id]) {
      set("peers", peer.id, {
        id: peer.id,
        displayName: peer.displayName,
        role: peer.role,
        presence: peer.presence,
        avatar: peer.avatar,
        streams: {},
        quality: "unknown",
      });
    }
    for (const producer of peer.producers) this.addStream(peer.id, producer);
  }

  remove(peerId: string): void {
    const { state, set } = this.#core;
    const peer = state.peers[peerId];
    if (!peer) return;
    const media = this.#core.connection()?.media;
    for (const producerId of Object.keys(peer.streams)) media?.dropProducer(producerId);
    this.#quality.forgetPeer(peerId);
    batch(() => {
      set("peers", produce((peers) => void delete peers[peerId]));
      if (state.activeSpeakerId === peerId) set("activeSpeakerId", undefined);
    });
  }

  addStream(peerId: string, producer: ProducerInfo): void {
    const { state, set } = this.#core;
    if (!state.peers[peerId] || state.peers[peerId]!.streams[producer.id]) return;
    set("peers", peerId, "streams", producer.id, {
      producerId: producer.id,
      via: "sfu",
      kind: producer.kind,
      source: producer.source,
      paused: producer.paused,
      track: undefined,
      layer: undefined,
    });
  }

  dropStream(peerId: string, producerId: string): void {
    const { state, set } = this.#core;
    this.#quality.forgetStream(producerId);
    if (state.peers[peerId]?.streams[producerId]) set("peers", peerId, "streams", produce((streams) => void delete streams[producerId]));
  }

  /** Every SFU stream went with the media node; the people stay, and so does what arrives peer-to-peer. */
  dropSfuStreams(): void {
    batch(() => {
      for (const peer of Object.values(this.#core.state.peers)) {
        for (const stream of Object.values(peer.streams)) if (stream.via === "sfu") this.dropStream(peer.id, stream.producerId);
      }
    });
  }

  /** What the peer-to-peer link carries from one peer now: added, updated, or gone. */
  setP2PTracks(peerId: string, tracks: ReadonlyMap<MediaSource, RemoteP2PTrack>, stats: (source: MediaSource) => Promise<RTCStatsReport> | undefined): void {
    const { state, set } = this.#core;
    const peer = state.peers[peerId];
    if (!peer) return;
    batch(() => {
      for (const stream of Object.values(peer.streams)) {
        if (stream.via === "p2p" && !tracks.has(stream.source)) this.dropStream(peerId, stream.producerId);
      }
      for (const remote of tracks.values()) {
        const key = `p2p:${remote.source}`;
        const known = state.peers[peerId]!.streams[key];
        if (!known) {
          set("peers", peerId, "streams", key, { producerId: key, via: "p2p", kind: remote.kind, source: remote.source, paused: remote.paused, track: undefined, layer: undefined });
          void this.present(peerId, key, remote.track, () => stats(remote.source));
        } else {
          if (known.paused !== remote.paused) set("peers", peerId, "streams", key, "paused", remote.paused);
          if (known.track && known.track !== remote.track) set("peers", peerId, "streams", key, "track", remote.track);
        }
      }
    });
  }

  /** The peer-to-peer link closed: what it carried goes; SFU streams waiting to take over take over now. */
  dropP2PStreams(peerId: string): void {
    const peer = this.#core.state.peers[peerId];
    if (!peer) return;
    batch(() => {
      for (const stream of Object.values(peer.streams)) if (stream.via === "p2p") this.dropStream(peerId, stream.producerId);
    });
  }

  /**
   * Shows `track` as one of the peer's streams. The other path's stream of the same source,
   * if it is playing, plays on until this one's media decodes (or HANDOVER_MS), then
   * retires in the same update that shows this one.
   */
  async present(peerId: string, key: string, track: MediaStreamTrack, stats: () => Promise<RTCStatsReport> | undefined): Promise<void> {
    const { state, set } = this.#core;
    const stream = () => state.peers[peerId]?.streams[key];
    const source = stream()?.source;
    if (!source) return;
    const rivals = (): RemoteStream[] =>
      Object.values(state.peers[peerId]?.streams ?? {}).filter((s) => s.source === source && s.producerId !== key && s.track !== undefined);
    if (rivals().length > 0 && !stream()!.paused) {
      await firstMedia(stats, stream()!.kind, { timeoutMs: HANDOVER_MS, stop: () => !stream() || rivals().length === 0 });
    }
    if (!stream()) return;
    batch(() => {
      set("peers", peerId, "streams", key, "track", track);
      for (const rival of rivals()) this.#retire(peerId, rival);
    });
    this.onHandover();
  }

  /** The old path's stream after a handover: a peer-to-peer one goes, an SFU one stays listed without its consumer. */
  #retire(peerId: string, stream: RemoteStream): void {
    if (stream.via === "p2p") {
      this.dropStream(peerId, stream.producerId);
      return;
    }
    this.#core.connection()?.media.dropProducer(stream.producerId);
    this.#quality.forgetStream(stream.producerId);
    this.#core.set("peers", peerId, "streams", stream.producerId, { track: undefined, layer: undefined });
  }

  /** After a resume: the room's peer list is the truth; drop what vanished, add what is new. */
  reconcile(peers: PeerInfo[]): void {
    const { state, set } = this.#core;
    const media = this.#core.joinedMedia();
    const present = new Set(peers.map((p) => p.id));
    for (const id of Object.keys(state.peers)) {
      if (!present.has(id)) this.remove(id);
    }
    for (const peer of peers) {
      this.add(peer);
      set("peers", peer.id, { presence: peer.presence, displayName: peer.displayName, role: peer.role });
      const known = state.peers[peer.id]!.streams;
      const live = new Set(peer.producers.map((p) => p.id));
      for (const stream of Object.values(known)) if (stream.via === "sfu" && !live.has(stream.producerId)) this.dropStream(peer.id, stream.producerId);
      for (const producer of peer.producers) {
        this.addStream(peer.id, producer);
        if (media) void this.consume(media, producer);
      }
    }
  }

  /** Consumes every SFU stream not playing yet (all of them on joining; those a peer-to-peer link replaced, when the call goes back to the SFU). */
  consumeAll(media: MediaEngine): Promise<unknown> {
    const all = Object.values(this.#core.state.peers).flatMap((peer) =>
      Object.values(peer.streams)
        .filter((s) => s.via === "sfu" && !s.track)
        .map((s) => ({ id: s.producerId, kind: s.kind, source: s.source, paused: s.paused })),
    );
    return Promise.all(all.map((producer) => this.consume(media, producer)));
  }

  async consume(media: MediaEngine, producer: ProducerInfo): Promise<void> {
    const { state, set } = this.#core;
    try {
      const remote = await media.consume(producer.id);
      if (!remote) return;
      const stream = state.peers[remote.peerId]?.streams[producer.id];
      if (!stream) {
        // Announced but gone by now (left, or closed while we consumed).
        media.dropProducer(producer.id);
        return;
      }
      set("peers", remote.peerId, "streams", producer.id, "paused", remote.producerPaused);
      await this.present(remote.peerId, producer.id, remote.consumer.track, () => media.receiveStats(producer.id));
    } catch (error) {
      // A producer can close between its announcement and our consume: not an error for the call.
      if (isProtocolError(error, "not_found")) {
        for (const peer of Object.values(state.peers)) if (peer.streams[producer.id]) this.dropStream(peer.id, producer.id);
      } else if (!isProtocolError(error, "closed")) console.warn("meridian: consume failed", callErrorOf(error).message);
    }
  }
}
