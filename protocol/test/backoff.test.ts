import { describe, expect, it } from "vitest";
import { backoffDelay } from "../src/index.ts";

const options = { baseMs: 500, maxMs: 30_000 };

describe("backoffDelay", () => {
  it("grows exponentially up to the cap at the top of the jitter range", () => {
    const top = (attempt: number) => backoffDelay(attempt, options, () => 1);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(top)).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(top(1000)).toBe(30_000);
  });

  it("spreads delays over the whole range (full jitter) with a floor", () => {
    expect(backoffDelay(6, options, () => 0)).toBe(250);
    expect(backoffDelay(6, options, () => 0.5)).toBe(15_000);
  });

  it("stays within bounds for random draws", () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const delay = backoffDelay(attempt, options);
      expect(delay).toBeGreaterThanOrEqual(250);
      expect(delay).toBeLessThanOrEqual(30_000);
    }
  });
});
