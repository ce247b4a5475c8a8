import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cidrToRange, rangeBounds } from "../src/ip-range.ts";
import { loadPorts } from "../src/ports.ts";
import {
  DEFAULT_LIMITS,
  TEMPLATE_FILE,
  devParams,
  renderTemplate,
  renderTurnConfig,
  templateVariables,
  type TurnConfigParams,
} from "../src/render-config.ts";

const SECRET = "prod-secret-0123456789abcdef0123456789";
const PREVIOUS = "prev-secret-0123456789abcdef0123456789";

function production(over: Partial<TurnConfigParams> = {}): TurnConfigParams {
  return {
    variant: "production",
    realm: "turn.example.org",
    secrets: [SECRET],
    ports: loadPorts().turn,
    listeningIps: ["10.20.1.10"],
    relayIps: ["10.20.1.10"],
    externalIp: "198.51.100.7/10.20.1.10",
    tls: { cert: "/etc/coturn/tls/cert.pem", pkey: "/etc/coturn/tls/pkey.pem" },
    prometheus: false,
    extraDeniedPeerCidrs: [],
    ...DEFAULT_LIMITS,
    ...over,
  };
}

/**
 * Every network a relay must never reach, written independently of the template. The
 * unspecified addresses (0.0.0.0, ::) are left out: coturn refuses them by itself, and a
 * range starting there would read as "any address" and deny every peer.
 */
const MUST_DENY = [
  "0.0.0.1-0.255.255.255", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
  "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
  "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
  "::1/128", "::1-::ffff:ffff", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
  "2001::/32", "2001:2::/48", "2001:db8::/32", "2002::/16", "fc00::/7", "fd00:ec2::254/128",
  "fe80::/10", "fec0::/10", "ff00::/8",
];

function deniedRanges(config: string) {
  return [...config.matchAll(/^denied-peer-ip=(\S+)$/gm)].map((m) => rangeBounds(m[1]!));
}

function covered(config: string, network: string): boolean {
  const target = rangeBounds(network.includes("/") ? cidrToRange(network) : network);
  return deniedRanges(config).some((r) => r.family === target.family && r.first <= target.first && r.last >= target.last);
}

function directives(config: string): string[] {
  return config.split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
}

describe("production coturn config", () => {
  const config = renderTurnConfig(production());

  it.each(MUST_DENY)("denies relaying to %s", (cidr) => {
    expect(covered(config, cidr)).toBe(true);
  });

  it("never starts a denied range at an unspecified address (coturn would deny every peer)", () => {
    const ranges = deniedRanges(config);
    expect(ranges.length).toBeGreaterThan(20);
    for (const range of ranges) expect(range.first).not.toBe(0n);
  });

  it("has no exception that would let peers on loopback or private ranges back in", () => {
    expect(config).not.toMatch(/^\s*allow-loopback-peers/m);
    expect(config).not.toMatch(/^\s*allowed-peer-ip/m);
    expect(directives(config)).toContain("no-multicast-peers");
  });

  it("uses REST API auth with the secret, the realm and the hardening flags", () => {
    const lines = directives(config);
    for (const line of [
      "use-auth-secret", `static-auth-secret=${SECRET}`, "realm=turn.example.org", "no-cli", "fingerprint",
      "no-tlsv1", "no-tlsv1_1", "no-dtls", "no-tcp-relay", "no-rfc5780", "log-file=stdout",
      "cert=/etc/coturn/tls/cert.pem", "pkey=/etc/coturn/tls/pkey.pem", "external-ip=198.51.100.7/10.20.1.10",
    ]) expect(lines).toContain(line);
    expect(lines).not.toContain("no-tls");
    expect(lines.some((l) => l.startsWith("lt-cred-mech") || l.startsWith("no-auth"))).toBe(false);
  });

  it("takes its ports from ports.json", () => {
    const ports = loadPorts().turn;
    const lines = directives(config);
    expect(lines).toContain(`listening-port=${ports.listeningPort}`);
    expect(lines).toContain(`tls-listening-port=${ports.tlsListeningPort}`);
    expect(lines).toContain(`min-port=${ports.relayMinPort}`);
    expect(lines).toContain(`max-port=${ports.relayMaxPort}`);
  });

  it("caps bandwidth and allocations", () => {
    const lines = directives(config);
    expect(lines).toContain(`user-quota=${DEFAULT_LIMITS.userQuota}`);
    expect(lines).toContain(`total-quota=${DEFAULT_LIMITS.totalQuota}`);
    expect(lines).toContain(`max-bps=${DEFAULT_LIMITS.maxBps}`);
    expect(lines).toContain(`bps-capacity=${DEFAULT_LIMITS.bpsCapacity}`);
  });

  it("accepts two secrets during a rotation window, each on its own line", () => {
    const rotating = directives(renderTurnConfig(production({ secrets: [SECRET, PREVIOUS] })));
    expect(rotating.filter((l) => l.startsWith("static-auth-secret="))).toEqual([
      `static-auth-secret=${SECRET}`,
      `static-auth-secret=${PREVIOUS}`,
    ]);
  });

  it("denies the deployment's own networks too, converted from CIDR", () => {
    const withVpc = renderTurnConfig(production({ extraDeniedPeerCidrs: ["44.10.0.0/16", "2600:1f18::/56"] }));
    expect(directives(withVpc)).toContain("denied-peer-ip=44.10.0.0-44.10.255.255");
    expect(covered(withVpc, "2600:1f18:0:ff::/64")).toBe(true);
    expect(covered(config, "44.10.0.0/16")).toBe(false);
  });

  it("turns the exporter on only when asked, on the ports.json port", () => {
    expect(directives(config).some((l) => l.startsWith("prometheus"))).toBe(false);
    const lines = directives(renderTurnConfig(production({ prometheus: true })));
    expect(lines).toContain("prometheus");
    expect(lines).toContain(`prometheus-port=${loadPorts().turn.prometheusPort}`);
  });
});

describe("renderer safety", () => {
  it("refuses values that would inject config lines", () => {
    expect(() => renderTurnConfig(production({ secrets: ["a".repeat(40) + "\nallow-loopback-peers"] }))).toThrow(/secret/);
    expect(() => renderTurnConfig(production({ realm: "x\nno-auth" }))).toThrow(/realm/);
    expect(() => renderTurnConfig(production({ listeningIps: ["10.0.0.1\nallow-loopback-peers"] }))).toThrow(/IP/);
  });

  it("refuses weak production secrets, three secrets and duplicates", () => {
    expect(() => renderTurnConfig(production({ secrets: ["short"] }))).toThrow(/at least 32/);
    expect(() => renderTurnConfig(production({ secrets: [SECRET, PREVIOUS, SECRET + "x"] }))).toThrow(/two/);
    expect(() => renderTurnConfig(production({ secrets: [SECRET, SECRET] }))).toThrow(/differ/);
  });

  it("keeps the dev variant on loopback", () => {
    expect(() => renderTurnConfig(devParams("dev-secret-123", { listeningIps: ["0.0.0.0"] }))).toThrow(/127\.0\.0\.1/);
    const dev = directives(renderTurnConfig(devParams("dev-secret-123")));
    expect(dev).toContain("allow-loopback-peers");
    expect(dev).toContain("listening-ip=127.0.0.1");
    expect(dev).toContain("relay-ip=127.0.0.1");
    expect(dev).toContain("no-tls");
  });

  it("fails on a placeholder without a value and a value without a placeholder", () => {
    expect(() => renderTemplate("a=${x}\nb=${y}", { x: "1" })).toThrow(/no value for \$\{y\}/);
    expect(() => renderTemplate("a=${x}", { x: "1", z: "2" })).toThrow(/without a placeholder: z/);
    expect(() => renderTemplate("%{ if x }y%{ endif }", {})).toThrow(/directives/);
  });

  it("uses exactly the variables the template names (the contract Terraform renders too)", () => {
    const template = readFileSync(TEMPLATE_FILE, "utf8");
    const names = new Set([...template.matchAll(/\$\{([a-z_]+)\}/g)].map((m) => m[1]));
    expect(new Set(Object.keys(templateVariables(production())))).toEqual(names);
  });
});
