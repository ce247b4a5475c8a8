import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export const TERRAFORM_DIR = fileURLToPath(new URL("../..", import.meta.url));
export const RENDER_FIXTURE = join(TERRAFORM_DIR, "test/fixtures/render");
export const TERRAFORM_BIN = process.env.TERRAFORM_BIN ?? "terraform";

/** Missing terraform: the suite fails under CI=true and is skipped with the reason elsewhere. */
export function terraformAvailable(): boolean {
  try {
    execFileSync(TERRAFORM_BIN, ["version"], { stdio: "ignore", env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", CHECKPOINT_DISABLE: "1" } });
    return true;
  } catch {
    const reason = `terraform not found (${TERRAFORM_BIN}); install Terraform >= 1.6`;
    if (process.env.CI === "true") throw new Error(reason);
    console.warn(`skipping Terraform evaluation tests: ${reason}`);
    return false;
  }
}

/** The secrets the render fixture is applied with: test values, never real ones. */
export const FIXTURE_SECRETS = {
  node_secret: "test-node-secret-0123456789abcdef-0123",
  turn_static_auth_secrets: ["turn-secret-current-0123456789abcdef", "turn-secret-previous-0123456789abcdef"],
};

/**
 * PEM armour around placeholder text, for rendering the TLS path only: not a certificate,
 * not a key, nothing a TLS library would load. Written to a temporary directory per render.
 */
export const FIXTURE_TLS = {
  certificate_pem: "-----BEGIN CERTIFICATE-----\nTEST-ONLY-NOT-A-CERTIFICATE\n-----END CERTIFICATE-----\n",
  private_key_pem: "-----BEGIN PRIVATE KEY-----\nTEST-ONLY-NOT-A-KEY\n-----END PRIVATE KEY-----\n",
};

export interface RenderOutputs {
  sfu_user_data: string;
  /** Node "a" (the one with a hostname). */
  turn_user_data: string;
  turnserver_conf: string;
  /** Per node: "a" has a hostname, "b" has none. */
  turn_urls: Record<"a" | "b", string[]>;
  firewall: Record<"sfu" | "turn", FirewallRule[]>;
}

export interface FirewallRule {
  name: string;
  protocol: "udp" | "tcp";
  from_port: number;
  to_port: number;
  source: "any" | "vpc" | "sfu";
}

/**
 * Applies the provider-free render fixture (terraform/test/fixtures/render) with its own
 * data directory and state in a temporary directory, so nothing is written to the
 * repository, and returns its outputs (sensitive ones included: they hold test values).
 * `tls`: render with FIXTURE_TLS as turn_tls; otherwise turn_tls is null.
 * `turnPrometheus`: render with coturn's exporter on (turn_prometheus).
 */
export async function applyRenderFixture(options: { tls?: boolean; turnPrometheus?: boolean } = {}): Promise<RenderOutputs> {
  const work = await mkdtemp(join(tmpdir(), "meridian-tf-render-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TF_CLI_CONFIG_FILE: "/dev/null",
    TF_DATA_DIR: join(work, "data"),
    TF_IN_AUTOMATION: "1",
    CHECKPOINT_DISABLE: "1",
    TF_VAR_node_secret: FIXTURE_SECRETS.node_secret,
    TF_VAR_turn_static_auth_secrets: JSON.stringify(FIXTURE_SECRETS.turn_static_auth_secrets),
    TF_VAR_turn_prometheus: String(options.turnPrometheus ?? false),
  };
  if (options.tls) {
    const files = { certificate: join(work, "cert.pem"), private_key: join(work, "key.pem") };
    await writeFile(files.certificate, FIXTURE_TLS.certificate_pem, { mode: 0o600 });
    await writeFile(files.private_key, FIXTURE_TLS.private_key_pem, { mode: 0o600 });
    env.TF_VAR_certificate_files = JSON.stringify(files);
  }
  const tf = (...args: string[]) => run(TERRAFORM_BIN, [`-chdir=${RENDER_FIXTURE}`, ...args], { env, maxBuffer: 16 * 1024 * 1024 });
  try {
    await tf("init", "-input=false", "-no-color", `-backend-config=path=${join(work, "terraform.tfstate")}`);
    await tf("apply", "-input=false", "-no-color", "-auto-approve");
    const { stdout } = await tf("output", "-json", "-no-color");
    const outputs = JSON.parse(stdout) as Record<string, { value: unknown }>;
    return Object.fromEntries(Object.entries(outputs).map(([name, o]) => [name, o.value])) as unknown as RenderOutputs;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The content of one file a cloud-config writes. */
export function writtenFile(cloudConfig: string, path: string): string {
  const files = parseWriteFiles(cloudConfig);
  const file = files.get(path);
  if (file === undefined) throw new Error(`user-data writes no ${path}`);
  return file;
}

/**
 * Terraform's yamlencode writes each write_files entry as `- "content": |` with the
 * content indented by four spaces, then `"path": "..."`. Enough YAML for these tests,
 * without a YAML dependency; cloud-init's own schema check covers the YAML itself.
 */
function parseWriteFiles(cloudConfig: string): Map<string, string> {
  const files = new Map<string, string>();
  const lines = cloudConfig.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^- "content": \|/.test(lines[i]!)) continue;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && (lines[j]!.startsWith("    ") || lines[j] === ""); j++) body.push(lines[j]!.slice(4));
    const path = /^ {2}"path": "(.*)"$/.exec(lines.slice(j, j + 3).find((l) => l.startsWith('  "path"')) ?? "")?.[1];
    if (path) files.set(path, body.join("\n").replace(/\n*$/, "\n"));
    i = j - 1;
  }
  return files;
}
