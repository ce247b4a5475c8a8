import { describe, expect, it } from "vitest";
import { ProtocolError, RoomCloseCode } from "@meridian/protocol";
import { callErrorOf, closeError } from "../src/state/call-errors.ts";

describe("call errors", () => {
  it("a page older than the room is asked to reload", () => {
    expect(callErrorOf(new ProtocolError("protocol_mismatch", "this page speaks protocol 1, the room 2: reload the page"))).toEqual({
      kind: "reload",
      message: "Meridian was updated: reload the page to join.",
    });
  });

  it("tells why the room closed the socket", () => {
    expect(closeError(RoomCloseCode.replaced, "replaced").kind).toBe("replaced");
    expect(closeError(RoomCloseCode.kicked, "kicked").kind).toBe("kicked");
    expect(closeError(RoomCloseCode.ended, "ended")).toEqual({ kind: "ended", message: "The call has ended." });
    expect(closeError(RoomCloseCode.denied, "denied").kind).toBe("denied");
    expect(closeError(RoomCloseCode.rateLimited, "rate limit exceeded")).toEqual({ kind: "other", message: "rate limit exceeded" });
    expect(closeError(1006, "")).toEqual({ kind: "other", message: "The connection to the room closed (1006)." });
  });
});
