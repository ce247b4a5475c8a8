import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, freePort, startStack } from "../../scripts/lib/stack.ts";
import { progress } from "../lib/stats.ts";

/**
 * bench/select: p50/p99 of choosing a node among 10,000 inside workerd (per call, from
 * batches of 500: workerd's clock has millisecond steps), the registry's policy and
 * plain nearest against a brute-force sort, and agreement with brute force.
 * Target: p99 ≤ 0.2 ms, 100 % agreement.
 */
const TARGET_P99_MS = 0.2;
const state = mkdtempSync(join(tmpdir(), "meridian-bench-select-"));
const stack = await startStack({
  config: join(ROOT, "bench/select/wrangler.toml"),
  port: await freePort(),
  nodeSecret: "bench-node-secret-0123456789",
  persistTo: join(state, "edge"),
  nodes: [],
  logs: { dir: join(ROOT, "bench/results/select") },
});
try {
  progress("choosing among 10,000 nodes inside workerd");
  const result = (await (await fetch(`${stack.url}/bench/select`)).json()) as {
    nodes: number;
    policy: { p50: number; p99: number };
    nearest: { p50: number; p99: number };
    bruteForce: { p50: number; p99: number };
    agreement: { points: number; agreed: number };
  };
  const agreementPct = (100 * result.agreement.agreed) / result.agreement.points;
  process.stdout.write(
    JSON.stringify({
      bench: "select",
      unit: "ms per choice",
      ...result,
      ratio: Math.round((result.policy.p50 / result.bruteForce.p50) * 1000) / 1000,
      agreementPct,
      target: { p99_ms_max: TARGET_P99_MS, agreement_pct: 100 },
      pass: result.policy.p99 <= TARGET_P99_MS && agreementPct === 100,
    }) + "\n",
  );
} finally {
  await stack.stop();
  rmSync(state, { recursive: true, force: true });
}
