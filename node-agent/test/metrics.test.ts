import { describe, expect, it } from "vitest";
import { NodeMetrics, type Family } from "../src/metrics.ts";

/** A node's registry: what a scrape renders, through prom-client, from one snapshot. */

interface Snapshot {
  readonly up: boolean;
  readonly checks: number;
  readonly cpu: readonly number[];
  readonly region: string;
  readonly allocations: number | undefined;
}

const FAMILIES: readonly Family<Snapshot>[] = [
  { name: "t_info", help: "Who the node is.", labels: ["region"], value: (s) => [[{ region: s.region }, 1]] },
  { name: "t_up", help: "1 while up.", value: (s) => (s.up ? 1 : 0) },
  { name: "t_checks_total", help: "Checks run.", type: "counter", value: (s) => s.checks },
  { name: "t_cpu", help: "CPU share per worker.", labels: ["worker"], value: (s) => s.cpu.map((share, i) => [{ worker: String(i) }, share]) },
  { name: "t_allocations", help: "Allocations; absent when unknown.", value: (s) => s.allocations },
];

const SNAPSHOT: Snapshot = { up: true, checks: 41, cpu: [0.1, 0.4], region: "eu-central", allocations: 7 };

describe("NodeMetrics", () => {
  it("renders each family with HELP and TYPE, in order, every series labelled with the node first, no blank lines", async () => {
    const text = await new NodeMetrics("fra-1", FAMILIES, () => SNAPSHOT).scrape();
    expect(text).toBe(
      [
        "# HELP t_info Who the node is.",
        "# TYPE t_info gauge",
        't_info{node="fra-1",region="eu-central"} 1',
        "# HELP t_up 1 while up.",
        "# TYPE t_up gauge",
        't_up{node="fra-1"} 1',
        "# HELP t_checks_total Checks run.",
        "# TYPE t_checks_total counter",
        't_checks_total{node="fra-1"} 41',
        "# HELP t_cpu CPU share per worker.",
        "# TYPE t_cpu gauge",
        't_cpu{node="fra-1",worker="0"} 0.1',
        't_cpu{node="fra-1",worker="1"} 0.4',
        "# HELP t_allocations Allocations; absent when unknown.",
        "# TYPE t_allocations gauge",
        't_allocations{node="fra-1"} 7',
        "",
      ].join("\n"),
    );
  });

  it("samples once per scrape and replaces every series: what a snapshot leaves out is absent, not stale", async () => {
    const snapshots: Snapshot[] = [SNAPSHOT, { ...SNAPSHOT, up: false, checks: 42, cpu: [0.2], allocations: undefined }];
    let sampled = 0;
    const metrics = new NodeMetrics("fra-1", FAMILIES, async () => snapshots[sampled++]!);
    await metrics.scrape();
    const text = await metrics.scrape();
    expect(sampled).toBe(2);
    expect(text).toContain('t_up{node="fra-1"} 0\n');
    expect(text).toContain('t_checks_total{node="fra-1"} 42\n');
    expect(text).toContain('t_cpu{node="fra-1",worker="0"} 0.2\n');
    expect(text).not.toContain('worker="1"');
    expect(text).toContain("# TYPE t_allocations gauge\n");
    expect(text).not.toContain("t_allocations{");
  });

  it("escapes label values the text format's way", async () => {
    const text = await new NodeMetrics("fra-1", FAMILIES, () => ({ ...SNAPSHOT, region: 'eu "central"\\1\nb' })).scrape();
    expect(text).toContain('region="eu \\"central\\"\\\\1\\nb"');
  });

  it("keeps nodes apart: each has a registry of its own", async () => {
    const a = new NodeMetrics("a", FAMILIES, () => SNAPSHOT);
    const b = new NodeMetrics("b", FAMILIES, () => ({ ...SNAPSHOT, checks: 1 }));
    expect(await a.scrape()).toContain('t_checks_total{node="a"} 41');
    expect(await b.scrape()).not.toContain('node="a"');
  });

  it("fails the scrape when sampling fails", async () => {
    const metrics = new NodeMetrics("fra-1", FAMILIES, () => Promise.reject(new Error("EACCES")));
    await expect(metrics.scrape()).rejects.toThrow("EACCES");
  });
});
