import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const CLOUD_INIT_BIN = process.env.CLOUD_INIT_BIN ?? "cloud-init";

function which(bin: string): string | undefined {
  try {
    return execFileSync("sh", ["-c", 'command -v "$1"', "sh", bin], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Missing cloud-init: the suite fails under CI=true (check-infra.sh installs it) and is skipped with the reason elsewhere. */
export function cloudInitAvailable(): boolean {
  if (which(CLOUD_INIT_BIN)) return true;
  const reason = `cloud-init not found (${CLOUD_INIT_BIN}); scripts/check-infra.sh installs Debian's package`;
  if (process.env.CI === "true") throw new Error(reason);
  console.warn(`skipping cloud-init tests: ${reason}`);
  return false;
}

/** `cloud-init schema --config-file`: exit status and what it printed. */
export async function cloudInitSchema(userData: string): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), "meridian-cloud-init-"));
  try {
    const file = join(dir, "user-data.yaml");
    await writeFile(file, userData, { mode: 0o600 });
    try {
      const { stdout, stderr } = await run(CLOUD_INIT_BIN, ["schema", "--config-file", file]);
      return { ok: true, output: stdout + stderr };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` || e.message };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface CloudConfig {
  runcmd: string[];
  write_files: Array<{ path: string; permissions: string; content: string }>;
  [key: string]: unknown;
}

/**
 * The user-data as cloud-init reads it: loaded by PyYAML in the interpreter cloud-init
 * itself runs on (its shebang), so modes and command order are what a node would get.
 */
export async function loadCloudConfig(userData: string): Promise<CloudConfig> {
  const shebang = readFileSync(which(CLOUD_INIT_BIN) ?? CLOUD_INIT_BIN, "utf8").split("\n", 1)[0]!;
  const python = /^#!\s*(\S+)/.exec(shebang)?.[1] ?? "python3";
  const child = execFile(python, ["-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"], { maxBuffer: 16 * 1024 * 1024 });
  child.stdin!.end(userData);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: string) => (stdout += d));
  child.stderr!.on("data", (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new Error(`${python} could not load the user-data as YAML: ${stderr}`);
  return JSON.parse(stdout) as CloudConfig;
}
