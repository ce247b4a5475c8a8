import { batch } from "solid-js";
import { produce } from "solid-js/store";
import { isProtocolError, type PeerInfo, type ProducerInfo } from "@meridian/protocol";
import type { MediaEngine } from "../lib/media-engine.ts";
import { callErrorOf } from "./call-errors.ts";
import type { MediaQuality } from "./call-quality.ts";
import type { CallCore } from "./call-types.ts";

/** The others in the call as the store shows them: who is there, what they send, what we receive of it. */
export class RemotePeers {
  readonly #core: CallCore;
  readonly #quality: MediaQuality;

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

  /** Every stream went with the media node; the people stay. */
  dropAllStreams(): void {
    batch(() => {
      for (const peer of Object.values(this.#core.state.peers)) {
        for (const producerId of Object.keys(peer.streams)) this.dropStream(peer.id, producerId);
      }
    });
  }

  /** After a resume: the room's peer list is the truth; drop what vanished, add what is new. */
  reconcile(peers: PeerInfo[]): void {
    const { state, set } = this.#core;
    const connection = this.#core.connection();
    const media = connection?.hasMedia ? connection.media : undefined;
    const present = new Set(peers.map((p) => p.id));
    for (const id of Object.keys(state.peers)) {
      if (!present.has(id)) this.remove(id);
    }
    for (const peer of peers) {
      this.add(peer);
      set("peers", peer.id, { presence: peer.presence, displayName: peer.displayName, role: peer.role });
      const known = state.peers[peer.id]!.streams;
      const live = new Set(peer.producers.map((p) => p.id));
      for (const producerId of Object.keys(known)) if (!live.has(producerId)) this.dropStream(peer.id, producerId);
      for (const producer of peer.producers) {
        this.addStream(peer.id, producer);
        if (media) void this.consume(media, producer);
      }
    }
  }

  consumeAll(media: MediaEngine): Promise<unknown> {
    const all = Object.values(this.#core.state.peers).flatMap((peer) =>
      Object.values(peer.streams).map((s) => ({ id: s.producerId, kind: s.kind, source: s.source, paused: s.paused })),
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
      set("peers", remote.peerId, "streams", producer.id, { track: remote.consumer.track, paused: remote.producerPaused });
    } catch (error) {
      // A producer can close between its announcement and our consume: not an error for the call.
      if (isProtocolError(error, "not_found")) {
        for (const peer of Object.values(state.peers)) if (peer.streams[producer.id]) this.dropStream(peer.id, producer.id);
      } else if (!isProtocolError(error, "closed")) console.warn("meridian: consume failed", callErrorOf(error).message);
    }
  }
}
