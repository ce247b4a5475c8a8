import { describe, expect, it } from "vitest";
import { turnMetrics, type TurnMetricsSnapshot } from "../src/metrics.ts";
import { parseExposition, sampleValue } from "./support/prometheus.ts";

/**
 * The TURN agent's exposition, without coturn (agent.test.ts has the real thing; the
 * server that serves it is node-agent's, tested there).
 */

/** One scrape of node turn-fra-1 in the state `s` describes. */
const renderTurnMetrics = (s: TurnMetricsSnapshot) => turnMetrics("turn-fra-1", async () => s).scrape();

const SNAPSHOT: TurnMetricsSnapshot = {
  region: "eu-central-1",
  version: "0.1.0",
  up: true,
  probes: { stun: { ok: true, durationSeconds: 0.0012 }, allocate: { ok: false, durationSeconds: 1.004 } },
  consecutiveFailures: 2,
  checks: 41,
  failedChecks: 5,
  state: "draining",
  edgeConnected: true,
  relayAllocations: 7,
  relayPorts: 840,
  utilization: 0.25,
};

describe("renderTurnMetrics", () => {
  it("renders every value under its name, each family with HELP and TYPE, every series labelled with the node", async () => {
    const e = parseExposition(await renderTurnMetrics(SNAPSHOT));
    const node = { node: "turn-fra-1" };
    expect(e.samples.every((s) => s.labels.node === "turn-fra-1")).toBe(true);
    expect(sampleValue(e, "meridian_turn_info", { ...node, region: "eu-central-1", version: "0.1.0" })).toBe(1);
    expect(sampleValue(e, "meridian_turn_up", node)).toBe(1);
    expect(sampleValue(e, "meridian_turn_probe_success", { probe: "stun" })).toBe(1);
    expect(sampleValue(e, "meridian_turn_probe_success", { probe: "allocate" })).toBe(0);
    expect(sampleValue(e, "meridian_turn_probe_duration_seconds", { probe: "stun" })).toBe(0.0012);
    expect(sampleValue(e, "meridian_turn_probe_duration_seconds", { probe: "allocate" })).toBe(1.004);
    expect(sampleValue(e, "meridian_turn_consecutive_failures")).toBe(2);
    expect(sampleValue(e, "meridian_turn_health_checks_total")).toBe(41);
    expect(sampleValue(e, "meridian_turn_health_check_failures_total")).toBe(5);
    expect(sampleValue(e, "meridian_turn_draining")).toBe(1);
    expect(sampleValue(e, "meridian_turn_edge_connected")).toBe(1);
    expect(sampleValue(e, "meridian_turn_relay_allocations")).toBe(7);
    expect(sampleValue(e, "meridian_turn_relay_ports")).toBe(840);
    expect(sampleValue(e, "meridian_turn_utilization")).toBe(0.25);
    expect(e.types.get("meridian_turn_health_checks_total")).toBe("counter");
    expect(e.types.get("meridian_turn_health_check_failures_total")).toBe("counter");
    expect(e.types.get("meridian_turn_relay_allocations")).toBe("gauge");
  });

  it("maps the reported state and the flags both ways", async () => {
    const e = parseExposition(await renderTurnMetrics({ ...SNAPSHOT, up: false, state: "active", edgeConnected: false }));
    expect(sampleValue(e, "meridian_turn_up")).toBe(0);
    expect(sampleValue(e, "meridian_turn_draining")).toBe(0);
    expect(sampleValue(e, "meridian_turn_edge_connected")).toBe(0);
  });

  it("leaves out what it does not know: a probe not run, a duration not measured, an unreadable socket table", async () => {
    const e = parseExposition(
      await renderTurnMetrics({ ...SNAPSHOT, probes: { stun: { ok: false, durationSeconds: undefined } }, relayAllocations: undefined }),
    );
    expect(sampleValue(e, "meridian_turn_probe_success", { probe: "stun" })).toBe(0);
    expect(sampleValue(e, "meridian_turn_probe_success", { probe: "allocate" })).toBeUndefined();
    expect(sampleValue(e, "meridian_turn_probe_duration_seconds", { probe: "stun" })).toBeUndefined();
    expect(sampleValue(e, "meridian_turn_relay_allocations")).toBeUndefined();
    // An absent series, not a made-up zero: absent() alerts on it.
    expect(e.types.has("meridian_turn_relay_allocations")).toBe(true);
  });

  it("escapes label values the format's way", async () => {
    const region = 'eu "central"\\1\nb';
    const text = await renderTurnMetrics({ ...SNAPSHOT, region });
    expect(text).toContain('region="eu \\"central\\"\\\\1\\nb"');
    expect(sampleValue(parseExposition(text), "meridian_turn_info", { region })).toBe(1);
  });
});
