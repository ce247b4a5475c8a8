import { describe, expect, it } from "vitest";
import { MAX_FRAME_DEPTH, decodeFrame, encodeError, encodeEvent, encodeRequest, exceedsBytes, nestsWithin } from "../src/index.ts";

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

describe("frames from careless or hostile clients", () => {
  const nested = (depth: number) => {
    let value: unknown = "x";
    for (let i = 0; i < depth; i++) value = { a: value };
    return value;
  };

  it("answers an oversized request under its id when the id leads the frame", () => {
    const raw = encodeRequest(12, "sendChat", { text: "x".repeat(2000) });
    expect(decodeFrame(raw, 1024)).toMatchObject({ ok: false, id: 12, error: { code: "frame_too_large" } });
    // Without a readable id at the start there is nothing to answer under.
    expect(decodeFrame(JSON.stringify({ method: "x", pad: "y".repeat(2000), kind: "req", id: 3 }), 1024)).not.toHaveProperty("id");
  });

  it("answers a request broken after its start under its id", () => {
    expect(decodeFrame('{"kind":"req","id":9,"method":"join","params":{', 1024)).toMatchObject({ ok: false, id: 9, error: { code: "bad_frame" } });
  });

  it.each([2_000, 3_000, 50_000])("refuses params nested %i levels deep with invalid_params, under the request's id", (depth) => {
    const raw = `{"kind":"req","id":4,"method":"consume","params":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    expect(decodeFrame(raw, 1 << 20)).toMatchObject({ ok: false, id: 4, error: { code: "invalid_params" } });
    const objects = `{"kind":"req","id":5,"method":"consume","params":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;
    expect(decodeFrame(objects, 1 << 20)).toMatchObject({ ok: false, id: 5, error: { code: "invalid_params" } });
  });

  it("accepts what the protocol nests: up to MAX_FRAME_DEPTH levels", () => {
    expect(nestsWithin(nested(MAX_FRAME_DEPTH), MAX_FRAME_DEPTH)).toBe(true);
    expect(nestsWithin(nested(MAX_FRAME_DEPTH + 1), MAX_FRAME_DEPTH)).toBe(false);
    // The frame itself is the first level.
    expect(decodeFrame(encodeRequest(1, "m", nested(MAX_FRAME_DEPTH - 1)), 1 << 20).ok).toBe(true);
    expect(decodeFrame(encodeRequest(1, "m", nested(MAX_FRAME_DEPTH)), 1 << 20)).toMatchObject({ ok: false, id: 1 });
  });
});
