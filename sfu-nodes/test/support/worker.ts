import { resolveWorkerBinary } from "../../src/worker-binary.ts";

/**
 * The mediasoup worker these tests run against. Missing: under CI=true the suite fails
 * with the reason; on a developer machine it is skipped with the reason.
 */
export function requireWorkerBinary(): string | undefined {
  try {
    return resolveWorkerBinary();
  } catch (error) {
    if (process.env.CI === "true") throw error;
    console.warn(`skipping mediasoup tests: ${(error as Error).message}`);
    return undefined;
  }
}
