import { describe, expect, it } from "vitest";
import { RateLimiter } from "../src/lib/token-bucket.ts";

// The room's production limits (room-config.ts): a burst of 120, 40 frames/s, 50 strikes.
const limiter = () => new RateLimiter(120, 40, 50, 0);

describe("RateLimiter", () => {
  it("closes a client that keeps sending at twice the allowed rate within a few seconds", () => {
    const limits = limiter();
    let refused = 0;
    let closedAt: number | undefined;
    // 80 frames a second for at most 30 s, evenly spaced.
    for (let i = 0; i < 2400 && closedAt === undefined; i++) {
      const now = Math.round(i * 12.5);
      const admission = limits.admit(now);
      if (admission.ok) continue;
      refused++;
      if (admission.close) closedAt = now;
    }
    expect(refused).toBeGreaterThan(0);
    // The burst lasts 3 s at this rate; the overrun is closed a few seconds after.
    expect(closedAt).toBeGreaterThan(3000);
    expect(closedAt).toBeLessThan(6000);
  });

  it("never closes a client that waits as told, however greedy, and gives it the full rate", () => {
    const limits = limiter();
    let now = 0;
    let admitted = 0;
    // Sends as fast as it can (a frame a millisecond) and waits the hinted time whenever refused.
    while (now < 60_000) {
      const admission = limits.admit(now);
      if (admission.ok) {
        admitted++;
        now += 1;
        continue;
      }
      expect(admission.close, `closed at ${now} ms`).toBe(false);
      expect(admission.retryMs).toBeGreaterThan(0);
      now += admission.retryMs;
    }
    expect(admitted).toBeGreaterThan(120 + 40 * 60 * 0.95);
  });

  it("still closes a flood that never waits", () => {
    const limits = limiter();
    const closed = Array.from({ length: 400 }, () => limits.admit(0)).findIndex((a) => !a.ok && a.close);
    // The burst, then the first refusal (no hint ignored yet), then the strikes allowed.
    expect(closed).toBe(120 + 1 + 50);
  });
});
