import { accessSync, constants } from "node:fs";
import { workerBin as mediasoupDefaultBin } from "mediasoup";

/**
 * Where the mediasoup-worker binary comes from: `MEDIASOUP_WORKER_BIN` when set, else the
 * prebuilt binary mediasoup's own install step downloads. When neither exists the node
 * stops with one line that says how to provide one.
 */
export class WorkerBinaryError extends Error {
  override name = "WorkerBinaryError";
}

export function resolveWorkerBinary(env: Record<string, string | undefined> = process.env): string {
  const explicit = env.MEDIASOUP_WORKER_BIN;
  if (explicit) {
    if (!isExecutable(explicit)) {
      throw new WorkerBinaryError(
        `MEDIASOUP_WORKER_BIN=${explicit} is not an executable file; point it at a built mediasoup-worker`,
      );
    }
    return explicit;
  }
  if (isExecutable(mediasoupDefaultBin)) return mediasoupDefaultBin;
  throw new WorkerBinaryError(
    "no mediasoup-worker binary: set MEDIASOUP_WORKER_BIN to one, or run `npm run worker:fetch -w sfu-nodes` to download mediasoup's prebuilt worker",
  );
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
