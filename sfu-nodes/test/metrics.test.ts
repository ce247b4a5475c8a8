import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createLogger, startMetricsServer } from "@meridian/node-agent";
import { sfuMetrics } from "../src/metrics.ts";

const load = { state: "draining" as const, workers: 2, routers: 3, transports: 8, producers: 4, consumers: 9, utilization: 0.25, cpu: [0.1, 0.4], bitrateIn: 1000, bitrateOut: 5000, pipes: 2, pipedProducers: 4, pipeBitrateIn: 300, pipeBitrateOut: 700 };

/** The metrics of a node carrying `load`, whose link is (or is not) registered. */
const metricsOf = (nodeId: string, edgeConnected: boolean) => sfuMetrics(nodeId, () => ({ load, edgeConnected }));

describe("metrics", () => {
  it("renders the load in Prometheus text format", async () => {
    const text = await metricsOf("fra-1", true).scrape();
    expect(text).toContain('# TYPE meridian_sfu_consumers gauge\nmeridian_sfu_consumers{node="fra-1"} 9');
    expect(text).toContain('meridian_sfu_draining{node="fra-1"} 1');
    expect(text).toContain('meridian_sfu_worker_cpu{node="fra-1",worker="1"} 0.4');
    expect(text).toContain('meridian_sfu_bitrate_out_bps{node="fra-1"} 5000');
    // Cascading: pipes to other nodes, producers piped in, and the pipes' bitrate.
    expect(text).toContain('meridian_sfu_pipe_transports{node="fra-1"} 2');
    expect(text).toContain('meridian_sfu_piped_producers{node="fra-1"} 4');
    expect(text).toContain('meridian_sfu_pipe_bitrate_in_bps{node="fra-1"} 300');
    expect(text).toContain('meridian_sfu_pipe_bitrate_out_bps{node="fra-1"} 700');
    for (const line of text.trim().split("\n")) expect(line).toMatch(/^(# (HELP|TYPE) \S+ .+|[a-z_]+\{[^}]*\} [\d.e+-]+)$/);
  });

  it("serves /metrics on its address and nothing else", async () => {
    const server = await startMetricsServer({ ip: "127.0.0.1", port: 0, metrics: metricsOf("n", false), log: createLogger("test", "silent") });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const ok = await fetch(`${base}/metrics`);
      expect(ok.status).toBe(200);
      expect(ok.headers.get("content-type")).toContain("text/plain");
      expect(await ok.text()).toContain('meridian_sfu_edge_connected{node="n"} 0');
      expect((await fetch(`${base}/`)).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
