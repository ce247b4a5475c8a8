import { describe, expect, it } from "vitest";
import { explainProblem, problemOf } from "../src/lib/devices.ts";
import { bestGrid, initialsOf, layerForHeight } from "../src/lib/layout.ts";
import { DownlinkBudget, QualityMeter, qualityOf, sampleOf } from "../src/lib/network-quality.ts";
import { forgetRoom, recentRooms, rememberRoom, whenText } from "../src/lib/recent-rooms.ts";
import { shortcutFor, type Shortcut } from "../src/lib/shortcuts.ts";

describe("bestGrid", () => {
  it.each([
    [1, 1280, 720, 1],
    [2, 1280, 720, 2],
    [4, 1280, 720, 2],
    [6, 1280, 720, 3],
    [2, 360, 600, 1],
    [9, 1920, 1080, 3],
  ])("%i tiles in %ix%i: %i columns", (count, width, height, columns) => {
    expect(bestGrid(count, width, height).columns).toBe(columns);
  });

  it("never makes tiles wider than the area", () => {
    for (let n = 1; n <= 25; n++) {
      const { columns, tileWidth } = bestGrid(n, 360, 560);
      expect(columns * tileWidth + (columns - 1) * 8).toBeLessThanOrEqual(360);
    }
  });
});

describe("layerForHeight", () => {
  it("asks for the smallest layer in a strip and the full one on a big tile", () => {
    expect(layerForHeight(112)).toBe(0);
    expect(layerForHeight(112, 2)).toBe(0);
    expect(layerForHeight(200, 2)).toBe(1);
    expect(layerForHeight(360)).toBe(1);
    expect(layerForHeight(700)).toBe(2);
  });
});

describe("downlink budget", () => {
  it("caps layers when most received streams suffer, and raises one layer at a time after healthy samples", () => {
    const budget = new DownlinkBudget(3);
    expect(budget.update([])).toBe(2);
    expect(budget.update(["unknown", "good"])).toBe(2);
    // One sender's bad line is theirs: not ours to fix.
    expect(budget.update(["poor", "good", "good"])).toBe(2);
    expect(budget.update(["fair", "fair", "good"])).toBe(1);
    expect(budget.update(["poor", "poor", "good"])).toBe(0);
    expect(budget.update(["good", "good", "good"])).toBe(0);
    expect(budget.update(["good", "good", "good"])).toBe(0);
    expect(budget.update(["good", "good", "good"])).toBe(1);
    // A relapse restarts the count; a steady level keeps it.
    expect(budget.update(["good", "good", "good"])).toBe(1);
    expect(budget.update(["fair", "fair", "fair"])).toBe(1);
    expect(budget.update(["good", "good", "good"])).toBe(1);
    expect(budget.update(["good", "good", "good"])).toBe(1);
    expect(budget.update(["good", "good", "good"])).toBe(2);
    expect(budget.cap).toBe(2);
  });
});

describe("network quality", () => {
  const inbound = (received: number, lost: number, jitter = 0.005) =>
    [
      { type: "inbound-rtp", kind: "video", ssrc: 1, packetsReceived: received, packetsLost: lost, jitter },
      { type: "inbound-rtp", kind: "video", ssrc: 1234, packetsReceived: 99999, packetsLost: 99999 },
      { type: "candidate-pair", state: "succeeded", nominated: true, currentRoundTripTime: 0.04 },
    ];

  it("reads loss between samples, ignoring mediasoup's probator stream", () => {
    const meter = new QualityMeter();
    expect(meter.update(sampleOf(inbound(1000, 0), 0))).toBe("unknown");
    expect(meter.update(sampleOf(inbound(2000, 5), 2000))).toBe("good");
    expect(meter.update(sampleOf(inbound(2900, 55), 4000))).toBe("fair");
    expect(meter.update(sampleOf(inbound(3700, 255), 6000))).toBe("poor");
  });

  it("rates round trip and jitter", () => {
    expect(qualityOf(0, { roundTripTime: 0.35, jitter: 0 })).toBe("fair");
    expect(qualityOf(0, { roundTripTime: 0.05, jitter: 0.1 })).toBe("poor");
    expect(qualityOf(0, { roundTripTime: undefined, jitter: undefined })).toBe("good");
  });

  it("rates our uplink from the SFU's receiver reports", () => {
    const sample = sampleOf([{ type: "remote-inbound-rtp", fractionLost: 0.1, roundTripTime: 0.02 }], 0);
    expect(new QualityMeter().update(sample, false)).toBe("poor");
  });

  it("has nothing to say without RTP stats", () => {
    expect(sampleOf([{ type: "transport" }], 0)).toBeUndefined();
  });
});

describe("device problems", () => {
  it.each([
    ["NotAllowedError", "denied"],
    ["NotFoundError", "not-found"],
    ["OverconstrainedError", "not-found"],
    ["NotReadableError", "in-use"],
    ["Weird", "failed"],
  ])("%s is %s", (name, problem) => {
    expect(problemOf({ name })).toBe(problem);
  });

  it("tells what to do", () => {
    expect(explainProblem("camera", "denied").help).toMatch(/allow the camera/);
    expect(explainProblem("camera and microphone", "in-use").title).toBe("Your camera and microphone are busy");
  });
});

describe("recent rooms", () => {
  const storage = () => {
    const map = new Map<string, string>();
    return { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
  };

  it("keeps the newest first, once each, at most eight", () => {
    const s = storage();
    for (let i = 0; i < 10; i++) rememberRoom({ roomId: `room-${i}`, role: "guest" }, i, s);
    rememberRoom({ roomId: "room-5", role: "host" }, 100, s);
    const list = recentRooms(s);
    expect(list).toHaveLength(8);
    expect(list[0]).toEqual({ roomId: "room-5", role: "host", lastJoinedAt: 100 });
    expect(list.filter((r) => r.roomId === "room-5")).toHaveLength(1);
    expect(forgetRoom("room-5", s).map((r) => r.roomId)).not.toContain("room-5");
  });

  it("survives garbage in storage", () => {
    const s = storage();
    s.setItem("meridian.recentRooms", "{not json");
    expect(recentRooms(s)).toEqual([]);
  });

  it("says when in words", () => {
    expect(whenText(0, 30_000)).toBe("just now");
    expect(whenText(0, 5 * 60_000)).toBe("5 min ago");
    expect(whenText(0, 3 * 3600_000)).toBe("3 h ago");
  });
});

describe("shortcuts", () => {
  const ran: string[] = [];
  const shortcuts: Shortcut[] = [
    { key: "m", label: "mic", run: () => ran.push("m") },
    { key: "?", label: "help", run: () => ran.push("?") },
  ];
  const key = (k: string, mods: Partial<KeyboardEvent> = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, target: null, ...mods });

  it("maps single keys, case-insensitively, and ignores them with modifiers", () => {
    expect(shortcutFor(key("M"), shortcuts)?.label).toBe("mic");
    expect(shortcutFor(key("?"), shortcuts)?.label).toBe("help");
    expect(shortcutFor(key("m", { ctrlKey: true }), shortcuts)).toBeUndefined();
    expect(shortcutFor(key("x"), shortcuts)).toBeUndefined();
  });
});

describe("initialsOf", () => {
  it("takes two words' first letters", () => {
    expect(initialsOf("Ada Lovelace")).toBe("AL");
    expect(initialsOf("  émile ")).toBe("É");
    expect(initialsOf("")).toBe("?");
  });
});
