import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, freePort, startStack, type Stack } from "../scripts/lib/stack.ts";
import { decodedMoreThan, framesDecoded, launchUser, type BrowserUser } from "./support/browser.ts";
import { requirePrerequisites } from "./support/prerequisites.ts";
import { videoFrames, wireframe, type WireframeCheck } from "./support/web.ts";

/**
 * The web app's main flow in two real browsers against the local stack: create, join
 * with two pages, mute, chat (kept across a reload), screen share, kick, leave — a call of
 * two, so peer-to-peer. The wireframes of these pages come from this run.
 */

const prerequisites = requirePrerequisites();

const peerTile = (page: Page) => page.locator('[data-testid="tile"][data-peer-id]');

/** The wireframe's checks hold: nothing scrolls sideways at 360 px and every control has a name. */
async function frame(page: Page, name: string): Promise<void> {
  const check: WireframeCheck = await wireframe(page, name);
  expect(check.phoneScrollWidth, `${name}: sideways scrolling at 360 px`).toBeLessThanOrEqual(360);
  expect(check.unnamed, `${name}: controls without an accessible name`).toEqual([]);
}

async function joinAs(page: Page, url: string, name: string): Promise<void> {
  await page.goto(url);
  await page.locator('[data-testid="join"][data-ready="true"]').waitFor();
  await page.getByLabel("Your name").fill(name);
  await page.getByTestId("join").click();
  await page.locator('[data-page="call"]').waitFor();
}

describe.skipIf(!prerequisites)("the web app in two browsers", () => {
  let stack: Stack;
  let alice: BrowserUser;
  let bob: BrowserUser;
  const state = mkdtempSync(join(tmpdir(), "meridian-web-call-"));

  beforeAll(async () => {
    stack = await startStack({
      port: await freePort(),
      nodeSecret: "web-call-node-secret-0123456789",
      persistTo: join(state, "edge"),
      nodes: [{ id: "web-call-node-1", rtcPortBase: 30300, workers: 1 }],
      logs: { dir: join(ROOT, "e2e/artifacts/web-call") },
    });
    [alice, bob] = await Promise.all([launchUser(prerequisites!.chromium), launchUser(prerequisites!.chromium)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
    await stack?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("create → join → mute → chat across a reload → screen share → kick → leave", async () => {
    const a = alice.page;
    const b = bob.page;

    // ── create, pre-join ──────────────────────────────────────────────────
    await a.goto(stack.url);
    await a.getByTestId("create-room").click();
    await a.waitForURL(/\/r\/[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    const roomUrl = a.url();
    await a.locator('[data-testid="join"][data-ready="true"]').waitFor();
    await a.getByLabel("Your name").fill("Alice");
    // The preview plays the camera and the meter moves with the (fake, beeping) microphone.
    await a.locator('[data-testid="tile"][data-self="true"][data-video="on"]').waitFor();
    await expect.poll(() => a.getByRole("meter", { name: "Microphone level" }).getAttribute("aria-valuenow"), { timeout: 10_000 }).not.toBe("0");
    expect(await a.locator("#pick-camera option").count()).toBeGreaterThan(0);
    await frame(a, "prejoin");
    await a.getByTestId("join").click();
    await a.locator('[data-page="call"]').waitFor();
    await frame(a, "call-alone");

    // ── a second page joins by the link; each decodes the other ──────────
    await joinAs(b, roomUrl, "Bob");
    await expect.poll(() => peerTile(a).count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => peerTile(b).count(), { timeout: 15_000 }).toBe(1);
    expect(await peerTile(a).locator("figcaption").textContent()).toBe("Bob");
    expect(await peerTile(b).locator("figcaption").textContent()).toBe("Alice");
    for (const page of [a, b]) await decodedMoreThan(page, 0, 20_000);
    await expect.poll(() => peerTile(a).getAttribute("data-video"), { timeout: 10_000 }).toBe("on");
    // Network quality comes from getStats once two samples exist.
    await expect.poll(() => peerTile(a).getAttribute("data-quality"), { timeout: 15_000 }).toMatch(/^(good|fair|poor)$/);
    await frame(a, "call-grid");

    // ── Bob mutes with the keyboard; Alice sees it ─────────────────────────
    await b.locator("body").click({ position: { x: 5, y: 5 } });
    await b.keyboard.press("m");
    await expect.poll(() => b.getByTestId("toggle-mic").getAttribute("aria-pressed")).toBe("false");
    await expect.poll(() => peerTile(a).getAttribute("data-mic"), { timeout: 10_000 }).toBe("off");
    expect(await peerTile(a).getAttribute("aria-label")).toContain("microphone off");

    // ── chat: Alice writes, Bob gets a badge, reads it, reloads, still has it ─
    await a.getByTestId("toggle-chat").click();
    await a.getByLabel("Message to everyone").fill("Hello from Alice");
    await a.getByLabel("Message to everyone").press("Enter");
    await a.locator('[data-testid="chat-message"][data-status="sent"]', { hasText: "Hello from Alice" }).waitFor();
    await expect.poll(() => b.getByTestId("toggle-chat-badge").textContent(), { timeout: 10_000 }).toBe("1");
    await frame(a, "call-chat");
    await b.getByTestId("toggle-chat").click();
    await b.locator('[data-testid="chat-message"]', { hasText: "Hello from Alice" }).waitFor();
    await expect.poll(() => b.getByTestId("toggle-chat-badge").count()).toBe(0);

    await b.reload();
    await b.locator('[data-testid="join"][data-ready="true"]').waitFor();
    // The name is remembered; joining again after a reload.
    expect(await b.getByLabel("Your name").inputValue()).toBe("Bob");
    await b.getByTestId("join").click();
    await b.locator('[data-page="call"]').waitFor();
    await b.getByTestId("toggle-chat").click();
    await b.locator('[data-testid="chat-message"]', { hasText: "Hello from Alice" }).waitFor({ timeout: 10_000 });
    expect(await b.locator('[data-testid="chat-message"]', { hasText: "Hello from Alice" }).count()).toBe(1);
    // Leaving on reload means no ghost: Alice sees one Bob, not a reconnecting copy.
    await expect.poll(() => peerTile(a).count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => peerTile(b).getAttribute("data-video"), { timeout: 15_000 }).toBe("on");
    await b.getByTestId("toggle-chat").click();
    await a.getByTestId("toggle-chat").click();

    // ── screen share: large on the other page, the others in a strip ──────
    const decodedBefore = await framesDecoded(b);
    await a.getByTestId("toggle-screen").click();
    await expect.poll(() => a.getByTestId("toggle-screen").getAttribute("aria-pressed")).toBe("true");
    const screen = b.locator('[data-testid="screen-tile"]');
    await screen.waitFor({ timeout: 15_000 });
    await expect.poll(() => b.getByTestId("stage").getAttribute("data-layout")).toBe("stage");
    await expect.poll(() => videoFrames(b, '[data-testid="screen-tile"] video'), { timeout: 15_000 }).toBeGreaterThan(5);
    await decodedMoreThan(b, decodedBefore, 10_000);
    const screenBox = (await screen.boundingBox())!;
    const stripBox = (await peerTile(b).boundingBox())!;
    expect(screenBox.width * screenBox.height).toBeGreaterThan(4 * stripBox.width * stripBox.height);
    // A call of two goes browser to browser, screen share and all: no simulcast layers there.
    expect(await b.getByTestId("media-path").getAttribute("data-path")).toBe("direct");
    expect(await peerTile(b).getAttribute("data-layer")).toBeNull();
    await frame(b, "call-screen-share");
    await frame(a, "call-presenting");
    await a.getByTestId("toggle-screen").click();
    await expect.poll(() => screen.count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => b.getByTestId("stage").getAttribute("data-layout")).toBe("grid");

    // ── device settings mid-call ─────────────────────────────────────────
    await a.keyboard.press("d");
    await a.getByTestId("settings-dialog").waitFor();
    await frame(a, "call-settings");
    await a.keyboard.press("Escape");
    await expect.poll(() => a.getByTestId("settings-dialog").isVisible()).toBe(false);

    // ── the host removes Bob ───────────────────────────────────────────────
    await a.getByTestId("toggle-people").click();
    await a.getByTestId("people-panel").waitFor();
    expect(await a.locator('[data-testid="person"]').count()).toBe(2);
    await frame(a, "call-people");
    await a.getByTestId("remove-peer").click();
    await a.getByTestId("confirm-remove").getByTestId("confirm").click();
    await b.locator('[data-testid="call-over"][data-kind="kicked"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => peerTile(a).count(), { timeout: 10_000 }).toBe(0);
    await frame(b, "removed");

    // ── Alice leaves (as host: leave, or end for everyone) ──────────────────
    await a.getByTestId("leave").click();
    await a.getByTestId("leave-only").click();
    await a.getByText("You left the meeting").waitFor();
    await frame(a, "left");
    await a.getByTestId("home").click();
    await a.getByTestId("create-room").waitFor();
    // The landing page now lists the meeting.
    expect(await a.getByRole("link", { name: new RegExp(roomUrl.split("/").pop()!) }).count()).toBe(1);
    await frame(a, "landing");
  }, 240_000);
});
