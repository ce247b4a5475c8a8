import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodedMoreThan } from "./support/browser.ts";
import { createAndJoin, startTwoPeople, type TwoPeople } from "./support/call.ts";
import { requirePrerequisites } from "./support/prerequisites.ts";

const prerequisites = requirePrerequisites();

/** Two browsers in a call through the SFU (peer-to-peer is off in this room; p2p.test.ts has the other way). */
describe.skipIf(!prerequisites)("two browsers in a call through the SFU", () => {
  let people: TwoPeople;

  beforeAll(async () => {
    people = await startTwoPeople("call", { chromium: prerequisites!.chromium, rtcPortBase: 30000 });
  }, 120_000);

  afterAll(async () => {
    await people?.close();
  });

  it("each page decodes the other's video, and a leaving peer's tile disappears", async () => {
    const { alice, bob } = people;
    await createAndJoin(people, { sfu: true });

    // Each sees the other's tile, by name, and decodes a growing number of frames.
    const bobTileOnAlice = alice.page.locator('[data-testid="tile"][data-peer-id]');
    const aliceTileOnBob = bob.page.locator('[data-testid="tile"][data-peer-id]');
    await expect.poll(() => bobTileOnAlice.count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => aliceTileOnBob.count(), { timeout: 15_000 }).toBe(1);
    expect(await bobTileOnAlice.locator("figcaption").textContent()).toContain("Bob");
    expect(await aliceTileOnBob.locator("figcaption").textContent()).toContain("Alice");

    for (const page of [alice.page, bob.page]) {
      const first = await decodedMoreThan(page, 0, 20_000);
      await decodedMoreThan(page, first, 10_000);
    }

    // The fake microphones beep: the node's active speaker observer picks one, the room
    // relays it, and each page highlights that participant's tile (its own or the other's).
    for (const page of [alice.page, bob.page]) {
      await page.locator('[data-testid="tile"][data-speaking="true"]').first().waitFor({ timeout: 15_000 });
    }

    await bob.page.getByTestId("leave").click();
    await expect.poll(() => bobTileOnAlice.count(), { timeout: 10_000 }).toBe(0);
  }, 120_000);
});
