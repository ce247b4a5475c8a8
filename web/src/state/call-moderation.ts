import { callErrorOf, type CallError } from "./call-errors.ts";
import type { CallCore } from "./call-types.ts";
import type { RoomConnection } from "./room-connection.ts";

/** What hosts and moderators do to the room. The room checks the role; a refusal becomes a notice. */
export class Moderation {
  readonly #core: CallCore;
  readonly #finish: (error: CallError) => void;

  constructor(core: CallCore, finish: (error: CallError) => void) {
    this.#core = core;
    this.#finish = finish;
  }

  admit(participantId: string): Promise<void> {
    return this.#act("admit", () => this.#request("admit", { participantId }));
  }

  deny(participantId: string): Promise<void> {
    return this.#act("deny", () => this.#request("deny", { participantId }));
  }

  kick(participantId: string): Promise<void> {
    return this.#act("remove", () => this.#request("kick", { participantId }));
  }

  mute(participantId: string): Promise<void> {
    return this.#act("mute", () => this.#request("mute", { participantId }));
  }

  updateSettings(what: string, change: { locked?: boolean; lobby?: boolean; p2p?: boolean }): Promise<void> {
    return this.#act(what, async () => {
      const settings = await this.#request("updateSettings", change);
      this.#core.set("settings", settings);
    });
  }

  async endForAll(): Promise<void> {
    await this.#act("end the call", async () => {
      await this.#request("endRoom", {});
      // The room closes our socket next: that is the end, not a drop to recover from.
      this.#finish({ kind: "ended", message: "You ended the meeting for everyone." });
    });
  }

  #request: RoomConnection["signalling"]["request"] = (method, params) => {
    const signalling = this.#core.connection()?.signalling;
    if (!signalling) return Promise.reject(new Error("not connected to the room"));
    return signalling.request(method, params);
  };

  async #act(what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.#core.notify("error", `Could not ${what}: ${callErrorOf(error).message}`);
    }
  }
}
