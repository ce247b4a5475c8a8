import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, freePort, startStack, type Stack } from "../scripts/lib/stack.ts";
import { decodedMoreThan, launchUser, waitFor, type BrowserUser } from "./support/browser.ts";
import { requirePrerequisites } from "./support/prerequisites.ts";

/**
 * Killing the mediasoup worker that carries a call: the node replaces it, the room moves
 * its media (mediaReset), and both browsers rebuild their transports and decode video
 * again within 5 seconds, without a click.
 */
const prerequisites = requirePrerequisites();

/** Video frames decoded on peer connections created after the first `since` ones. */
function framesDecodedSince(page: Page, since: number): Promise<number> {
  return page.evaluate(async (skip) => {
    let total = 0;
    const pcs = (window as unknown as { __meridianPCs: RTCPeerConnection[] }).__meridianPCs.slice(skip);
    for (const pc of pcs) {
      if (pc.connectionState === "closed") continue;
      (await pc.getStats()).forEach((s: { type: string; kind?: string; ssrc?: number; framesDecoded?: number }) => {
        if (s.type === "inbound-rtp" && s.kind === "video" && s.ssrc !== 1234) total += s.framesDecoded ?? 0;
      });
    }
    return total;
  }, since);
}

const pcCount = (page: Page) => page.evaluate(() => (window as unknown as { __meridianPCs: unknown[] }).__meridianPCs.length);

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
  let stack: Stack;
  let alice: BrowserUser;
  let bob: BrowserUser;
  const state = mkdtempSync(join(tmpdir(), "meridian-failover-"));

  beforeAll(async () => {
    stack = await startStack({
      port: await freePort(),
      nodeSecret: "failover-node-secret-0123456789",
      persistTo: join(state, "edge"),
      nodes: [{ id: "failover-node", rtcPortBase: 42800, workers: 1 }],
      logs: { dir: join(ROOT, "e2e/artifacts/failover") },
    });
    [alice, bob] = await Promise.all([launchUser(prerequisites!.chromium), launchUser(prerequisites!.chromium)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
    await stack?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("both pages decode video again within 5 s of the worker's death", async () => {
    await alice.page.goto(stack.url);
    await alice.page.getByTestId("create-room").click();
    await alice.page.waitForURL(/\/r\//);
    const roomUrl = alice.page.url();
    for (const [user, name] of [[alice, "Alice"], [bob, "Bob"]] as const) {
      if (user === bob) await bob.page.goto(roomUrl);
      await user.page.locator('[data-testid="join"][data-ready="true"]').waitFor();
      await user.page.getByLabel("Your name").fill(name);
      await user.page.getByTestId("join").click();
    }
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
  });
});
