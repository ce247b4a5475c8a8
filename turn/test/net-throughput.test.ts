import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ThroughputMeter, readInterfaceBytes } from "../src/net-throughput.ts";

const PROC_NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9999999     100    0    0    0     0          0         0  9999999     100    0    0    0     0       0          0
  ens5: 1000        10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0
  ens6:  500         5    0    0    0     0          0         0      500       5    0    0    0     0       0          0
`;

describe("relay throughput", () => {
  it("sums received and sent bytes of every interface but loopback", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "netdev-")), "dev");
    await writeFile(file, PROC_NET_DEV);
    expect(await readInterfaceBytes(file)).toBe(4000);
  });

  it("reports half the interface rate (bytes cross twice) against capacity, clamped to 0..1", async () => {
    const samples = [0, 2_000_000, 2_000_000, 50_000_000];
    const times = [0, 1000, 2000, 3000];
    const meter = new ThroughputMeter(2_000_000, async () => samples.shift()!, () => times.shift()!);
    expect(await meter.utilization()).toBe(0); // no previous sample
    expect(await meter.utilization()).toBeCloseTo(0.5);
    expect(await meter.utilization()).toBe(0);
    expect(await meter.utilization()).toBe(1);
  });
});
