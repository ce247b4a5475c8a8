import type { NodeLoad } from "@meridian/protocol";
import { NodeMetrics, type Family } from "@meridian/node-agent";

/** What one scrape of the node reads. */
export interface SfuMetricsSnapshot {
  readonly load: NodeLoad;
  readonly edgeConnected: boolean;
}

const FAMILIES: readonly Family<SfuMetricsSnapshot>[] = [
  { name: "meridian_sfu_up", help: "1 while the node runs.", value: () => 1 },
  { name: "meridian_sfu_draining", help: "1 while the node takes no new rooms.", value: ({ load }) => (load.state === "draining" ? 1 : 0) },
  { name: "meridian_sfu_edge_connected", help: "1 while the control link to the edge is registered.", value: (s) => (s.edgeConnected ? 1 : 0) },
  { name: "meridian_sfu_workers", help: "mediasoup workers.", value: ({ load }) => load.workers },
  { name: "meridian_sfu_routers", help: "Routers (one per room).", value: ({ load }) => load.routers },
  { name: "meridian_sfu_transports", help: "WebRTC transports.", value: ({ load }) => load.transports },
  { name: "meridian_sfu_producers", help: "Producers.", value: ({ load }) => load.producers },
  { name: "meridian_sfu_consumers", help: "Consumers.", value: ({ load }) => load.consumers },
  { name: "meridian_sfu_utilization", help: "Share of capacity in use (0..1).", value: ({ load }) => load.utilization },
  { name: "meridian_sfu_bitrate_in_bps", help: "Media received, bits per second.", value: ({ load }) => load.bitrateIn ?? 0 },
  { name: "meridian_sfu_bitrate_out_bps", help: "Media sent, bits per second.", value: ({ load }) => load.bitrateOut ?? 0 },
  { name: "meridian_sfu_pipe_transports", help: "Pipe transports to other SFU nodes (cascaded rooms).", value: ({ load }) => load.pipes ?? 0 },
  { name: "meridian_sfu_piped_producers", help: "Producers piped in from other SFU nodes.", value: ({ load }) => load.pipedProducers ?? 0 },
  { name: "meridian_sfu_pipe_bitrate_in_bps", help: "Media received over pipes from other nodes, bits per second.", value: ({ load }) => load.pipeBitrateIn ?? 0 },
  { name: "meridian_sfu_pipe_bitrate_out_bps", help: "Media sent over pipes to other nodes, bits per second.", value: ({ load }) => load.pipeBitrateOut ?? 0 },
  {
    name: "meridian_sfu_worker_cpu",
    help: "CPU share of each mediasoup worker (0..1).",
    labels: ["worker"],
    value: ({ load }) => (load.cpu ?? []).map((share, i) => [{ worker: String(i) }, share]),
  },
];

/**
 * The node's load as Prometheus series, served on a local or private address only
 * (never the public one); `sample` is read once per scrape.
 */
export function sfuMetrics(nodeId: string, sample: () => SfuMetricsSnapshot): NodeMetrics<SfuMetricsSnapshot> {
  return new NodeMetrics(nodeId, FAMILIES, sample);
}
