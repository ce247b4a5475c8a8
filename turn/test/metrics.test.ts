import type { Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { CONTENT_TYPE, renderTurnMetrics, startMetricsServer, type TurnMetricsSnapshot } from "../src/metrics.ts";
import { findFreePortBlock } from "./support/coturn.ts";
import { parseExposition, sampleValue } from "./support/prometheus.ts";

/** The TURN agent's exposition and the server that serves it, without coturn (agent.test.ts has the real thing). */

const SNAPSHOT: TurnMetricsSnapshot = {
  nodeId: "turn-fra-1",
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
  it("renders every value under its name, each family with HELP and TYPE, every series labelled with the node", () => {
    const e = parseExposition(renderTurnMetrics(SNAPSHOT));
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

  it("maps the reported state and the flags both ways", () => {
    const e = parseExposition(renderTurnMetrics({ ...SNAPSHOT, up: false, state: "active", edgeConnected: false }));
    expect(sampleValue(e, "meridian_turn_up")).toBe(0);
    expect(sampleValue(e, "meridian_turn_draining")).toBe(0);
    expect(sampleValue(e, "meridian_turn_edge_connected")).toBe(0);
  });

  it("leaves out what it does not know: a probe not run, a duration not measured, an unreadable socket table", () => {
    const e = parseExposition(
      renderTurnMetrics({ ...SNAPSHOT, probes: { stun: { ok: false, durationSeconds: undefined } }, relayAllocations: undefined }),
    );
    expect(sampleValue(e, "meridian_turn_probe_success", { probe: "stun" })).toBe(0);
    expect(sampleValue(e, "meridian_turn_probe_success", { probe: "allocate" })).toBeUndefined();
    expect(sampleValue(e, "meridian_turn_probe_duration_seconds", { probe: "stun" })).toBeUndefined();
    expect(sampleValue(e, "meridian_turn_relay_allocations")).toBeUndefined();
    // An absent series, not a made-up zero: absent() alerts on it.
    expect(e.types.has("meridian_turn_relay_allocations")).toBe(true);
  });

  it("escapes label values the format's way", () => {
    const region = 'eu "central"\\1\nb';
    const text = renderTurnMetrics({ ...SNAPSHOT, region });
    expect(text).toContain('region="eu \\"central\\"\\\\1\\nb"');
    expect(sampleValue(parseExposition(text), "meridian_turn_info", { region })).toBe(1);
  });
});

describe("startMetricsServer", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });

  async function serve(render: () => Promise<string>, onError: (error: unknown) => void = () => undefined): Promise<string> {
    const port = await findFreePortBlock(1);
    servers.push(await startMetricsServer("127.0.0.1", port, render, onError));
    return `http://127.0.0.1:${port}`;
  }

  it("serves GET /metrics as text format 0.0.4, rendered per scrape; other paths 404, other methods 405", async () => {
    let scrapes = 0;
    const base = await serve(async () => `# scrape ${++scrapes}\n`);
    const first = await fetch(`${base}/metrics`);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe(CONTENT_TYPE);
    expect(await first.text()).toBe("# scrape 1\n");
    expect(await (await fetch(`${base}/metrics?x=1`)).text()).toBe("# scrape 2\n");
    for (const path of ["/", "/metrics/", "/metricsx", "/healthz"]) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(404);
      await response.body?.cancel();
    }
    const post = await fetch(`${base}/metrics`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    await post.body?.cancel();
    expect(scrapes).toBe(2);
  });

  it("answers 500 and reports the error when rendering fails", async () => {
    const errors: unknown[] = [];
    const base = await serve(() => Promise.reject(new Error("boom")), (error) => errors.push(error));
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(500);
    await response.body?.cancel();
    expect(errors).toEqual([new Error("boom")]);
  });

  it("rejects when the port is taken", async () => {
    const base = await serve(async () => "");
    const port = Number(new URL(base).port);
    await expect(startMetricsServer("127.0.0.1", port, async () => "", () => undefined)).rejects.toThrow(/EADDRINUSE/);
  });
});
