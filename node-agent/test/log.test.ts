import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../src/log.ts";

/** The node logger: protocol's JSON lines, on stdout, `info` unless told otherwise. */

function capture(level?: Parameters<typeof createLogger>[1]) {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger("sfu", level, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  return { log, lines };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("createLogger", () => {
  it("writes one JSON object per entry: time, level, component, message, then the fields", () => {
    const { log, lines } = capture("debug");
    const before = Date.now();
    log.info("node started", { workers: 2, region: "eu" });
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(Object.keys(line)).toEqual(["t", "level", "component", "msg", "workers", "region"]);
    expect(line).toMatchObject({ level: "info", component: "sfu", msg: "node started", workers: 2, region: "eu" });
    const t = Date.parse(line.t as string);
    expect(line.t).toBe(new Date(t).toISOString());
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });

  it("logs at info and above by default: lifecycle events, not chatter", () => {
    const { log, lines } = capture();
    log.debug("dialing edge");
    log.info("registered with edge");
    log.warn("edge connection lost");
    log.error("edge refused registration");
    expect(lines.map((l) => l.level)).toEqual(["info", "warn", "error"]);
  });

  it.each([
    ["debug", ["debug", "info", "warn", "error"]],
    ["warn", ["warn", "error"]],
    ["error", ["error"]],
    ["silent", []],
  ] as const)("at %s logs %j", (level, expected) => {
    const { log, lines } = capture(level);
    for (const lvl of ["debug", "info", "warn", "error"] as const) log[lvl](lvl);
    expect(lines.map((l) => l.level)).toEqual(expected);
  });

  it("names a child's component after its parent's, at the parent's level and into the same sink", () => {
    const { log, lines } = capture("warn");
    const edge = log.child("fra-1").child("edge");
    edge.info("dropped: below warn");
    edge.warn("edge missed a heartbeat");
    expect(lines).toMatchObject([{ component: "sfu.fra-1.edge", level: "warn", msg: "edge missed a heartbeat" }]);
  });

  it("writes every level to stdout by default, one line each", () => {
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const log = createLogger("turn-agent");
    log.info("agent started");
    log.error("agent failed to start");
    expect(stderr).not.toHaveBeenCalled();
    const written = stdout.mock.calls.map(([chunk]) => String(chunk));
    expect(written).toHaveLength(2);
    for (const chunk of written) expect(chunk).toMatch(/^\{.*\}\n$/);
    expect(JSON.parse(written[1]!)).toMatchObject({ level: "error", component: "turn-agent", msg: "agent failed to start" });
  });
});
