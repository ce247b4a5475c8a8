import * as v from "valibot";
import { Avatar, DisplayName } from "@meridian/protocol";

/** A user's profile, kept per token subject by ProfileDO. */
export const Profile = v.object({
  displayName: v.optional(DisplayName),
  avatar: v.optional(Avatar),
  preferences: v.optional(
    v.object({
      joinWithCamera: v.optional(v.boolean()),
      joinWithMic: v.optional(v.boolean()),
      cameraId: v.optional(v.pipe(v.string(), v.maxLength(256))),
      micId: v.optional(v.pipe(v.string(), v.maxLength(256))),
      speakerId: v.optional(v.pipe(v.string(), v.maxLength(256))),
      /** Calls of two reach me only through TURN: the other browser never learns my addresses. */
      hideAddress: v.optional(v.boolean()),
    }),
  ),
});
export type Profile = v.InferOutput<typeof Profile>;

const PALETTE = ["#36e2b4", "#7ab8ff", "#ff9f5a", "#c792ea", "#ffd166", "#ef6f8f", "#5ad1e6", "#9ccc65"];

/** A stable colour and initials for someone without a chosen avatar. */
export function defaultAvatar(subject: string, name: string): Avatar {
  let hash = 0;
  for (const ch of subject) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const initials = name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => [...w][0]!.toUpperCase())
    .join("");
  return { color: PALETTE[hash % PALETTE.length]!, initials: initials || "?" };
}
