import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, freePort, startStack, type Stack } from "../scripts/lib/stack.ts";
import { decodedMoreThan, launchUser, type BrowserUser } from "./support/browser.ts";
import { requirePrerequisites } from "./support/prerequisites.ts";

const prerequisites = requirePrerequisites();

describe.skipIf(!prerequisites)("two browsers in a call", () => {
  let stack: Stack;
  let alice: BrowserUser;
  let bob: BrowserUser;
  const state = mkdtempSync(join(tmpdir(), "meridian-e2e-"));

  beforeAll(async () => {
    stack = await startStack({
      port: await freePort(),
      nodeSecret: "e2e-node-secret-0123456789",
      persistTo: join(state, "edge"),
      nodes: [{ id: "e2e-node-1", rtcPortBase: 42000, workers: 1 }],
      logs: { dir: join(ROOT, "e2e/artifacts/call") },
    });
    [alice, bob] = await Promise.all([launchUser(prerequisites!.chromium), launchUser(prerequisites!.chromium)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
    await stack?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("each page decodes the other's video, and a leaving peer's tile disappears", async () => {
    await alice.page.goto(stack.url);
    await alice.page.getByTestId("create-room").click();
    await alice.page.waitForURL(/\/r\/[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    const roomUrl = alice.page.url();

    await alice.page.getByLabel("Your name").fill("Alice");
    await alice.page.getByTestId("join").click();
    await alice.page.locator('[data-testid="tile"][data-self="true"]').waitFor();

    await bob.page.goto(roomUrl);
    await bob.page.getByLabel("Your name").fill("Bob");
    await bob.page.getByTestId("join").click();

    // Each sees the other's tile, by name, and decodes a growing number of frames.
    const bobTileOnAlice = alice.page.locator('[data-testid="tile"][data-peer-id]');
    const aliceTileOnBob = bob.page.locator('[data-testid="tile"][data-peer-id]');
    await expect.poll(() => bobTileOnAlice.count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => aliceTileOnBob.count(), { timeout: 15_000 }).toBe(1);
    expect(await bobTileOnAlice.locator("figcaption").textContent()).toBe("Bob");
    expect(await aliceTileOnBob.locator("figcaption").textContent()).toBe("Alice");

    for (const page of [alice.page, bob.page]) {
      const first = await decodedMoreThan(page, 0, 20_000);
      await decodedMoreThan(page, first, 10_000);
    }

    await bob.page.getByTestId("leave").click();
    await expect.poll(() => bobTileOnAlice.count(), { timeout: 10_000 }).toBe(0);
  }, 120_000);
});
