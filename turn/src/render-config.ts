#!/usr/bin/env node
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { cidrToRange } from "./ip-range.ts";
import { loadPorts, type TurnPorts } from "./ports.ts";

/**
 * Renders turn/turnserver.conf.tftpl, the template Terraform's templatefile() renders
 * for production. Only the subset both understand is allowed: `${name}` placeholders,
 * no `%{}` directives; every placeholder needs a value and every value a placeholder,
 * so the two renderers cannot drift apart silently.
 */

export const TEMPLATE_FILE = new URL("../turnserver.conf.tftpl", import.meta.url);

export type Variant = "production" | "dev";

export interface TurnConfigParams {
  readonly variant: Variant;
  readonly realm: string;
  /** The current secret first; a second one only during a rotation window. */
  readonly secrets: readonly string[];
  readonly ports: TurnPorts;
  /** Addresses coturn binds. Production: the VM's private address. */
  readonly listeningIps: readonly string[];
  readonly relayIps: readonly string[];
  /** "public/private" when the VM sits behind 1:1 NAT (an Elastic IP). */
  readonly externalIp?: string;
  readonly tls?: { readonly cert: string; readonly pkey: string };
  readonly userQuota: number;
  readonly totalQuota: number;
  readonly maxBps: number;
  readonly bpsCapacity: number;
  /** Debian's coturn is built without the exporter and rejects the option: off there. */
  readonly prometheus: boolean;
  /** The deployment's own networks, in CIDR, denied like the private ranges. */
  readonly extraDeniedPeerCidrs: readonly string[];
}

/** Limits sized for a participant with a few transports over UDP, TCP and TLS. */
export const DEFAULT_LIMITS = {
  userQuota: 12,
  totalQuota: 1200,
  /** 10 Mbit/s per session: a receive transport with a grid of videos and a screen. */
  maxBps: 1_250_000,
  /** 1 Gbit/s for the whole node. */
  bpsCapacity: 125_000_000,
} as const;

export class ConfigRenderError extends Error {
  override name = "ConfigRenderError";
}

/** The loopback-only variant `npm start` and the tests use. */
export function devParams(secret: string, overrides: Partial<TurnConfigParams> = {}): TurnConfigParams {
  return {
    variant: "dev",
    realm: "meridian.local",
    secrets: [secret],
    ports: loadPorts().turn,
    listeningIps: ["127.0.0.1"],
    relayIps: ["127.0.0.1"],
    prometheus: false,
    extraDeniedPeerCidrs: [],
    ...DEFAULT_LIMITS,
    ...overrides,
  };
}

export function templateVariables(p: TurnConfigParams): Record<string, string> {
  validate(p);
  const lines = (prefix: string, values: readonly string[]) => values.map((value) => `${prefix}=${value}`).join("\n");
  return {
    listening_port: String(p.ports.listeningPort),
    tls_listening_port: String(p.ports.tlsListeningPort),
    listening_ips: lines("listening-ip", p.listeningIps),
    relay_ips: lines("relay-ip", p.relayIps),
    external_ip: p.externalIp ? `external-ip=${p.externalIp}` : "# no external-ip: relay addresses are public as bound",
    min_port: String(p.ports.relayMinPort),
    max_port: String(p.ports.relayMaxPort),
    static_auth_secrets: lines("static-auth-secret", p.secrets),
    realm: p.realm,
    user_quota: String(p.userQuota),
    total_quota: String(p.totalQuota),
    max_bps: String(p.maxBps),
    bps_capacity: String(p.bpsCapacity),
    peer_policy:
      p.variant === "dev"
        ? "# DEVELOPMENT ONLY: the SFU node is on loopback here.\nallow-loopback-peers\nallowed-peer-ip=127.0.0.0-127.255.255.255"
        : "# production: no peer exceptions",
    extra_denied_peer_ips: p.extraDeniedPeerCidrs.length
      ? lines("denied-peer-ip", p.extraDeniedPeerCidrs.map(cidrToRange))
      : "# (none)",
    tls: p.tls ? `cert=${p.tls.cert}\npkey=${p.tls.pkey}` : "no-tls",
    prometheus: p.prometheus
      ? `prometheus\nprometheus-port=${p.ports.prometheusPort}`
      : "# prometheus exporter off (not built into Debian's coturn)",
  };
}

export function renderTemplate(template: string, variables: Record<string, string>): string {
  if (template.includes("%{")) throw new ConfigRenderError("template directives (%{...}) are not supported by this renderer");
  const used = new Set<string>();
  const out = template.replace(/\$\{([^}]*)\}/g, (_match, name: string) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new ConfigRenderError(`only plain \${name} placeholders are supported, got \${${name}}`);
    const value = variables[name];
    if (value === undefined) throw new ConfigRenderError(`no value for \${${name}}`);
    used.add(name);
    return value;
  });
  const unused = Object.keys(variables).filter((name) => !used.has(name));
  if (unused.length) throw new ConfigRenderError(`values without a placeholder: ${unused.join(", ")}`);
  return out;
}

export function renderTurnConfig(params: TurnConfigParams, template = readFileSync(TEMPLATE_FILE, "utf8")): string {
  return renderTemplate(template, templateVariables(params));
}

function validate(p: TurnConfigParams): void {
  const fail = (message: string): never => {
    throw new ConfigRenderError(`invalid TURN config: ${message}`);
  };
  // A value with a newline or space would inject configuration lines.
  const plain = /^[!-~]+$/;
  if (!/^[a-zA-Z0-9.-]{1,253}$/.test(p.realm)) fail("realm must be a host-like name");
  if (p.secrets.length < 1 || p.secrets.length > 2) fail("one secret, or two during a rotation window");
  const minSecret = p.variant === "production" ? 32 : 8;
  for (const secret of p.secrets) {
    if (!plain.test(secret) || secret.includes("#")) fail("a secret must be printable ASCII without spaces or '#'");
    if (secret.length < minSecret) fail(`a ${p.variant} secret needs at least ${minSecret} characters`);
  }
  if (new Set(p.secrets).size !== p.secrets.length) fail("the two secrets must differ");
  if (!p.listeningIps.length || !p.relayIps.length) fail("listening and relay addresses are required");
  for (const ip of [...p.listeningIps, ...p.relayIps]) if (!isIP(ip)) fail(`not an IP address: ${ip}`);
  if (p.variant === "dev" && ![...p.listeningIps, ...p.relayIps].every((ip) => ip === "127.0.0.1")) {
    fail("the dev variant allows loopback peers, so it must listen and relay on 127.0.0.1 only");
  }
  if (p.externalIp !== undefined) {
    const parts = p.externalIp.split("/");
    if (parts.length > 2 || !parts.every((ip) => isIP(ip))) fail("externalIp must be an address or public/private");
  }
  if (p.tls) for (const path of [p.tls.cert, p.tls.pkey]) if (!/^\/[!-~]+$/.test(path)) fail(`TLS paths must be absolute: ${path}`);
  for (const [name, value] of Object.entries({ userQuota: p.userQuota, totalQuota: p.totalQuota, maxBps: p.maxBps, bpsCapacity: p.bpsCapacity })) {
    if (!Number.isInteger(value) || value < 0) fail(`${name} must be a non-negative integer`);
  }
  if (p.ports.relayMinPort > p.ports.relayMaxPort) fail("relay port range is empty");
}

const USAGE = `usage: node turn/src/render-config.ts --variant dev|production [options] > turnserver.conf
  secrets come from the environment, never from arguments:
    TURN_SECRET (required), TURN_SECRET_PREVIOUS (optional, during a rotation)
  --realm NAME            default meridian.local
  --listening-ip IP       production only (dev is 127.0.0.1); repeatable
  --relay-ip IP           production only; repeatable (default: the listening IPs)
  --external-ip PUB[/PRIV]
  --cert FILE --pkey FILE TLS certificate and key (no TLS listener without them)
  --listening-port N --tls-listening-port N --min-port N --max-port N   override ports.json
  --prometheus            enable the exporter (coturn builds that have it)
  --deny CIDR             an extra denied peer network; repeatable
  --out FILE              write there with mode 0600 instead of stdout`;

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      variant: { type: "string" },
      realm: { type: "string", default: "meridian.local" },
      "listening-ip": { type: "string", multiple: true },
      "relay-ip": { type: "string", multiple: true },
      "external-ip": { type: "string" },
      cert: { type: "string" },
      pkey: { type: "string" },
      "listening-port": { type: "string" },
      "tls-listening-port": { type: "string" },
      "min-port": { type: "string" },
      "max-port": { type: "string" },
      prometheus: { type: "boolean", default: false },
      deny: { type: "string", multiple: true },
      out: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return;
  }
  const variant = values.variant;
  if (variant !== "dev" && variant !== "production") throw new ConfigRenderError(`--variant dev|production is required\n${USAGE}`);
  const secret = process.env.TURN_SECRET;
  if (!secret) throw new ConfigRenderError("TURN_SECRET is required");
  const secrets = process.env.TURN_SECRET_PREVIOUS ? [secret, process.env.TURN_SECRET_PREVIOUS] : [secret];
  const ports = { ...loadPorts().turn };
  const portOverride = (flag: string | undefined, key: keyof TurnPorts) => {
    if (flag !== undefined) ports[key] = Number(flag);
  };
  portOverride(values["listening-port"], "listeningPort");
  portOverride(values["tls-listening-port"], "tlsListeningPort");
  portOverride(values["min-port"], "relayMinPort");
  portOverride(values["max-port"], "relayMaxPort");
  if ((values.cert === undefined) !== (values.pkey === undefined)) throw new ConfigRenderError("--cert and --pkey go together");
  const tls = values.cert && values.pkey ? { cert: values.cert, pkey: values.pkey } : undefined;
  const listeningIps = variant === "dev" ? ["127.0.0.1"] : (values["listening-ip"] ?? []);
  const params: TurnConfigParams = {
    ...devParams(secret),
    variant,
    realm: values.realm,
    secrets,
    ports,
    listeningIps,
    relayIps: values["relay-ip"] ?? listeningIps,
    ...(values["external-ip"] ? { externalIp: values["external-ip"] } : {}),
    ...(tls ? { tls } : {}),
    prometheus: values.prometheus,
    extraDeniedPeerCidrs: values.deny ?? [],
  };
  const text = renderTurnConfig(params);
  if (values.out) {
    writeFileSync(values.out, text, { mode: 0o600 });
    chmodSync(values.out, 0o600);
  } else {
    process.stdout.write(text);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`render-config: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
