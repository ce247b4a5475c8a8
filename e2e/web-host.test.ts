import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, freePort, startStack, type Stack } from "../scripts/lib/stack.ts";
import { decodedMoreThan, framesDecoded, launchUser, type BrowserUser } from "./support/browser.ts";
import { requirePrerequisites } from "./support/prerequisites.ts";
import { appeared, controlSockets, dropNetwork, restoreNetwork, watchAppearance, wireframe } from "./support/web.ts";

/**
 * Host controls and recovery in real browsers: lobby and admission, a host's mute, a
 * dropped connection that recovers by itself (chat written meanwhile arrives once), the
 * SFU worker dying mid-call (media rebuilt without a click), locking, and ending the
 * meeting for everyone.
 */

const prerequisites = requirePrerequisites();

const peerTile = (page: Page) => page.locator('[data-testid="tile"][data-peer-id]');

async function frame(page: Page, name: string): Promise<void> {
  const check = await wireframe(page, name);
  expect(check.phoneScrollWidth, `${name}: sideways scrolling at 360 px`).toBeLessThanOrEqual(360);
  expect(check.unnamed, `${name}: controls without an accessible name`).toEqual([]);
}

/** The mediasoup worker processes of a node process (its children named mediasoup-worker). */
function mediasoupWorkers(nodePid: number): number[] {
  const children = readFileSync(`/proc/${nodePid}/task/${nodePid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  return children.filter((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("mediasoup-work"));
}

describe.skipIf(!prerequisites)("hosting a meeting in the browser", () => {
  let stack: Stack;
  let host: BrowserUser;
  let guest: BrowserUser;
  let late: BrowserUser;
  const state = mkdtempSync(join(tmpdir(), "meridian-web-host-"));

  beforeAll(async () => {
    stack = await startStack({
      port: await freePort(),
      nodeSecret: "web-host-node-secret-0123456789",
      persistTo: join(state, "edge"),
      nodes: [{ id: "web-host-node-1", rtcPortBase: 30400, workers: 1 }],
      logs: { dir: join(ROOT, "e2e/artifacts/web-host") },
    });
    [host, guest, late] = await Promise.all([
      launchUser(prerequisites!.chromium),
      launchUser(prerequisites!.chromium),
      launchUser(prerequisites!.chromium),
    ]);
    await controlSockets(guest.context);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([host?.close(), guest?.close(), late?.close()]);
    await stack?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("lobby → admit → mute → reconnect → worker dies → lock → end for everyone", async () => {
    const h = host.page;
    const g = guest.page;

    await h.goto(stack.url);
    await h.getByTestId("create-room").click();
    await h.waitForURL(/\/r\//);
    const roomUrl = h.url();
    await h.locator('[data-testid="join"][data-ready="true"]').waitFor();
    await h.getByLabel("Your name").fill("Hana");
    await h.getByTestId("join").click();
    await h.locator('[data-page="call"]').waitFor();

    // ── the host turns the lobby on; the guest asks to join and waits ──────
    await h.keyboard.press("p");
    await h.getByTestId("lobby-room").check();
    await expect.poll(() => h.getByTestId("lobby-room").isChecked()).toBe(true);
    // Through the SFU even for two: this call's media server is going to lose its worker.
    await h.getByTestId("p2p-room").uncheck();
    await expect.poll(() => h.getByTestId("p2p-room").isChecked()).toBe(false);
    await h.keyboard.press("Escape");

    await g.goto(roomUrl);
    await g.locator('[data-testid="join"][data-ready="true"]').waitFor();
    await g.getByLabel("Your name").fill("Gus");
    expect(await g.getByTestId("join").textContent()).toBe("Ask to join");
    await g.getByTestId("join").click();
    await g.getByTestId("lobby").waitFor();
    await frame(g, "lobby");

    // ── the host sees the request and admits ──────────────────────────────
    await h.getByTestId("lobby-requests").waitFor({ timeout: 10_000 });
    expect(await h.getByTestId("lobby-entry").textContent()).toContain("Gus");
    await frame(h, "call-lobby-request");
    await h.getByRole("button", { name: "Admit Gus" }).click();
    await g.locator('[data-page="call"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => peerTile(h).count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => h.getByTestId("lobby-requests").count()).toBe(0);
    await decodedMoreThan(h, 0, 20_000);
    await decodedMoreThan(g, 0, 20_000);

    // ── a host's mute: the guest hears about it and shows muted everywhere ──
    await h.keyboard.press("p");
    await h.getByTestId("mute-peer").click();
    await expect.poll(() => g.getByTestId("toggle-mic").getAttribute("aria-pressed"), { timeout: 10_000 }).toBe("false");
    await g.getByTestId("notice").filter({ hasText: "muted your microphone" }).waitFor();
    await expect.poll(() => peerTile(h).getAttribute("data-mic"), { timeout: 10_000 }).toBe("off");
    await h.keyboard.press("Escape");

    // ── the guest's connection drops: "reconnecting", then back by itself ──
    await dropNetwork(g);
    await g.getByTestId("reconnecting").waitFor({ timeout: 10_000 });
    await expect.poll(() => peerTile(h).getAttribute("aria-label"), { timeout: 10_000 }).toContain("reconnecting");
    await g.getByTestId("toggle-chat").click();
    await g.getByLabel("Message to everyone").fill("typed while offline");
    await g.getByLabel("Message to everyone").press("Enter");
    await g.locator('[data-testid="chat-message"][data-status="sending"]', { hasText: "typed while offline" }).waitFor();
    await frame(g, "call-reconnecting");
    const decodedBefore = await framesDecoded(h);
    await restoreNetwork(g);
    await expect.poll(() => g.getByTestId("reconnecting").count(), { timeout: 15_000 }).toBe(0);
    await g.locator('[data-testid="chat-message"][data-status="sent"]', { hasText: "typed while offline" }).waitFor({ timeout: 10_000 });
    await expect.poll(() => peerTile(h).getAttribute("aria-label"), { timeout: 10_000 }).not.toContain("reconnecting");
    await h.getByTestId("toggle-chat").click();
    await h.locator('[data-testid="chat-message"]', { hasText: "typed while offline" }).waitFor({ timeout: 10_000 });
    expect(await h.locator('[data-testid="chat-message"]', { hasText: "typed while offline" }).count()).toBe(1);
    // Media never depended on the socket: the host still decodes the guest.
    await decodedMoreThan(h, decodedBefore, 10_000);
    await h.getByTestId("toggle-chat").click();

    // ── the SFU's worker dies: media comes back by itself, without a click ─
    const [worker] = mediasoupWorkers(stack.nodes.get("web-host-node-1")!.pid!);
    expect(worker).toBeDefined();
    const recovering = '[data-testid="media-recovering"]';
    await Promise.all([h, g].map((page) => watchAppearance(page, recovering)));
    const killedAt = Date.now();
    process.kill(worker!, "SIGKILL");
    // The banner may last well under a second: recorded as it appears, then it must go.
    await Promise.all([h, g].map((page) => expect.poll(() => appeared(page, recovering), { timeout: 5_000 }).toBe(true)));
    await Promise.all([h, g].map((page) => expect.poll(() => page.locator(recovering).count(), { timeout: 5_000 }).toBe(0)));
    // Rebuilt: the old peer connections are closed, and the new ones decode the other's video.
    for (const page of [h, g]) {
      await decodedMoreThan(page, await framesDecoded(page), 5_000);
      expect(await peerTile(page).getAttribute("data-video")).toBe("on");
    }
    expect(Date.now() - killedAt).toBeLessThan(5_000);

    // ── locked: a latecomer is told so ─────────────────────────────────────
    await h.keyboard.press("p");
    await h.getByTestId("lock-room").check();
    await h.getByTestId("locked-badge").waitFor();
    await h.keyboard.press("Escape");
    const l = late.page;
    await l.goto(roomUrl);
    await l.locator('[data-testid="join"][data-ready="true"]').waitFor();
    await l.getByLabel("Your name").fill("Lou");
    await l.getByTestId("join").click();
    await l.locator('[data-testid="call-over"][data-kind="locked"]').waitFor({ timeout: 10_000 });
    await frame(l, "locked");

    // ── the host ends the meeting for everyone ─────────────────────────────
    await h.getByTestId("leave").click();
    await frame(h, "call-leave-menu");
    await h.getByTestId("end-for-all").click();
    await h.getByTestId("confirm-end").getByTestId("confirm").click();
    await g.locator('[data-testid="call-over"][data-kind="ended"]').waitFor({ timeout: 10_000 });
    await h.locator('[data-testid="call-over"][data-kind="ended"]').waitFor({ timeout: 10_000 });
    await frame(g, "ended");
  }, 240_000);
});
