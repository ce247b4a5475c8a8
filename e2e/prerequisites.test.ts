import { afterEach, describe, expect, it } from "vitest";
import { checkPrerequisites, requirePrerequisites } from "./support/prerequisites.ts";

/** Under CI a missing browser or worker must fail the run, never skip it. */
describe("browser test prerequisites", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("names a missing Chromium", () => {
    process.env.CHROMIUM_PATH = "/nonexistent/chromium";
    const result = checkPrerequisites();
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain("no Chromium at /nonexistent/chromium");
  });

  it("names a missing mediasoup worker", () => {
    process.env.MEDIASOUP_WORKER_BIN = "/nonexistent/mediasoup-worker";
    const result = checkPrerequisites();
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain("MEDIASOUP_WORKER_BIN=/nonexistent/mediasoup-worker");
  });

  it("fails under CI=true and skips (undefined) otherwise", () => {
    process.env.CHROMIUM_PATH = "/nonexistent/chromium";
    process.env.CI = "true";
    expect(() => requirePrerequisites()).toThrow(/browser tests cannot run: no Chromium/);
    process.env.CI = "";
    expect(requirePrerequisites()).toBeUndefined();
  });
});
