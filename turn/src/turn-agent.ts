import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { NODE_PROTOCOL_VERSION, errorFields, type BackoffOptions, type Logger, type NodeLoad, type NodeRegistration, type NodeState } from "@meridian/protocol";
import { EdgeLink, edgeConnectUrl, startMetricsServer, type NodeMetrics } from "@meridian/node-agent";
import type { AgentConfig } from "./agent-config.ts";
import { turnMetrics, type ProbeName, type ProbeOutcome, type TurnMetricsSnapshot } from "./metrics.ts";
import { ThroughputMeter } from "./net-throughput.ts";
import { probeAllocate, probeStun, type AllocateProbeResult, type ProbeTarget } from "./probe.ts";
import { countRelaySockets, type PortRange } from "./relay-sockets.ts";

export const AGENT_VERSION = "0.1.0";
const PROBE_TIMEOUT_MS = 1000;

/** A TURN node hosts no routers or transports: the edge's every call is answered `unknown_method`. */
const NO_CALLS = {};

/** One health check's verdict; `reason` says why coturn is not fit to hand out. */
type HealthVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface TurnAgentDeps {
  readonly probe?: (target: ProbeTarget, timeoutMs: number) => Promise<boolean>;
  readonly meter?: ThroughputMeter;
  /** Counts the sockets bound in coturn's relay range (default: from /proc/net/udp{,6}). */
  readonly relaySockets?: (range: PortRange) => Promise<number>;
  /** Link tuning for tests. */
  readonly backoff?: BackoffOptions;
}

/**
 * Registers a coturn host with the edge and keeps its state honest: it advertises
 * `active` only while coturn answers STUN on its listening port and, given the edge's
 * TURN secret, grants an Allocate signed with a credential minted from it; `draining`
 * before that, after a few failed checks, and while shutting down, so the edge hands
 * out this node's TURN URLs only while they work.
 */
export class TurnAgent {
  readonly link: EdgeLink<typeof NO_CALLS>;
  readonly #config: AgentConfig;
  readonly #log: Logger;
  readonly #probe: (target: ProbeTarget, timeoutMs: number) => Promise<boolean>;
  readonly #meter: ThroughputMeter;
  readonly #relaySockets: (range: PortRange) => Promise<number>;
  #state: NodeState = "draining";
  #healthy = false;
  /** The latest check's verdict; #healthy changes only after HEALTH_FAILURES of them. */
  #lastCheckOk = false;
  #failures = 0;
  #checks = 0;
  #failedChecks = 0;
  readonly #probes: Partial<Record<ProbeName, ProbeOutcome>> = {};
  #utilization = 0;
  #relayReadFailed = false;
  readonly #metrics: NodeMetrics<TurnMetricsSnapshot>;
  #metricsServer: Server | undefined;
  #lastReason: string | undefined;
  #stopping = false;
  #healthTimer: NodeJS.Timeout | undefined;
  #probing: Promise<void> | undefined;

  constructor(config: AgentConfig, log: Logger, deps: TurnAgentDeps = {}) {
    this.#config = config;
    this.#log = log;
    this.#probe = deps.probe ?? probeStun;
    this.#meter = deps.meter ?? new ThroughputMeter(config.bpsCapacity);
    this.#relaySockets = deps.relaySockets ?? countRelaySockets;
    this.link = new EdgeLink({
      url: edgeConnectUrl(config.edgeUrl),
      nodeId: config.nodeId,
      secret: config.secret,
      registration: () => this.registration(),
      load: () => this.#sampleLoad(),
      methods: NO_CALLS,
      handlers: {},
      loadIntervalMs: config.loadReportIntervalMs,
      log: log.child("edge"),
      ...(deps.backoff ? { backoff: deps.backoff } : {}),
    });
    this.#metrics = turnMetrics(config.nodeId, () => this.#snapshot());
  }

  get state(): NodeState {
    return this.#state;
  }

  /** Where /metrics is served; undefined with METRICS_PORT=0, before start and after stop. */
  get metricsAddress(): AddressInfo | undefined {
    const address = this.#metricsServer?.listening ? this.#metricsServer.address() : null;
    return address && typeof address === "object" ? address : undefined;
  }

  registration(): NodeRegistration {
    const c = this.#config;
    return {
      protocol: NODE_PROTOCOL_VERSION,
      nodeId: c.nodeId,
      kind: "turn",
      version: AGENT_VERSION,
      region: c.region,
      lat: c.lat,
      lon: c.lon,
      load: this.#load(0),
      ...(c.urls.length ? { urls: c.urls } : {}),
    };
  }

  /** Serves /metrics, probes coturn once before dialling (so a healthy node registers as active), then dials. */
  async start(): Promise<void> {
    const { ip, port } = this.#config.metrics;
    if (port > 0) {
      try {
        this.#metricsServer = await startMetricsServer({ ip, port, metrics: this.#metrics, log: this.#log });
      } catch (error) {
        // EADDRINUSE here most likely means coturn's own exporter holds the port.
        throw new Error(`cannot serve metrics on ${ip}:${port} (${(error as Error).message}); METRICS_PORT=0 turns them off`, { cause: error });
      }
    }
    if (!this.#config.turnSecret) {
      this.#log.warn("TURN_SECRET is not set: the health check is STUN only and cannot tell that coturn refuses the edge's credentials");
    }
    await this.#checkHealth();
    this.link.start();
    this.#scheduleHealthCheck();
  }

  /** Reports `draining`, then closes the link for good. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#healthTimer);
    await this.#probing;
    this.#state = "draining";
    await this.link.reportLoad();
    await this.link.stop();
    const server = this.#metricsServer;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** What a scrape of /metrics reports, sampled now. */
  async #snapshot(): Promise<TurnMetricsSnapshot> {
    const c = this.#config;
    // Read before the rest, so a check finishing during the read cannot half-update the snapshot.
    const relayAllocations = await this.#countAllocations();
    return {
      region: c.region,
      version: AGENT_VERSION,
      up: this.#lastCheckOk,
      probes: { ...this.#probes },
      consecutiveFailures: this.#failures,
      checks: this.#checks,
      failedChecks: this.#failedChecks,
      state: this.#state,
      edgeConnected: this.link.registered,
      relayAllocations,
      relayPorts: c.relayPorts.max - c.relayPorts.min + 1,
      utilization: this.#utilization,
    };
  }

  async #countAllocations(): Promise<number | undefined> {
    try {
      const count = await this.#relaySockets(this.#config.relayPorts);
      this.#relayReadFailed = false;
      return count;
    } catch (error) {
      // Once per outage: Prometheus scrapes every few seconds.
      if (!this.#relayReadFailed) this.#log.warn("cannot count relay sockets; meridian_turn_relay_allocations is absent", errorFields(error));
      this.#relayReadFailed = true;
      return undefined;
    }
  }

  #scheduleHealthCheck(): void {
    if (this.#stopping) return;
    this.#healthTimer = setTimeout(() => {
      this.#probing = this.#checkHealth().finally(() => this.#scheduleHealthCheck());
    }, this.#config.healthIntervalMs);
  }

  async #checkHealth(): Promise<void> {
    const verdict = await this.#probeCoturn();
    this.#checks++;
    this.#lastCheckOk = verdict.ok;
    if (!verdict.ok) this.#failedChecks++;
    if (this.#stopping) return;
    if (verdict.ok) {
      this.#failures = 0;
      this.#lastReason = undefined;
      if (!this.#healthy) {
        this.#healthy = true;
        this.#log.info("coturn is healthy; node active", { probe: this.#config.probe, allocate: this.#config.turnSecret !== undefined });
        await this.#setState("active");
      }
      return;
    }
    this.#failures++;
    const { reason } = verdict;
    if (this.#failures < this.#config.healthFailures) return;
    if (this.#healthy) {
      this.#healthy = false;
      this.#log.warn("coturn health check failed; node draining", { probe: this.#config.probe, failures: this.#failures, reason });
      await this.#setState("draining");
    } else if (reason !== this.#lastReason) {
      // Once per cause rather than once per probe: a node can stay unhealthy for hours.
      this.#log.warn("coturn is not healthy; node stays draining", { probe: this.#config.probe, failures: this.#failures, reason });
    }
    this.#lastReason = reason;
  }

  async #probeCoturn(): Promise<HealthVerdict> {
    // Probes run one after another (the next is scheduled when this one ends), so a
    // full second to answer costs nothing on a healthy node and forgives a busy one.
    const secret = this.#config.turnSecret;
    let started = performance.now();
    const stunOk = await this.#probe(this.#config.probe, PROBE_TIMEOUT_MS);
    this.#probes.stun = { ok: stunOk, durationSeconds: (performance.now() - started) / 1000 };
    if (!stunOk) {
      if (secret) this.#probes.allocate = { ok: false, durationSeconds: this.#probes.allocate?.durationSeconds };
      return { ok: false, reason: "coturn does not answer STUN" };
    }
    if (!secret) return { ok: true };
    let result: AllocateProbeResult;
    started = performance.now();
    try {
      result = await probeAllocate(this.#config.probe, { secret, userId: `health-probe.${this.#config.nodeId}`, timeoutMs: PROBE_TIMEOUT_MS });
    } catch (error) {
      // A throw would end the health loop and leave the last reported state standing.
      result = { ok: false, reason: `the TURN Allocate probe failed: ${(error as Error).message}` };
    }
    // The release is part of the run: a slow Refresh is coturn being slow too.
    this.#probes.allocate = { ok: result.ok, durationSeconds: (performance.now() - started) / 1000 };
    if (result.ok && !result.released) {
      this.#log.warn("coturn did not confirm the release of the probe's allocation; it holds a relay port until it expires", { relayed: result.relayed });
    }
    return result;
  }

  async #setState(state: NodeState): Promise<void> {
    if (this.#state === state) return;
    this.#state = state;
    await this.link.reportLoad();
  }

  async #sampleLoad(): Promise<NodeLoad> {
    let utilization = 0;
    try {
      utilization = await this.#meter.utilization();
    } catch (error) {
      this.#log.debug("throughput sample failed", { error: String(error) });
    }
    this.#utilization = utilization;
    return this.#load(utilization);
  }

  #load(utilization: number): NodeLoad {
    return {
      state: this.#state,
      workers: this.#healthy ? 1 : 0,
      routers: 0,
      transports: 0,
      producers: 0,
      consumers: 0,
      utilization,
    };
  }
}
