import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** Headless Chromium with fake camera and microphone, as the environment notes prescribe. */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  // Without it Chromium offers no ICE candidates on a loopback-only host.
  "--allow-loopback-in-peer-connection",
  "--autoplay-policy=no-user-gesture-required",
];

/**
 * Collects every RTCPeerConnection the page makes, so tests can read getStats the way a
 * user's browser would report it, without test hooks in the app.
 */
const CAPTURE_PEER_CONNECTIONS = `
  window.__meridianPCs = [];
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__meridianPCs.push(this); }
  };
`;

export interface BrowserUser {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

export async function launchUser(executablePath: string, extraArgs: string[] = [], options: { omitArgs?: string[] } = {}): Promise<BrowserUser> {
  const profile = mkdtempSync(join(tmpdir(), "meridian-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    // `omitArgs` drops default flags, e.g. the fake camera to see the page of a machine without one.
    args: [...CHROMIUM_ARGS.filter((arg) => !options.omitArgs?.includes(arg)), ...extraArgs],
    viewport: { width: 1280, height: 800 },
  });
  await context.addInitScript(CAPTURE_PEER_CONNECTIONS);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Total video frames decoded by the page's inbound RTP streams. mediasoup-client's
 * bandwidth probe (ssrc 1234) never decodes and is left out.
 */
export function framesDecoded(page: Page): Promise<number> {
  return page.evaluate(async () => {
    let total = 0;
    const pcs = (window as unknown as { __meridianPCs: RTCPeerConnection[] }).__meridianPCs;
    for (const pc of pcs) {
      if (pc.connectionState === "closed") continue;
      const stats = await pc.getStats();
      stats.forEach((s: { type: string; kind?: string; ssrc?: number; framesDecoded?: number }) => {
        if (s.type === "inbound-rtp" && s.kind === "video" && s.ssrc !== 1234) total += s.framesDecoded ?? 0;
      });
    }
    return total;
  });
}

/** Polls `read` until `accept` holds or the timeout passes; returns the last value. */
export async function waitFor<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

/** Waits until the page has decoded at least one more frame than `after`, and returns the count. */
export function decodedMoreThan(page: Page, after: number, timeoutMs: number): Promise<number> {
  return waitFor(() => framesDecoded(page), (n) => n > after, timeoutMs, `framesDecoded > ${after}`);
}

/** Video frames decoded on peer connections created after the first `since` ones (those of a rebuilt transport). */
export function framesDecodedSince(page: Page, since: number): Promise<number> {
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

/** How many peer connections the page has made so far. */
export const pcCount = (page: Page) => page.evaluate(() => (window as unknown as { __meridianPCs: unknown[] }).__meridianPCs.length);

