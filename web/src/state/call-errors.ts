import { RoomCloseCode, isProtocolError } from "@meridian/protocol";
import { ApiError } from "../lib/api.ts";

/** Why the call could not start or go on, as the error pages tell it. */
export type CallErrorKind = "not-found" | "ended" | "locked" | "full" | "forbidden" | "reload" | "kicked" | "denied" | "replaced" | "other";
export interface CallError {
  readonly kind: CallErrorKind;
  readonly message: string;
}

/** What the room said when it removed us (the `removed` event). */
export const REMOVED: Record<"kicked" | "denied" | "ended" | "replaced", CallError> = {
  kicked: { kind: "kicked", message: "A host removed you from the call." },
  denied: { kind: "denied", message: "The host did not let you in." },
  ended: { kind: "ended", message: "The host ended the call for everyone." },
  replaced: { kind: "replaced", message: "You joined this call from another tab or device." },
};

/** A room socket's close code, told as an error. */
export function closeError(code: number, reason: string): CallError {
  switch (code) {
    case RoomCloseCode.replaced:
      return REMOVED.replaced;
    case RoomCloseCode.kicked:
      return REMOVED.kicked;
    case RoomCloseCode.ended:
      return { kind: "ended", message: "The call has ended." };
    case RoomCloseCode.denied:
      return REMOVED.denied;
    default:
      return { kind: "other", message: reason || `The connection to the room closed (${code}).` };
  }
}

export function callErrorOf(error: unknown): CallError {
  if (error instanceof ApiError) {
    if (error.status === 404) return { kind: "not-found", message: "This room does not exist. Check the link, or start a new meeting." };
    if (error.status === 410) return { kind: "ended", message: "This call has ended." };
    if (error.status === 403) return { kind: "forbidden", message: error.message || "This room is by invitation only." };
    return { kind: "other", message: error.message };
  }
  if (isProtocolError(error)) {
    switch (error.code) {
      case "room_not_found":
        return { kind: "not-found", message: "This room does not exist. Check the link, or start a new meeting." };
      case "room_closed":
        return { kind: "ended", message: "This call has ended." };
      case "room_locked":
        return { kind: "locked", message: "The host has locked this room: nobody else can join right now." };
      case "room_full":
        return { kind: "full", message: error.message };
      case "protocol_mismatch":
        return { kind: "reload", message: "Meridian was updated: reload the page to join." };
      case "forbidden":
      case "unauthorized":
        return { kind: "forbidden", message: error.message };
      case "closed":
        return { kind: "other", message: "Could not reach the room. Check your connection and try again." };
      default:
        return { kind: "other", message: error.message };
    }
  }
  if (error instanceof Error) return { kind: "other", message: error.message };
  return { kind: "other", message: String(error) };
}
