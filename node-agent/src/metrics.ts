import { Counter, Gauge, Registry } from "prom-client";

/** One sample of a family: its labels after `node`, and its value. */
export type Sample = readonly [labels: Readonly<Record<string, string>>, value: number];

/** One metric family of a node, and how a snapshot of the node gives its samples. */
export interface Family<S> {
  readonly name: string;
  readonly help: string;
  /** A counter mirrors a total the node keeps itself. Default: gauge. */
  readonly type?: "gauge" | "counter";
  /** Label names after `node`, in the order they are rendered. */
  readonly labels?: readonly string[];
  /**
   * The family's samples in a snapshot: one unlabelled value, or labelled samples.
   * `undefined` or none: the family is absent (HELP and TYPE only), not a made-up zero.
   */
  readonly value: (snapshot: S) => number | undefined | readonly Sample[];
}

/**
 * A node's Prometheus series: a prom-client registry of the node's own (not the global
 * one, so nodes in one process never share a series; no default process metrics), every
 * series labelled with the node first. A scrape takes one snapshot and replaces every
 * series with its values before rendering, so it never mixes two moments and what the
 * node no longer knows is gone rather than stale.
 */
export class NodeMetrics<S> {
  readonly #registry = new Registry();
  readonly #nodeId: string;
  readonly #sample: () => S | Promise<S>;
  readonly #families: ReadonlyArray<{ readonly family: Family<S>; readonly metric: Gauge | Counter }>;

  constructor(nodeId: string, families: readonly Family<S>[], sample: () => S | Promise<S>) {
    this.#nodeId = nodeId;
    this.#sample = sample;
    this.#families = families.map((family) => {
      const config = { name: family.name, help: family.help, labelNames: ["node", ...(family.labels ?? [])], registers: [this.#registry] };
      return { family, metric: family.type === "counter" ? new Counter(config) : new Gauge(config) };
    });
  }

  /** The registry's exposition format: Prometheus text 0.0.4. */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /** Samples the node and renders every family. */
  async scrape(): Promise<string> {
    const snapshot = await this.#sample();
    // From here to the render nothing awaits: a concurrent scrape cannot interleave.
    for (const { family, metric } of this.#families) {
      metric.reset();
      const value = family.value(snapshot);
      for (const [labels, v] of typeof value === "number" ? [[{}, value] as const] : (value ?? [])) {
        const all = { node: this.#nodeId, ...labels };
        if (metric instanceof Counter) metric.inc(all, v);
        else metric.set(all, v);
      }
    }
    // prom-client puts a blank line between families; the nodes' exposition never had
    // one, and no HELP text or label value holds a raw line feed (both are escaped).
    return (await this.#registry.metrics()).replaceAll("\n\n", "\n");
  }
}
