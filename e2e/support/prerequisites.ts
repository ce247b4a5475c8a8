import { networkInterfaces } from "node:os";
import { isExecutable, resolveWorkerBinary } from "@meridian/sfu-node/worker-binary";

/**
 * What the browser tests need. Missing pieces skip the suite on a developer machine and
 * fail it, with the reason, under CI=true: CI must never pass by skipping.
 */
export interface Prerequisites {
  readonly chromium: string;
  readonly workerBin: string;
}

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
}

export function checkPrerequisites(): { ok: true; value: Prerequisites } | { ok: false; reason: string } {
  const problems: string[] = [];
  const chromium = chromiumPath();
  if (!isExecutable(chromium)) problems.push(`no Chromium at ${chromium} (apt-get install chromium, or set CHROMIUM_PATH)`);
  let workerBin = "";
  try {
    workerBin = resolveWorkerBinary();
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (process.env.MERIDIAN_REQUIRE_NETNS === "1") {
    const interfaces = Object.keys(networkInterfaces());
    if (interfaces.some((name) => name !== "lo")) {
      problems.push(`not in a loopback-only network namespace (interfaces: ${interfaces.join(", ")})`);
    }
  }
  if (problems.length) return { ok: false, reason: problems.join("; ") };
  return { ok: true, value: { chromium, workerBin } };
}

/** Under CI a missing prerequisite is a failure; elsewhere the suite is skipped with the reason. */
export function requirePrerequisites(): Prerequisites | undefined {
  const result = checkPrerequisites();
  if (result.ok) return result.value;
  if (process.env.CI === "true") throw new Error(`browser tests cannot run: ${result.reason}`);
  console.warn(`skipping browser tests: ${result.reason}`);
  return undefined;
}
