import { readFileSync } from "node:fs";

/** The repository's ports.json: the one source of truth Terraform and coturn read too. */
export interface SfuPorts {
  readonly webrtcPortBase: number;
  readonly maxWorkers: number;
  /** UDP ports pipes to other SFU nodes take, one per pipe (cascading). */
  readonly pipePortMin: number;
  readonly pipePortMax: number;
  readonly metricsPort: number;
}

export function sfuPorts(): SfuPorts {
  const all = JSON.parse(readFileSync(new URL("../../ports.json", import.meta.url), "utf8")) as { sfu: SfuPorts };
  return all.sfu;
}
