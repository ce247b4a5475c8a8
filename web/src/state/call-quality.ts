import { batch } from "solid-js";
import { layerForHeight } from "../lib/layout.ts";
import { DownlinkBudget, QualityMeter, sampleOf, type Layer, type Quality } from "../lib/network-quality.ts";
import type { CallCore } from "./call-types.ts";

const STATS_INTERVAL_MS = 2_000;
const LAYER_DEBOUNCE_MS = 300;

interface Tile {
  readonly peerId: string;
  readonly heightPx: number;
  readonly pixelRatio: number;
}

/**
 * Media quality: each camera tile gets the simulcast layer that fills it, smaller while
 * our downlink struggles, and the stats sampled while in the call say how well each peer
 * reaches us and how well our uplink does.
 */
export class MediaQuality {
  readonly #core: CallCore;
  readonly #intervalMs: number;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  readonly #meters = new Map<string, QualityMeter>();
  readonly #uplink = new QualityMeter();
  readonly #layerTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Each camera tile's last size, to ask again when the downlink budget changes. */
  readonly #tiles = new Map<string, Tile>();
  readonly #downlink = new DownlinkBudget();

  constructor(core: CallCore, intervalMs = STATS_INTERVAL_MS) {
    this.#core = core;
    this.#intervalMs = intervalMs;
  }

  /**
   * A tile showing a camera changed size: ask the SFU for the layer that fills it, or a
   * smaller one while our downlink struggles (the SFU's own estimate then trims further).
   */
  setTileSize(peerId: string, producerId: string, heightPx: number, pixelRatio: number): void {
    const { state, set } = this.#core;
    const stream = state.peers[peerId]?.streams[producerId];
    // Layers are the SFU's: peer-to-peer video has one, which the sender scales to the path.
    if (!stream || stream.source !== "camera" || stream.via !== "sfu") return;
    this.#tiles.set(producerId, { peerId, heightPx, pixelRatio });
    const layer = Math.min(layerForHeight(heightPx, pixelRatio), this.#downlink.cap) as Layer;
    clearTimeout(this.#layerTimers.get(producerId));
    if (stream.layer === layer) return;
    this.#layerTimers.set(
      producerId,
      setTimeout(() => {
        this.#layerTimers.delete(producerId);
        const media = this.#core.connection()?.media;
        if (!media) return;
        void media
          .setPreferredLayer(producerId, layer)
          .then((asked) => {
            if (asked && state.peers[peerId]?.streams[producerId]) set("peers", peerId, "streams", producerId, "layer", layer);
          })
          .catch(() => undefined);
      }, LAYER_DEBOUNCE_MS),
    );
  }

  /** Samples until `stop`; a zero interval (unit tests) never samples. */
  start(): void {
    if (this.#statsTimer || this.#intervalMs <= 0) return;
    this.#statsTimer = setInterval(() => void this.#sample(), this.#intervalMs);
  }

  forgetPeer(peerId: string): void {
    this.#meters.delete(peerId);
  }

  forgetStream(producerId: string): void {
    clearTimeout(this.#layerTimers.get(producerId));
    this.#tiles.delete(producerId);
  }

  stop(): void {
    clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
    for (const timer of this.#layerTimers.values()) clearTimeout(timer);
    this.#layerTimers.clear();
    this.#tiles.clear();
    this.#meters.clear();
  }

  async #sample(): Promise<void> {
    const { state, set } = this.#core;
    if (state.phase !== "joined") return;
    const now = Date.now();
    const updates: Array<[string, Quality]> = [];
    const cameraQualities: Quality[] = [];
    for (const peer of Object.values(state.peers)) {
      const streams = Object.values(peer.streams).filter((s) => s.track && !s.paused);
      // Video shows loss first; audio speaks for someone without a camera.
      const stream = streams.find((s) => s.source === "camera") ?? streams.find((s) => s.source === "mic") ?? streams[0];
      const report = stream ? this.#core.receiveStats(stream) : undefined;
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
    const send = this.#core.sendStats();
    if (send) uplink = await send.then((r) => this.#uplink.update(sampleOf(r, now), false)).catch(() => undefined);
    batch(() => {
      for (const [peerId, quality] of updates) if (state.peers[peerId]) set("peers", peerId, "quality", quality);
      if (uplink) set("quality", uplink);
    });
    const cap = this.#downlink.cap;
    if (this.#downlink.update(cameraQualities) !== cap) {
      for (const [producerId, tile] of this.#tiles) this.setTileSize(tile.peerId, producerId, tile.heightPx, tile.pixelRatio);
    }
  }
}
