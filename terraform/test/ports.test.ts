import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { renderTurnConfig, DEFAULT_LIMITS } from "@meridian/turn/render-config";
import { loadPorts } from "@meridian/turn/ports";
import { TERRAFORM_DIR, FIXTURE_SECRETS, applyRenderFixture, terraformAvailable, writtenFile, type FirewallRule, type RenderOutputs } from "./support/terraform.ts";

/**
 * On values Terraform actually evaluated (the provider-free render fixture): the ports
 * the rendered SFU environment, coturn config and TURN agent environment listen on are
 * exactly the ports the firewall output opens (which aws-region turns into security
 * group rules), and Terraform's templatefile() renders the same coturn config as
 * turn/src/render-config.ts.
 */

type Source = "any" | "vpc" | "sfu";
type Opening = `${"udp" | "tcp"}:${number}-${number}:${Source}`;
const opening = (protocol: "udp" | "tcp", from: number, to: number, source: Source): Opening => `${protocol}:${from}-${to}:${source}`;
const openings = (rules: FirewallRule[]) => new Set(rules.map((r) => opening(r.protocol, r.from_port, r.to_port, r.source)));

function directive(config: string, name: string): number {
  const match = new RegExp(`^${name}=(\\d+)$`, "m").exec(config);
  if (!match) throw new Error(`no ${name} in the config`);
  return Number(match[1]);
}

function envValue(env: string, name: string): string {
  const match = new RegExp(`^${name}=(.*)$`, "m").exec(env);
  if (!match) throw new Error(`no ${name} in the environment file`);
  return match[1]!;
}

/**
 * Everything a TURN node listens on, read from what Terraform rendered (never from
 * ports.json): coturn's listeners and relay range, the 443 redirect, coturn's exporter
 * when its config turns it on, and the agent's /metrics unless its METRICS_PORT is 0.
 * A list, so that two listeners on one port show up as a duplicate.
 */
function turnListeners(out: RenderOutputs): Opening[] {
  const config = out.turnserver_conf;
  const listening = directive(config, "listening-port");
  const tls = directive(config, "tls-listening-port");
  const [min, max] = [directive(config, "min-port"), directive(config, "max-port")];
  // What coturn does not listen on must not be opened: these flags remove listeners.
  expect(config).toMatch(/^no-dtls$/m);
  expect(config).toMatch(/^no-tcp-relay$/m);
  expect(config).not.toMatch(/^alt-(tls-)?listening-port=/m);
  const nft = writtenFile(out.turn_user_data, "/etc/meridian/turn-tls443.nft");
  const redirect = /tcp dport (\d+) redirect to :(\d+)/.exec(nft);
  expect(Number(redirect?.[2])).toBe(tls);
  const alt = Number(redirect?.[1]);
  const listeners: Opening[] = [
    opening("udp", listening, listening, "any"),
    opening("tcp", listening, listening, "any"),
    opening("tcp", tls, tls, "any"),
    opening("tcp", alt, alt, "any"),
    opening("udp", min, max, "any"),
  ];
  // coturn's exporter and the agent's /metrics: for Prometheus inside the network only.
  if (/^prometheus$/m.test(config)) {
    const exporter = directive(config, "prometheus-port");
    listeners.push(opening("tcp", exporter, exporter, "vpc"));
  }
  const env = writtenFile(out.turn_user_data, "/etc/meridian/turn-agent.env");
  const agentMetrics = Number(envValue(env, "METRICS_PORT"));
  if (agentMetrics > 0) {
    // Opened to the VPC, so it must listen beyond loopback (the agent's own default).
    expect(envValue(env, "METRICS_IP")).toBe("0.0.0.0");
    listeners.push(opening("tcp", agentMetrics, agentMetrics, "vpc"));
  }
  return listeners;
}

describe.runIf(terraformAvailable())("ports: what nodes listen on is what the firewall opens", () => {
  let out: RenderOutputs;
  let withExporter: RenderOutputs;
  const ports = loadPorts();

  beforeAll(async () => {
    [out, withExporter] = await Promise.all([applyRenderFixture(), applyRenderFixture({ turnPrometheus: true })]);
  });

  it("SFU: the RTC range for every possible worker (UDP and TCP) to all, metrics to the VPC, the pipe range to SFU nodes, nothing else", () => {
    const env = writtenFile(out.sfu_user_data, "/etc/meridian/sfu.env");
    const base = Number(envValue(env, "RTC_PORT_BASE"));
    expect(envValue(env, "LISTEN_IP")).toBe("0.0.0.0");
    // Opened to the VPC, so it must listen beyond loopback (the node's own default).
    expect(envValue(env, "METRICS_IP")).toBe("0.0.0.0");
    expect(Number(envValue(env, "METRICS_PORT"))).toBe(ports.sfu.metricsPort);
    // The boot script caps workers at ports.json's maxWorkers, so base..base+max-1 covers them all.
    const script = writtenFile(out.sfu_user_data, "/usr/local/sbin/meridian-node-env");
    expect(script).toContain(`if [ "$workers" -gt ${ports.sfu.maxWorkers} ]; then workers=${ports.sfu.maxWorkers}; fi`);
    const last = base + ports.sfu.maxWorkers - 1;
    const [pipeMin, pipeMax] = [Number(envValue(env, "PIPE_PORT_MIN")), Number(envValue(env, "PIPE_PORT_MAX"))];
    expect(openings(out.firewall.sfu)).toEqual(
      new Set([
        opening("udp", base, last, "any"),
        opening("tcp", base, last, "any"),
        opening("tcp", ports.sfu.metricsPort, ports.sfu.metricsPort, "vpc"),
        opening("udp", pipeMin, pipeMax, "sfu"),
      ]),
    );
    // Both ranges are kept out of the kernel's ephemeral ports.
    const sysctl = writtenFile(out.sfu_user_data, "/etc/sysctl.d/61-meridian-sfu.conf");
    expect(sysctl).toMatch(new RegExp(`^net\\.ipv4\\.ip_local_reserved_ports = ${base}-${last},${pipeMin}-${pipeMax}$`, "m"));
  });

  it("TURN: coturn's listeners, the 443 redirect and the UDP relay range to all, the agent's metrics to the VPC, nothing else", () => {
    const listeners = turnListeners(out);
    expect(new Set(listeners).size).toBe(listeners.length);
    expect(out.turnserver_conf).not.toMatch(/^prometheus$/m);
    expect(listeners).toContain(opening("tcp", ports.turn.altTlsListeningPort, ports.turn.altTlsListeningPort, "any"));
    // The agent serves on the port coturn's exporter would have: Debian's coturn has none.
    expect(listeners).toContain(opening("tcp", ports.turn.prometheusPort, ports.turn.prometheusPort, "vpc"));
    expect(openings(out.firewall.turn)).toEqual(new Set(listeners));
    expect(out.firewall.turn).toHaveLength(listeners.length);
  });

  it("TURN with coturn's exporter (turn_prometheus): the exporter's port to the VPC, once; the agent serves none", () => {
    const listeners = turnListeners(withExporter);
    expect(new Set(listeners).size).toBe(listeners.length);
    expect(withExporter.turnserver_conf).toMatch(/^prometheus$/m);
    expect(Number(envValue(writtenFile(withExporter.turn_user_data, "/etc/meridian/turn-agent.env"), "METRICS_PORT"))).toBe(0);
    expect(openings(withExporter.firewall.turn)).toEqual(new Set(listeners));
    expect(withExporter.firewall.turn).toHaveLength(listeners.length);
  });

  it("the TURN agent probes the port coturn listens on, at the address it binds", () => {
    const env = writtenFile(out.turn_user_data, "/etc/meridian/turn-agent.env");
    expect(Number(envValue(env, "TURN_PROBE_PORT"))).toBe(directive(out.turnserver_conf, "listening-port"));
    expect(out.turnserver_conf).toContain(`listening-ip=${envValue(env, "TURN_PROBE_HOST")}\n`);
  });

  it("the TURN agent counts relay sockets in coturn's relay range, which the kernel keeps out of its ephemeral ports", () => {
    const env = writtenFile(out.turn_user_data, "/etc/meridian/turn-agent.env");
    const [min, max] = [directive(out.turnserver_conf, "min-port"), directive(out.turnserver_conf, "max-port")];
    expect(Number(envValue(env, "TURN_RELAY_MIN_PORT"))).toBe(min);
    expect(Number(envValue(env, "TURN_RELAY_MAX_PORT"))).toBe(max);
    const sysctl = writtenFile(out.turn_user_data, "/etc/sysctl.d/61-meridian-turn.conf");
    expect(sysctl).toMatch(new RegExp(`^net\\.ipv4\\.ip_local_reserved_ports = ${min}-${max}$`, "m"));
  });

  it("Terraform's templatefile() and the TypeScript renderer produce the same coturn config", () => {
    const fixture = readFileSync(join(TERRAFORM_DIR, "test/fixtures/render/main.tf"), "utf8");
    expect(fixture).toContain('a = { node_id = "turn-eu-central-1-a", public_ip = "198.51.100.10", private_ip = "10.40.1.10", hostname = "turn-a.eu.example.org" }');
    const fromTypeScript = renderTurnConfig({
      variant: "production",
      realm: "meridian",
      secrets: FIXTURE_SECRETS.turn_static_auth_secrets,
      ports: ports.turn,
      listeningIps: ["10.40.1.10"],
      relayIps: ["10.40.1.10"],
      externalIp: "198.51.100.10/10.40.1.10",
      tls: { cert: "/etc/meridian/tls/turn-cert.pem", pkey: "/etc/meridian/tls/turn-pkey.pem" },
      prometheus: false,
      extraDeniedPeerCidrs: ["10.40.0.0/16"],
      ...DEFAULT_LIMITS,
    });
    expect(out.turnserver_conf).toBe(fromTypeScript);
  });
});
