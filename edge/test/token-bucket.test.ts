import { describe, expect, it } from "vitest";
import { TokenBucket } from "../src/lib/token-bucket.ts";
import { originAllowed } from "../src/middleware/origin.ts";

describe("TokenBucket", () => {
  it("allows a burst, then refills at its rate", () => {
    const bucket = new TokenBucket(3, 2, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
    expect(bucket.waitMs(0)).toBe(500);
    expect(bucket.take(499)).toBe(false);
    expect(bucket.take(500)).toBe(true);
    // Never more than the capacity, however long it rests.
    const rested = new TokenBucket(2, 100, 0);
    rested.take(0);
    expect([rested.take(60_000), rested.take(60_000), rested.take(60_000)]).toEqual([true, true, false]);
  });
});

describe("originAllowed", () => {
  it("allows its own origin and listed ones only", () => {
    expect(originAllowed("https://meet.example", "https://meet.example", "")).toBe(true);
    expect(originAllowed("https://evil.example", "https://meet.example", "")).toBe(false);
    expect(originAllowed("https://app.example", "https://meet.example", "https://a.example, https://app.example")).toBe(true);
    expect(originAllowed("https://app.example.evil", "https://meet.example", "https://app.example")).toBe(false);
    expect(originAllowed("https://any.example", "https://meet.example", "*")).toBe(true);
  });
});
