import { accessSync, chmodSync, constants, mkdtempSync, writeFileSync } from "node:fs";
import { workerBin as mediasoupDefaultBin } from "mediasoup";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WorkerBinaryError, resolveWorkerBinary } from "../src/worker-binary.ts";

describe("resolveWorkerBinary", () => {
  const dir = mkdtempSync(join(tmpdir(), "meridian-bin-"));

  it("uses MEDIASOUP_WORKER_BIN when it names an executable", () => {
    const bin = join(dir, "mediasoup-worker");
    writeFileSync(bin, "#!/bin/sh\n");
    chmodSync(bin, 0o755);
    expect(resolveWorkerBinary({ MEDIASOUP_WORKER_BIN: bin })).toBe(bin);
  });

  it("fails with one line naming the variable when it does not", () => {
    const call = () => resolveWorkerBinary({ MEDIASOUP_WORKER_BIN: join(dir, "missing") });
    expect(call).toThrow(WorkerBinaryError);
    expect(call).toThrow(/MEDIASOUP_WORKER_BIN=.*missing is not an executable file/);
  });

  it("refuses a file that is not executable", () => {
    const bin = join(dir, "not-executable");
    writeFileSync(bin, "");
    chmodSync(bin, 0o644);
    expect(() => resolveWorkerBinary({ MEDIASOUP_WORKER_BIN: bin })).toThrow(WorkerBinaryError);
  });

  it("without MEDIASOUP_WORKER_BIN uses mediasoup's own binary, or says how to provide one", () => {
    let present = true;
    try {
      accessSync(mediasoupDefaultBin, constants.X_OK);
    } catch {
      present = false;
    }
    if (present) expect(resolveWorkerBinary({})).toBe(mediasoupDefaultBin);
    else expect(() => resolveWorkerBinary({})).toThrow(/set MEDIASOUP_WORKER_BIN.*npm run worker:fetch -w sfu-nodes/);
  });
});
