import { DurableObject } from "cloudflare:workers";
import type { Profile } from "./profile.ts";

/** One per token subject: the user's name, avatar and device preferences. */
export class ProfileDO extends DurableObject<Env> {
  get(): Profile {
    return (this.ctx.storage.kv.get<Profile>("profile") ?? {}) as Profile;
  }

  /** Replaces the fields given; returns the whole profile. */
  update(patch: Profile): Profile {
    const next = { ...this.get(), ...patch };
    this.ctx.storage.kv.put("profile", next);
    return next;
  }
}
