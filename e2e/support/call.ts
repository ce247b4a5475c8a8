import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { ROOT, freePort, startStack, type StackOptions, type Stack } from "../../scripts/lib/stack.ts";
import { launchUser, type BrowserUser } from "./browser.ts";

/** A local stack with one SFU node and two browsers: what most call tests start from. */
export interface TwoPeople {
  readonly stack: Stack;
  readonly alice: BrowserUser;
  readonly bob: BrowserUser;
  close(): Promise<void>;
}

export async function startTwoPeople(
  name: string,
  options: { chromium: string; rtcPortBase: number; stack?: Partial<StackOptions>; initScripts?: string[] },
): Promise<TwoPeople> {
  const state = mkdtempSync(join(tmpdir(), `meridian-${name}-`));
  const stack = await startStack({
    port: await freePort(),
    nodeSecret: `${name}-node-secret-0123456789`,
    persistTo: join(state, "edge"),
    nodes: [{ id: `${name}-node`, rtcPortBase: options.rtcPortBase, workers: 1 }],
    logs: { dir: join(ROOT, "e2e/artifacts", name) },
    ...options.stack,
  });
  const [alice, bob] = await Promise.all([launchUser(options.chromium), launchUser(options.chromium)]);
  for (const script of options.initScripts ?? []) {
    for (const user of [alice, bob]) await user.context.addInitScript(script);
  }
  return {
    stack,
    alice,
    bob,
    async close() {
      await Promise.all([alice.close(), bob.close()]);
      await stack.stop();
      rmSync(state, { recursive: true, force: true });
    },
  };
}

/** On the pre-join page: waits until it is warmed up, gives a name, clicks Join. */
export async function joinAs(page: Page, url: string, name: string): Promise<void> {
  if (page.url() !== url) await page.goto(url);
  await page.locator('[data-testid="join"][data-ready="true"]').waitFor();
  await page.getByLabel("Your name").fill(name);
  await page.getByTestId("join").click();
}

/** As a host in the call: turns off "Direct calls for two" in the people panel, so the call uses the SFU. */
export async function forbidP2P(page: Page): Promise<void> {
  await page.getByTestId("toggle-people").click();
  await page.getByTestId("p2p-room").uncheck();
  await page.locator('[data-testid="p2p-room"]:not(:checked)').waitFor();
  await page.getByTestId("toggle-people").click();
}

/**
 * Alice creates a room from the landing page and both join it; returns the room's URL.
 * `sfu`: Alice turns peer-to-peer off first, for tests of the SFU's media path.
 */
export async function createAndJoin(people: TwoPeople, options: { sfu?: boolean } = {}): Promise<string> {
  const { alice, bob, stack } = people;
  await alice.page.goto(stack.url);
  await alice.page.getByTestId("create-room").click();
  await alice.page.waitForURL(/\/r\/[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
  const roomUrl = alice.page.url();
  await joinAs(alice.page, roomUrl, "Alice");
  await alice.page.locator('[data-testid="tile"][data-self="true"]').waitFor();
  if (options.sfu) await forbidP2P(alice.page);
  await joinAs(bob.page, roomUrl, "Bob");
  return roomUrl;
}
