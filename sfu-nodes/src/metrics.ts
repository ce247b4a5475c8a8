import { createServer, type Server } from "node:http";
import type { NodeLoad } from "@meridian/protocol";

/**
 * Prometheus text exposition of the node's load, on a local or private address only
 * (never the public one): GET /metrics. Anything else is 404.
 */
export function renderMetrics(nodeId: string, load: NodeLoad, edgeConnected: boolean): string {
  const labels = `node="${nodeId}"`;
  const lines: string[] = [];
  const gauge = (name: string, help: string, value: number, extra = "") => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}{${labels}${extra}} ${value}`);
  };
  gauge("meridian_sfu_up", "1 while the node runs.", 1);
  gauge("meridian_sfu_draining", "1 while the node takes no new rooms.", load.state === "draining" ? 1 : 0);
  gauge("meridian_sfu_edge_connected", "1 while the control link to the edge is registered.", edgeConnected ? 1 : 0);
  gauge("meridian_sfu_workers", "mediasoup workers.", load.workers);
  gauge("meridian_sfu_routers", "Routers (one per room).", load.routers);
  gauge("meridian_sfu_transports", "WebRTC transports.", load.transports);
  gauge("meridian_sfu_producers", "Producers.", load.producers);
  gauge("meridian_sfu_consumers", "Consumers.", load.consumers);
  gauge("meridian_sfu_utilization", "Share of capacity in use (0..1).", load.utilization);
  gauge("meridian_sfu_bitrate_in_bps", "Media received, bits per second.", load.bitrateIn ?? 0);
  gauge("meridian_sfu_bitrate_out_bps", "Media sent, bits per second.", load.bitrateOut ?? 0);
  lines.push("# HELP meridian_sfu_worker_cpu CPU share of each mediasoup worker (0..1).", "# TYPE meridian_sfu_worker_cpu gauge");
  (load.cpu ?? []).forEach((share, i) => lines.push(`meridian_sfu_worker_cpu{${labels},worker="${i}"} ${share}`));
  return lines.join("\n") + "\n";
}

export function startMetricsServer(ip: string, port: number, render: () => string): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method === "GET" && request.url === "/metrics") {
      response.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      response.end(render());
      return;
    }
    response.writeHead(404, { "content-type": "text/plain" });
    response.end("not found\n");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, ip, () => resolve(server));
  });
}
