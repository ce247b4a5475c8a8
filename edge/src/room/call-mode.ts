import type { EventData, Logger, MediaMode, RoomEvents } from "@meridian/protocol";
import { decideMode, initialMode, prospectiveMode, type ModeState } from "./media/mode.ts";
import type { Audience } from "./room-store.ts";

const MODE_KEY = "mediaMode";

/** What the call's mode needs of its room. */
export interface CallModeHost {
  readonly kv: SyncKvStorage;
  readonly log: Logger;
  /** Who is in the call. */
  joinedIds(): string[];
  /** The room's setting (absent: allowed). */
  p2pAllowed(): boolean;
  readonly holdOffMs: number;
  publish(event: "mediaMode", data: EventData<RoomEvents, "mediaMode">, audience: Audience): number;
}

/**
 * The call's media mode, kept in storage and told to the call when it changes (a logged
 * event: a browser that resumes learns it too). See media/mode.ts for the rules.
 */
export class CallMode {
  readonly #host: CallModeHost;

  constructor(host: CallModeHost) {
    this.#host = host;
  }

  get mode(): MediaMode {
    return this.#state().mode;
  }

  /** The mode someone joining now would find. */
  prospective(): MediaMode {
    return prospectiveMode(this.#host.joinedIds().length, this.#host.p2pAllowed());
  }

  /** Applies the rules to the call as it is now; returns the mode. */
  reconsider(now = Date.now(), failed = false): MediaMode {
    const before = this.#state();
    const joined = this.#host.joinedIds();
    const { state, reason } = decideMode({ state: before, joined, allowed: this.#host.p2pAllowed(), now, failed, holdOffMs: this.#host.holdOffMs });
    this.#host.kv.put(MODE_KEY, state);
    if (state.mode !== before.mode) {
      this.#host.log.info("call media mode", { from: before.mode, to: state.mode, reason, participants: joined.length });
      this.#host.publish("mediaMode", { mode: state.mode, reason: reason ?? "" }, { to: "joined" });
    }
    return state.mode;
  }

  /** When a call down to two goes back to P2P, if one is pending. */
  deadline(): number | undefined {
    return this.#state().p2pAt;
  }

  #state(): ModeState {
    return this.#host.kv.get<ModeState>(MODE_KEY) ?? initialMode(this.#host.p2pAllowed());
  }
}
