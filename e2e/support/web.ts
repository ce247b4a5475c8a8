import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { ROOT } from "../../scripts/lib/stack.ts";

/**
 * Helpers for the web app's browser tests: wireframe screenshots at desktop and phone
 * widths (with checks that must hold at both), and control over the page's room socket.
 */

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 360, height: 740 } as const;

/** Screenshots go to e2e/artifacts/wireframes; `UPDATE_WIREFRAMES=1` also refreshes the committed ones in docs/wireframes. */
const ARTIFACTS = join(ROOT, "e2e/artifacts/wireframes");
const DOCS = join(ROOT, "docs/wireframes");

/** Two animation frames: layout and paint after a resize or a state change. */
export function settle(page: Page): Promise<void> {
  return page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
}

/** Interactive elements without an accessible name (aria-label, a label, or text). */
export function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const visible = (el: Element) => {
      const box = (el as HTMLElement).getBoundingClientRect();
      return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== "hidden";
    };
    const nameOf = (el: Element): string => {
      const labelledby = el.getAttribute("aria-labelledby");
      if (labelledby) return labelledby.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? "").join(" ").trim();
      const aria = el.getAttribute("aria-label");
      if (aria) return aria.trim();
      if (el.id) {
        const label = document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
        if (label?.textContent?.trim()) return label.textContent.trim();
      }
      const wrapping = el.closest("label");
      if (wrapping?.textContent?.trim()) return wrapping.textContent.trim();
      if (el instanceof HTMLButtonElement || el instanceof HTMLAnchorElement) return (el.textContent ?? "").trim() || (el.getAttribute("title") ?? "");
      return "";
    };
    return [...document.querySelectorAll("button, a[href], input, select, textarea, [role=button], [role=switch], [role=meter]")]
      .filter(visible)
      .filter((el) => !nameOf(el))
      .map((el) => el.outerHTML.slice(0, 120));
  });
}

export interface WireframeCheck {
  /** document width at 360 px: more than 360 means sideways scrolling on a phone. */
  readonly phoneScrollWidth: number;
  readonly unnamed: string[];
}

/**
 * Screenshots the page as it is, at desktop and at phone width, as docs/wireframes/<name>-{desktop,phone}.png,
 * and reports what must hold at both: no sideways scrolling at 360 px, every control named.
 */
export async function wireframe(page: Page, name: string): Promise<WireframeCheck> {
  const original = page.viewportSize() ?? DESKTOP;
  mkdirSync(ARTIFACTS, { recursive: true });
  const shots: string[] = [];
  const unnamed: string[] = [];
  let phoneScrollWidth = 0;
  for (const [label, size] of [["desktop", DESKTOP], ["phone", PHONE]] as const) {
    await page.setViewportSize(size);
    await settle(page);
    await page.evaluate(() => document.fonts?.ready);
    if (label === "phone") phoneScrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    unnamed.push(...(await unnamedControls(page)));
    const path = join(ARTIFACTS, `${name}-${label}.png`);
    await page.screenshot({ path, animations: "disabled", caret: "hide" });
    shots.push(path);
  }
  await page.setViewportSize(original);
  await settle(page);
  if (process.env.UPDATE_WIREFRAMES === "1") {
    mkdirSync(DOCS, { recursive: true });
    for (const path of shots) copyFileSync(path, join(DOCS, path.slice(ARTIFACTS.length + 1)));
  }
  return { phoneScrollWidth, unnamed: [...new Set(unnamed)] };
}

/**
 * Lets a test cut the page's room socket and keep it from reconnecting, the way a network
 * drop does: `window.__meridianSockets` holds every socket; while `__meridianBlockSockets`
 * is true new sockets go to a closed port and fail.
 */
export async function controlSockets(context: BrowserContext): Promise<void> {
  await context.addInitScript(`
    window.__meridianSockets = [];
    window.__meridianBlockSockets = false;
    const NativeSocket = window.WebSocket;
    window.WebSocket = class extends NativeSocket {
      constructor(url, protocols) {
        super(window.__meridianBlockSockets ? "ws://127.0.0.1:9/blocked" : url, protocols);
        window.__meridianSockets.push(this);
      }
    };
  `);
}

/** Drops the page's open room socket and blocks new ones until `restoreNetwork`. */
export function dropNetwork(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { __meridianSockets: WebSocket[]; __meridianBlockSockets: boolean };
    w.__meridianBlockSockets = true;
    for (const socket of w.__meridianSockets) if (socket.readyState === WebSocket.OPEN) socket.close(3000, "network drop (test)");
  });
}

export function restoreNetwork(page: Page): Promise<void> {
  return page.evaluate(() => {
    (window as unknown as { __meridianBlockSockets: boolean }).__meridianBlockSockets = false;
  });
}

/** Frames decoded from one <video> element (the page's own rendering of a remote track). */
export function videoFrames(page: Page, selector: string): Promise<number> {
  return page.locator(selector).first().evaluate((video: HTMLVideoElement) => video.getVideoPlaybackQuality?.().totalVideoFrames ?? 0);
}

/**
 * Starts recording whether (and when) an element matching `selector` ever appears, so a
 * test can assert on a state that may last only a moment (a banner during a quick recovery).
 */
export function watchAppearance(page: Page, selector: string): Promise<void> {
  return page.evaluate((sel) => {
    const w = window as unknown as { __meridianSeen?: Record<string, number> };
    const seen = (w.__meridianSeen ??= {});
    delete seen[sel];
    const check = () => {
      if (seen[sel] === undefined && document.querySelector(sel)) seen[sel] = performance.now();
    };
    new MutationObserver(check).observe(document.body, { childList: true, subtree: true, attributes: true });
    check();
  }, selector);
}

/** Whether the watched element appeared since `watchAppearance`. */
export function appeared(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((sel) => (window as unknown as { __meridianSeen?: Record<string, number> }).__meridianSeen?.[sel] !== undefined, selector);
}
