import { readFile } from "node:fs/promises";

/**
 * Bytes through the host's interfaces (loopback excluded), from /proc/net/dev. A TURN
 * node's work is relaying bytes, so its utilization is throughput against capacity.
 */
export async function readInterfaceBytes(file = "/proc/net/dev"): Promise<number> {
  const text = await readFile(file, "utf8");
  let total = 0;
  for (const line of text.split("\n").slice(2)) {
    const [name, rest] = line.split(":");
    if (!rest || name!.trim() === "lo") continue;
    const fields = rest.trim().split(/\s+/).map(Number);
    total += (fields[0] ?? 0) + (fields[8] ?? 0);
  }
  return total;
}

/**
 * Turns successive byte counters into a 0..1 utilization. Relayed bytes cross the NIC
 * twice (in from one side, out to the other), so half the interface total is relayed.
 */
export class ThroughputMeter {
  readonly #capacityBytesPerSec: number;
  readonly #read: () => Promise<number>;
  readonly #now: () => number;
  #last: { bytes: number; at: number } | undefined;

  constructor(capacityBytesPerSec: number, read: () => Promise<number> = readInterfaceBytes, now: () => number = () => performance.now()) {
    this.#capacityBytesPerSec = capacityBytesPerSec;
    this.#read = read;
    this.#now = now;
  }

  async utilization(): Promise<number> {
    const sample = { bytes: await this.#read(), at: this.#now() };
    const last = this.#last;
    this.#last = sample;
    if (!last || sample.at <= last.at || sample.bytes < last.bytes) return 0;
    const relayedPerSec = (sample.bytes - last.bytes) / 2 / ((sample.at - last.at) / 1000);
    return Math.min(1, Math.max(0, relayedPerSec / this.#capacityBytesPerSec));
  }
}
