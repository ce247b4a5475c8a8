import { createServer, type Server } from "node:http";
import { errorFields, type Logger } from "@meridian/protocol";

/** What a scrape serves: a node's `NodeMetrics`, or anything that renders like them. */
export interface Scrapeable {
  readonly contentType: string;
  scrape(): Promise<string>;
}

export interface MetricsServerOptions {
  /** A local or private address, never the public one. */
  readonly ip: string;
  readonly port: number;
  readonly metrics: Scrapeable;
  /** Where failed scrapes and later server errors go. */
  readonly log: Logger;
}

/**
 * A node's Prometheus endpoint: GET or HEAD /metrics (any query string), rendered per
 * scrape; 404 for another path, 405 for another method, 500 when rendering fails.
 * Resolves once listening and rejects when it cannot listen (a port taken, say); later
 * errors are logged, never fatal: a node's job is its media and its edge link.
 */
export function startMetricsServer({ ip, port, metrics, log }: MetricsServerOptions): Promise<Server> {
  const server = createServer((request, response) => {
    // URL.parse, not new URL: a request target no URL parser accepts must not throw here.
    if (URL.parse(request.url ?? "/", "http://metrics")?.pathname !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { "content-type": "text/plain", allow: "GET, HEAD" }).end("method not allowed\n");
      return;
    }
    metrics.scrape().then(
      (body) => response.writeHead(200, { "content-type": metrics.contentType }).end(request.method === "HEAD" ? undefined : body),
      (error: unknown) => {
        log.warn("metrics request failed", errorFields(error));
        response.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n");
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, ip, () => {
      server.off("error", reject);
      server.on("error", (error) => log.warn("metrics server error", errorFields(error)));
      resolve(server);
    });
  });
}
