import { backoffSleep, type BackoffOptions, type RtpCapabilities } from "@meridian/protocol";
import { StaleMediaError, type TransportState } from "../lib/media-engine.ts";
import { callErrorOf } from "./call-errors.ts";
import type { RemotePeers } from "./call-peers.ts";
import type { Publisher } from "./call-publisher.ts";
import type { CallCore } from "./call-types.ts";
import type { RoomConnection } from "./room-connection.ts";

/** Rebuilds failing this often in a row will not heal by themselves: the user is told instead. */
const RESET_ATTEMPTS = 5;
const RESET_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 4000 };

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
      await connection.retryMedia();
      set("media", "connected");
      if (state.phase !== "joined") return;
      await this.#peers.consumeAll(connection.media);
      await this.#publisher.publish(connection.media);
    } catch (error) {
      set({ media: "unavailable", mediaProblem: callErrorOf(error).message });
    }
  }

  /**
   * The room's media moved to another node. Every producer and consumer died with the old
   * node: the others' streams go (their tiles keep the person) until they produce again
   * and `newProducer` brings them back; we rebuild the device and transports and send our
   * own tracks again — the tracks themselves never stopped.
   */
  async reset(connection: RoomConnection, capabilities: RtpCapabilities): Promise<void> {
    const { state, set } = this.#core;
    set("media", "recovering");
    this.#peers.dropAllStreams();
    for (let attempt = 0; this.#core.connection() === connection; attempt++) {
      try {
        await connection.resetMedia(capabilities);
        if (this.#core.connection() !== connection) return;
        if (state.phase === "joined") await this.#publisher.publish(connection.media);
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

  transportChanged(transport: TransportState): void {
    const { state, set } = this.#core;
    if (transport === "connected" && state.media === "recovering") set("media", "connected");
    if ((transport === "disconnected" || transport === "failed") && state.media === "connected") set("media", "recovering");
  }
}
