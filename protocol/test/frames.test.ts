import { describe, expect, it } from "vitest";
import { decodeFrame, encodeError, encodeEvent, encodeRequest, exceedsBytes } from "../src/index.ts";

describe("decodeFrame", () => {
  it("accepts the three frame kinds", () => {
    for (const raw of [encodeRequest(1, "join", { a: 1 }), '{"kind":"res","id":1,"result":{}}', encodeEvent("x", {})]) {
      const decoded = decodeFrame(raw, 1024);
      expect(decoded.ok).toBe(true);
    }
  });

  it.each([
    ["not JSON", "{nope", "bad_frame"],
    ["a JSON scalar", "42", "bad_frame"],
    ["an unknown kind", '{"kind":"hello"}', "bad_frame"],
    ["a request without method", '{"kind":"req","id":3}', "bad_frame"],
    ["a negative id", '{"kind":"req","id":-1,"method":"x"}', "bad_frame"],
    ["a fractional id", '{"kind":"req","id":1.5,"method":"x"}', "bad_frame"],
  ])("rejects %s with a typed error", (_name, raw, code) => {
    const decoded = decodeFrame(raw, 1024);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toBe(code);
  });

  it("keeps the request id of an invalid request so the error can be matched", () => {
    const decoded = decodeFrame('{"kind":"req","id":7,"method":5}', 1024);
    expect(decoded).toMatchObject({ ok: false, id: 7 });
  });

  it("refuses binary frames", () => {
    const decoded = decodeFrame(new Uint8Array([1, 2]), 1024);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toBe("bad_frame");
  });

  it("measures size in UTF-8 bytes, not UTF-16 units", () => {
    const wide = JSON.stringify({ kind: "evt", event: "x", data: "€".repeat(400) }); // 3 bytes each
    expect(wide.length).toBeLessThan(1024);
    const decoded = decodeFrame(wide, 1024);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toBe("frame_too_large");
    expect(decodeFrame(wide, 4096).ok).toBe(true);
  });

  it("exceedsBytes agrees with an exact count near the limit", () => {
    const encoder = new TextEncoder();
    for (const s of ["a".repeat(100), "é".repeat(60), "😀".repeat(30), "x€".repeat(40)]) {
      for (const limit of [50, 100, 119, 120, 121, 200, 400]) {
        expect(exceedsBytes(s, limit)).toBe(encoder.encode(s).byteLength > limit);
      }
    }
  });

  it("sends an unmatched error as an error event", () => {
    expect(JSON.parse(encodeError(undefined, { code: "bad_frame", message: "m" }))).toEqual({
      kind: "evt",
      event: "error",
      data: { code: "bad_frame", message: "m" },
    });
  });
});
