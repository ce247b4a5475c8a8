import { batch } from "solid-js";
import { RoomCloseCode, backoffSleep, isProtocolError, type BackoffOptions } from "@meridian/protocol";
import { callErrorOf, closeError, type CallError } from "./call-errors.ts";
import type { RemotePeers } from "./call-peers.ts";
import type { CallCore } from "./call-types.ts";
import type { ChatStore } from "./chat.ts";
import type { Resumed, RoomConnection } from "./room-connection.ts";

/** How long to keep trying to resume after the socket drops (the room's window is 30 s). */
const RESUME_FOR_MS = 25_000;
/** How long to keep trying to join again once resuming is impossible. */
const REJOIN_FOR_MS = 120_000;
const RESUME_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 4000 };
/** Slower than resuming: a rejoin costs the room a whole hello, device and transports. */
const REJOIN_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 8000 };
/** Close codes after which resuming makes no sense: the room will not have us back. */
const FINAL_CLOSE_CODES = new Set<number>([RoomCloseCode.replaced, RoomCloseCode.kicked, RoomCloseCode.ended, RoomCloseCode.denied]);

/** The coordinator's steps that recovery repeats. */
export interface RecoverySteps {
  disposed(): boolean;
  /** A new socket that takes over the lost one's place in the room. */
  resume(lost: RoomConnection): Promise<{ connection: RoomConnection; resumed: Resumed }>;
  /** The resumed connection becomes the session's. */
  adopt(connection: RoomConnection): void;
  connect(): Promise<RoomConnection>;
  requestJoin(connection: RoomConnection, displayName: string): Promise<boolean>;
  finish(error: CallError): void;
  dropConnection(): void;
  /** Everything of the call but our own tracks, which the rejoin sends again. */
  teardownKeepingTracks(): void;
}

/**
 * A dropped socket: resumed for as long as the room keeps our place (the call shows
 * "reconnecting" and loses no event), joined again from scratch once it does not, given
 * up only on an answer that will not change. Every retry waits a jittered backoff, so a
 * room that lost its edge together does not come back in lockstep.
 */
export class Recovery {
  readonly #core: CallCore;
  readonly #peers: RemotePeers;
  readonly #chat: ChatStore;
  readonly #steps: RecoverySteps;

  constructor(core: CallCore, peers: RemotePeers, chat: ChatStore, steps: RecoverySteps) {
    this.#core = core;
    this.#peers = peers;
    this.#chat = chat;
    this.#steps = steps;
  }

  /** Decides what this connection's close means, while it is the session's. */
  watch(connection: RoomConnection): void {
    connection.signalling.onClose(({ code, reason }) => {
      if (this.#core.connection() !== connection) return;
      const phase = this.#core.state.phase;
      // Kicked, ended, denied, replaced: final, whether or not the event made it first.
      if (FINAL_CLOSE_CODES.has(code)) this.#steps.finish(closeError(code, reason));
      else if (phase === "joined" || phase === "lobby") void this.#recover(connection);
      else if (phase === "prejoin" || phase === "joining") {
        this.#steps.dropConnection();
        // A silent socket before the call is worth a fresh one on the click, not an error page.
        if (code >= 4000 && code !== RoomCloseCode.silent) this.#steps.finish(closeError(code, reason));
      } else if (code >= 4000) this.#steps.finish(closeError(code, reason));
    });
  }

  async #recover(lost: RoomConnection): Promise<void> {
    const { state, set } = this.#core;
    set("signal", "reconnecting");
    const deadline = Date.now() + RESUME_FOR_MS;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      if (this.#core.connection() !== lost) return;
      try {
        const { connection, resumed } = await this.#steps.resume(lost);
        if (this.#core.connection() !== lost) {
          connection.signalling.close();
          return;
        }
        this.#steps.adopt(connection);
        // Dropped while joining again: the room has us on its pre-join list, not in the call.
        if (resumed.state === "prejoin" && state.phase === "joined") {
          await this.#rejoin();
          return;
        }
        batch(() => {
          this.#peers.reconcile(resumed.peers);
          set({ phase: resumed.state === "lobby" ? "lobby" : state.phase, settings: resumed.settings, role: resumed.role, signal: "connected" });
        });
        void this.#chat.resendPending();
        return;
      } catch (error) {
        if (isProtocolError(error, "resume_failed")) break;
      }
      await backoffSleep(attempt, RESUME_BACKOFF);
    }
    if (this.#core.connection() !== lost) return;
    await this.#rejoin();
  }

  /**
   * The room no longer holds our place (or never answered in time): join again from
   * scratch, still on the call page with "reconnecting" showing, keeping our tracks and
   * chat. Gives up only on an answer that will not change (ended, locked, removed) or after
   * REJOIN_FOR_MS.
   */
  async #rejoin(): Promise<void> {
    const { state, set } = this.#core;
    const name = state.displayName;
    const deadline = Date.now() + REJOIN_FOR_MS;
    this.#steps.teardownKeepingTracks();
    set({ peers: {}, lobby: [], activeSpeakerId: undefined, signal: "reconnecting" });
    for (let attempt = 0; ; attempt++) {
      let connection: RoomConnection | undefined;
      try {
        connection = await this.#steps.connect();
        await this.#steps.requestJoin(connection, name);
        return;
      } catch (error) {
        if (this.#steps.disposed() || (connection && this.#core.connection() !== connection)) return;
        const failure = callErrorOf(error);
        if (failure.kind !== "other" || Date.now() > deadline) {
          this.#steps.finish(failure.kind === "other" ? { kind: "other", message: `Could not reconnect: ${failure.message}` } : failure);
          return;
        }
        this.#steps.dropConnection();
      }
      await backoffSleep(attempt, REJOIN_BACKOFF);
      if (this.#steps.disposed() || state.phase !== "joined") return;
    }
  }
}
