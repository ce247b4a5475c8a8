import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NodeMetrics } from "../src/metrics.ts";
import { startMetricsServer, type Scrapeable } from "../src/metrics-server.ts";
import { captureLog } from "./support/capture-log.ts";

/** The one /metrics server both kinds of node run, with a scripted exposition. */

const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function serve(metrics: Scrapeable, log = captureLog().log): Promise<{ base: string; server: Server }> {
  const server = await startMetricsServer({ ip: "127.0.0.1", port: 0, metrics, log });
  servers.push(server);
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Renders "# scrape N" on the Nth scrape. */
function counting(): Scrapeable & { scrapes: number } {
  return {
    contentType: PROMETHEUS_TEXT,
    scrapes: 0,
    async scrape() {
      return `# scrape ${++this.scrapes}\n`;
    },
  };
}

describe("startMetricsServer", () => {
  it("serves GET /metrics, rendered per scrape, with or without a query string; other paths 404, other methods 405", async () => {
    const metrics = counting();
    const { base } = await serve(metrics);
    const first = await fetch(`${base}/metrics`);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe(PROMETHEUS_TEXT);
    expect(await first.text()).toBe("# scrape 1\n");
    const query = await fetch(`${base}/metrics?x`);
    expect(query.status).toBe(200);
    expect(await query.text()).toBe("# scrape 2\n");
    for (const path of ["/", "/metrics/", "/metricsx", "/healthz"]) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(404);
      await response.body?.cancel();
    }
    for (const method of ["POST", "PUT", "DELETE"]) {
      const response = await fetch(`${base}/metrics`, { method, body: method === "DELETE" ? null : "x" });
      expect(response.status, method).toBe(405);
      expect(response.headers.get("allow")).toBe("GET, HEAD");
      await response.body?.cancel();
    }
    expect(metrics.scrapes).toBe(2);
  });

  it("answers HEAD /metrics with the headers of a scrape and no body", async () => {
    const metrics = counting();
    const { base } = await serve(metrics);
    const head = await fetch(`${base}/metrics`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe(PROMETHEUS_TEXT);
    expect(await head.text()).toBe("");
  });

  it("serves a node's registry in the registry's content type", async () => {
    const metrics = new NodeMetrics("n1", [{ name: "x_up", help: "Up.", value: () => 1 }], () => undefined);
    const { base } = await serve(metrics);
    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get("content-type")).toBe(metrics.contentType);
    expect(metrics.contentType).toBe(PROMETHEUS_TEXT);
    expect(await response.text()).toBe('# HELP x_up Up.\n# TYPE x_up gauge\nx_up{node="n1"} 1\n');
  });

  it("answers 500 and logs the error when rendering fails, and serves the next scrape", async () => {
    const captured = captureLog();
    let fail = true;
    const { base } = await serve(
      { contentType: PROMETHEUS_TEXT, scrape: () => (fail ? Promise.reject(new Error("boom")) : Promise.resolve("# ok\n")) },
      captured.log,
    );
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(500);
    await response.body?.cancel();
    expect(captured.lines).toMatchObject([{ level: "warn", msg: "metrics request failed", error: "boom" }]);
    fail = false;
    expect(await (await fetch(`${base}/metrics`)).text()).toBe("# ok\n");
  });

  it("logs a later server error instead of throwing it", async () => {
    const captured = captureLog();
    const { base, server } = await serve(counting(), captured.log);
    server.emit("error", new Error("accept failed"));
    expect(captured.lines).toMatchObject([{ level: "warn", msg: "metrics server error", error: "accept failed" }]);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  it("rejects when the port is taken", async () => {
    const { base } = await serve(counting());
    const port = Number(new URL(base).port);
    await expect(startMetricsServer({ ip: "127.0.0.1", port, metrics: counting(), log: captureLog().log })).rejects.toThrow(/EADDRINUSE/);
  });
});
