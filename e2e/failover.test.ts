import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodedMoreThan, framesDecodedSince, pcCount, waitFor } from "./support/browser.ts";
import { createAndJoin, startTwoPeople, type TwoPeople } from "./support/call.ts";
import { requirePrerequisites } from "./support/prerequisites.ts";

/**
 * Killing the mediasoup worker that carries a call: the node replaces it, the room moves
 * its media (mediaReset), and both browsers rebuild their transports and decode video
 * again within 5 seconds, without a click.
 */
const prerequisites = requirePrerequisites();

function mediasoupWorkerOf(pid: number): number | undefined {
  const children = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
    .split("\n")
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
  return children.find((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, "utf8").includes("mediasoup-worker");
    } catch {
      return false;
    }
  });
}

describe.skipIf(!prerequisites)("failover when a mediasoup worker dies mid-call", () => {
  let people: TwoPeople;

  beforeAll(async () => {
    people = await startTwoPeople("failover", { chromium: prerequisites!.chromium, rtcPortBase: 30800 });
  }, 120_000);

  afterAll(async () => {
    await people?.close();
  });

  it("both pages decode video again within 5 s of the worker's death", async () => {
    const { alice, bob, stack } = people;
    const consumed: Array<{ producerId: string; at: number }> = [];
    for (const page of [alice.page, bob.page]) {
      page.on("websocket", (ws) =>
        ws.on("framesent", ({ payload }) => {
          const frame = JSON.parse(String(payload)) as { method?: string; params?: { producerId?: string } };
          if (frame.method === "consume" && frame.params?.producerId) consumed.push({ producerId: frame.params.producerId, at: Date.now() });
        }),
      );
    }
    await createAndJoin(people, { sfu: true });
    for (const page of [alice.page, bob.page]) await decodedMoreThan(page, 0, 30_000);

    const before = await Promise.all([pcCount(alice.page), pcCount(bob.page)]);
    const worker = mediasoupWorkerOf(stack.nodes.get("failover-node")!.pid!);
    expect(worker).toBeDefined();
    const killedAt = Date.now();
    process.kill(worker!, "SIGKILL");

    const recovered = await Promise.all(
      [alice.page, bob.page].map(async (page, i) => {
        await waitFor(() => framesDecodedSince(page, before[i]!), (n) => n > 0, 15_000, "video on the rebuilt transports");
        return Date.now() - killedAt;
      }),
    );
    for (const ms of recovered) expect(ms, `recovered after ${ms} ms`).toBeLessThanOrEqual(5000);
    // And it keeps flowing.
    for (const [i, page] of [alice.page, bob.page].entries()) {
      const now = await framesDecodedSince(page, before[i]!);
      await waitFor(() => framesDecodedSince(page, before[i]!), (n) => n > now, 10_000, "video keeps flowing");
    }
    // Only the producers made on the new router were consumed: nothing that died with the old one.
    const afterKill = consumed.filter((c) => c.at >= killedAt).map((c) => c.producerId);
    const beforeKill = new Set(consumed.filter((c) => c.at < killedAt).map((c) => c.producerId));
    expect(afterKill.length).toBeGreaterThanOrEqual(2);
    expect(afterKill.filter((id) => beforeKill.has(id))).toEqual([]);
  });
});
