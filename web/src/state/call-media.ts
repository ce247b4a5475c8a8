import { backoffSleep, type BackoffOptions, type PeerInfo, type RtpCapabilities } from "@meridian/protocol";
import { StaleMediaError, type TransportState } from "../lib/media-engine.ts";
import { callErrorOf } from "./call-errors.ts";
import type { RemotePeers } from "./call-peers.ts";
import type { Publisher } from "./call-publisher.ts";
import type { CallCore } from "./call-types.ts";
import type { RoomConnection } from "./room-connection.ts";

/** Rebuilds failing this often in a row will not heal by themselves: the user is told instead. */
const RESET_ATTEMPTS = 5;
const RESET_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 4000 };
/** How long to watch for inbound media when the room asks: video and audio send many packets in it. */
const MEDIA_CHECK_MS = 600;

/**
 * The media plane's health (`state.media`): placed again after hello found no media
 * server, rebuilt when the room's media moves to another node, and followed through the
 * transports' connection states.
 */
export class MediaPlane {
  readonly #core: CallCore;
  readonly #peers: RemotePeers;
  readonly #publisher: Publisher;

  constructor(core: CallCore, peers: RemotePeers, publisher: Publisher) {
    this.#core = core;
    this.#peers = peers;
    this.#publisher = publisher;
  }

  /** Tries to place media again after hello found no media server. */
  async retry(): Promise<void> {
    const { state, set } = this.#core;
    const connection = this.#core.connection();
    if (!connection) return;
    try {
      set({ media: "connecting", mediaProblem: undefined });
      const sfu = state.mediaMode === "sfu";
      await connection.retryMedia(sfu);
      set("media", "connected");
      if (state.phase !== "joined" || !sfu) return;
      await this.#peers.consumeAll(connection.media);
      await this.#publisher.publish(connection.media);
    } catch (error) {
      set({ media: "unavailable", mediaProblem: callErrorOf(error).message });
    }
  }

  /**
   * Our media moved to another node. Every consumer we had died with the old node; the
   * room's snapshot (`peers`) says which of the others' producers live on, and the others
   * who moved with us come back through `newProducer`. Their tiles keep the person
   * meanwhile. We rebuild the device and transports, consume what lives on, and send our
   * own tracks again — the tracks themselves never stopped. A call that is peer-to-peer
   * only loads the new router's device: its media never touched the node.
   */
  async reset(connection: RoomConnection, capabilities: RtpCapabilities, peers: readonly PeerInfo[] = []): Promise<void> {
    const { state, set } = this.#core;
    const sfu = state.mediaMode === "sfu" || connection.media.active;
    if (sfu) set("media", "recovering");
    // Applied now, in event order: later events (a producer closing or coming back) land on top.
    this.#peers.dropSfuStreams();
    for (const peer of peers) this.#peers.add(peer);
    for (let attempt = 0; this.#core.connection() === connection; attempt++) {
      try {
        await connection.resetMedia(capabilities, sfu);
        if (this.#core.connection() !== connection) return;
        if (state.phase === "joined" && sfu) await Promise.all([this.#peers.consumeAll(connection.media), this.#publisher.publish(connection.media)]);
        set("media", "connected");
        return;
      } catch (error) {
        if (error instanceof StaleMediaError) return; // A newer reset took over.
        if (attempt >= RESET_ATTEMPTS - 1) {
          set({ media: "unavailable", mediaProblem: `Media could not be restored: ${callErrorOf(error).message}` });
          return;
        }
        await backoffSleep(attempt, RESET_BACKOFF);
      }
    }
  }

  /**
   * The room lost touch with our media server. Media still arriving means only its
   * control link is down (it reconnects; nothing to do); nothing arriving while someone's
   * stream should be, and the room moves us now.
   */
  async check(connection: RoomConnection): Promise<void> {
    const expecting = Object.values(this.#core.state.peers).some((peer) => Object.values(peer.streams).some((s) => s.via === "sfu" && s.track && !s.paused));
    if (!expecting || !connection.hasMedia || !connection.media.active) return;
    if (await connection.media.inboundFlowing(MEDIA_CHECK_MS)) {
      console.info("meridian: the media server's control link dropped; media still flows here");
      return;
    }
    console.warn("meridian: no media from the media server; asking the room to move us");
    await connection.signalling.request("mediaUnreachable", {}).catch(() => undefined);
  }

  transportChanged(transport: TransportState): void {
    const { state, set } = this.#core;
    if (transport === "connected" && state.media === "recovering") set("media", "connected");
    if ((transport === "disconnected" || transport === "failed") && state.media === "connected") set("media", "recovering");
  }
}
