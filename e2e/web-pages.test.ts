import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, freePort, startStack, type Stack } from "../scripts/lib/stack.ts";
import { launchUser, type BrowserUser } from "./support/browser.ts";
import { requirePrerequisites } from "./support/prerequisites.ts";
import { wireframe } from "./support/web.ts";

/**
 * The pages around the call: landing (keyboard focus, reduced motion), not-found pages,
 * and the pre-join page of someone who denied the camera or has none — each real, in
 * Chromium, with its wireframe.
 */

const prerequisites = requirePrerequisites();

async function frame(page: Page, name: string): Promise<void> {
  const check = await wireframe(page, name);
  expect(check.phoneScrollWidth, `${name}: sideways scrolling at 360 px`).toBeLessThanOrEqual(360);
  expect(check.unnamed, `${name}: controls without an accessible name`).toEqual([]);
}

async function createRoom(page: Page, baseUrl: string): Promise<string> {
  await page.goto(baseUrl);
  await page.getByTestId("create-room").click();
  await page.waitForURL(/\/r\//);
  return page.url();
}

describe.skipIf(!prerequisites)("the pages around the call", () => {
  let stack: Stack;
  const users: BrowserUser[] = [];
  const state = mkdtempSync(join(tmpdir(), "meridian-web-pages-"));

  beforeAll(async () => {
    stack = await startStack({
      port: await freePort(),
      nodeSecret: "web-pages-node-secret-0123456789",
      persistTo: join(state, "edge"),
      nodes: [{ id: "web-pages-node-1", rtcPortBase: 30500, workers: 1 }],
      logs: { dir: join(ROOT, "e2e/artifacts/web-pages") },
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(users.map((u) => u.close()));
    await stack?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  const user = async (extraArgs: string[] = [], omitArgs: string[] = []) => {
    const u = await launchUser(prerequisites!.chromium, extraArgs, { omitArgs });
    users.push(u);
    return u.page;
  };

  it("landing: keyboard focus is visible, motion stops when reduced, a bad code is explained", async () => {
    const page = await user();
    await page.goto(stack.url);
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      const style = getComputedStyle(el);
      return { testid: el.dataset.testid, outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    });
    expect(focused).toMatchObject({ testid: "create-room", outline: "solid" });
    expect(focused.width).toBeGreaterThanOrEqual(2);

    const transition = () => page.getByTestId("create-room").evaluate((el) => getComputedStyle(el).transitionDuration);
    expect(await transition()).not.toMatch(/^0s(, 0s)*$/);
    await page.emulateMedia({ reducedMotion: "reduce" });
    expect(await transition()).toMatch(/^0s(, 0s)*$/);
    await page.emulateMedia({ reducedMotion: "no-preference" });

    await page.getByLabel("Meeting code or link").fill("not a code");
    await page.getByRole("button", { name: "Join", exact: true }).click();
    await page.getByRole("alert").filter({ hasText: "abcd-efgh-ijkl" }).waitFor();
    // A pasted link works as well as a code.
    await page.getByLabel("Meeting code or link").fill("https://meet.example.com/r/abcd-efgh-ijkl");
    await page.getByRole("button", { name: "Join", exact: true }).click();
    await page.waitForURL(/\/r\/abcd-efgh-ijkl$/);
    await page.locator('[data-testid="call-over"][data-kind="not-found"]').waitFor({ timeout: 10_000 });
    await frame(page, "room-not-found");

    await page.goto(`${stack.url}/no/such/page`);
    await page.locator('[data-page="not-found"]').waitFor();
    await frame(page, "not-found");
  });

  it("pre-join without permission: says what to do, and still joins without media", async () => {
    const page = await user(["--use-fake-ui-for-media-stream=deny"], ["--use-fake-ui-for-media-stream"]);
    await createRoom(page, stack.url);
    const help = page.getByTestId("device-help");
    await help.waitFor({ timeout: 10_000 });
    expect(await help.getAttribute("data-problem")).toBe("denied");
    expect(await help.textContent()).toContain("not allowed to use your camera and microphone");
    expect(await page.getByTestId("prejoin-camera").getAttribute("aria-pressed")).toBe("false");
    await page.locator('[data-testid="join"][data-ready="true"]').waitFor();
    await frame(page, "prejoin-denied");
    await page.getByLabel("Your name").fill("Nadia");
    await page.getByTestId("join").click();
    await page.locator('[data-page="call"]').waitFor();
    const self = page.locator('[data-testid="tile"][data-self="true"]');
    expect(await self.getAttribute("data-video")).toBe("off");
    expect(await self.getAttribute("data-mic")).toBe("off");
  });

  it("pre-join on a machine without camera or microphone", async () => {
    const page = await user([], ["--use-fake-device-for-media-stream"]);
    await createRoom(page, stack.url);
    const help = page.getByTestId("device-help");
    await help.waitFor({ timeout: 10_000 });
    expect(await help.getAttribute("data-problem")).toBe("not-found");
    expect(await page.locator("#pick-camera").isDisabled()).toBe(true);
    await page.locator('[data-testid="join"][data-ready="true"]').waitFor();
    await frame(page, "prejoin-no-devices");
  });
});
