import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "@meridian/node-agent";
import { SfuNode } from "../src/node.ts";
import { requireWorkerBinary } from "./support/worker.ts";

const workerBin = requireWorkerBinary();

/** Draining: no new rooms, current rooms finish (or are handed back after the timeout). */
describe.skipIf(!workerBin)("SfuNode drain", () => {
  const make = (port: number) =>
    new SfuNode(
      loadConfig({
        NODE_SECRET: "0123456789abcdef-drain",
        NODE_ID: `drain-${port}`,
        // Nothing listens here: the node drains whether or not the edge is reachable.
        EDGE_URL: "ws://127.0.0.1:9",
        MEDIASOUP_NUM_WORKERS: "1",
        RTC_PORT_BASE: String(port),
        METRICS_PORT: "0",
        LOG_LEVEL: "silent",
      }),
      workerBin!,
      createLogger("test", "silent"),
    );

  let nodes: SfuNode[] = [];
  beforeAll(() => {
    nodes = [];
  });
  afterAll(async () => {
    for (const node of nodes) await node.stop().catch(() => undefined);
  });

  it("refuses new rooms at once and finishes when the last room closes", async () => {
    const node = make(31200);
    nodes.push(node);
    await node.start();
    const { routerId } = await node.media.createRouter({ roomId: "stays" });
    const drained = node.drain(30_000);
    await expect(node.media.createRouter({ roomId: "new" })).rejects.toMatchObject({ code: "node_unavailable" });
    expect(node.media.load().state).toBe("draining");
    // The existing room still works while draining.
    expect((await node.media.createRouter({ roomId: "stays" })).routerId).toBe(routerId);
    await node.media.closeRouter({ routerId });
    expect(await drained).toBe("empty");
  });

  it("after the timeout hands the remaining rooms back (routers lost) and stops", async () => {
    const node = make(31210);
    nodes.push(node);
    await node.start();
    const { routerId } = await node.media.createRouter({ roomId: "lingers" });
    const lost = new Promise<{ rooms: Array<{ routerId: string }>; reason: string }>((resolve) => node.media.once("routersLost", resolve));
    expect(await node.drain(200)).toBe("timeout");
    expect(await lost).toMatchObject({ rooms: [{ routerId }], reason: "node drained" });
    expect(node.pool.workers.every((w) => w.worker.closed)).toBe(true);
  });
});
