import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { decodedMoreThan, launchUser, waitFor } from "../../e2e/support/browser.ts";
import { joinAs } from "../../e2e/support/call.ts";
import { checkPrerequisites } from "../../e2e/support/prerequisites.ts";
import { ROOT, freePort, startStack } from "../../scripts/lib/stack.ts";
import { progress, summary } from "../lib/stats.ts";

/**
 * bench/join: join click -> first remote video frame decoded, through the whole stack,
 * with another participant already in the call. The click comes when a user would make
 * it: on the pre-join page, once their own preview plays and the page shows it is
 * connected. Two rows, same browsers, same run:
 *  - sfu: the room with its host's "Direct calls for two" off (Worker, room DO, registry,
 *    SFU node);
 *  - p2p: the same room with it on, the default: a call of two goes browser to browser
 *    (the room only relays the signalling).
 * The rows alternate in one room, so drift during the run weighs on both alike; each run
 * checks which path carried the timed frame, so the rows cannot swap silently.
 * Baseline in the same run and browser: two RTCPeerConnections in one page connecting to
 * each other (no signalling server, no SFU): the floor WebRTC itself sets.
 */

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const TARGET_SFU_MEDIAN_MS = 600;
/** The target: going browser to browser must not make joining slower. */
const TARGET_P2P_TO_SFU_MAX = 1;

type Path = "sfu" | "p2p";
/** What the call header shows on the guest's page for each row. */
const MEDIA_PATH: Record<Path, string> = { sfu: "server", p2p: "direct" };

const prerequisites = checkPrerequisites();
if (!prerequisites.ok) {
  progress(`cannot run: ${prerequisites.reason}`);
  process.exit(1);
}
const state = mkdtempSync(join(tmpdir(), "meridian-bench-join-"));
const stack = await startStack({
  port: await freePort(),
  nodeSecret: "bench-node-secret-0123456789",
  persistTo: join(state, "edge"),
  nodes: [{ id: "bench-node-1", rtcPortBase: 30200, workers: 1 }],
  logs: { dir: join(ROOT, "bench/results/join") },
});
const host = await launchUser(prerequisites.value.chromium);
const guest = await launchUser(prerequisites.value.chromium);

/** Marks the moment the join button is clicked, inside the page. */
await guest.context.addInitScript(`
  document.addEventListener("click", (event) => {
    if (event.target instanceof Element && event.target.closest('[data-testid="join"]')) window.__joinClickAt = performance.now();
  }, true);
`);

/** The pre-join page is warmed up and the user's preview is playing. */
async function readyToJoin(page: Page): Promise<void> {
  await page.locator('[data-testid="join"][data-ready="true"]').waitFor();
  await page
    .locator('[data-testid="tile"][data-self="true"] video')
    .evaluate((video: HTMLVideoElement) =>
      video.readyState >= 2 ? undefined : new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true })),
    );
}

/**
 * Resolves with ms from the join click to the first frame decoded from a remote peer, and
 * whose connection decoded it: the SFU's answer ICE-lite, a browser does not.
 */
function firstRemoteFrame(page: Page): Promise<{ ms: number; via: Path }> {
  return page.evaluate(
    () =>
      new Promise<{ ms: number; via: Path }>((resolve, reject) => {
        const w = window as unknown as { __joinClickAt: number; __meridianPCs: RTCPeerConnection[] };
        const deadline = performance.now() + 15_000;
        const check = async () => {
          for (const pc of w.__meridianPCs) {
            if (pc.connectionState === "closed") continue;
            const stats = await pc.getStats();
            let decoded = false;
            stats.forEach((s: { type: string; kind?: string; ssrc?: number; framesDecoded?: number }) => {
              if (s.type === "inbound-rtp" && s.kind === "video" && s.ssrc !== 1234 && (s.framesDecoded ?? 0) > 0) decoded = true;
            });
            if (decoded) {
              const ms = performance.now() - w.__joinClickAt;
              return resolve({ ms, via: pc.remoteDescription?.sdp.includes("a=ice-lite") ? "sfu" : "p2p" });
            }
          }
          if (performance.now() > deadline) return reject(new Error("no remote frame within 15 s"));
          // Often enough to time it, seldom enough not to slow the page down while it joins.
          setTimeout(check, 10);
        };
        void check();
      }),
  );
}

/** The baseline: local loopback pair, from click to the first decoded frame. */
function p2pFirstFrame(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
    const [track] = stream.getVideoTracks();
    const start = performance.now();
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && void b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && void a.addIceCandidate(e.candidate);
    a.addTrack(track!, stream);
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    const elapsed = await new Promise<number>((resolve, reject) => {
      const deadline = performance.now() + 15_000;
      const check = async () => {
        const stats = await b.getStats();
        let decoded = false;
        stats.forEach((s: { type: string; kind?: string; framesDecoded?: number }) => {
          if (s.type === "inbound-rtp" && s.kind === "video" && (s.framesDecoded ?? 0) > 0) decoded = true;
        });
        if (decoded) return resolve(performance.now() - start);
        if (performance.now() > deadline) return reject(new Error("baseline: no frame within 15 s"));
        setTimeout(check, 5);
      };
      void check();
    });
    a.close();
    b.close();
    track!.stop();
    return elapsed;
  });
}

/** The media path the call header shows, once it shows one. */
function mediaPath(page: Page): Promise<string | null> {
  return page.getByTestId("media-path").getAttribute("data-path", { timeout: 1000 }).catch(() => null);
}

/** The host creates a room and joins it; returns the room's URL. */
async function hostRoom(): Promise<string> {
  await host.page.goto(stack.url);
  await host.page.getByTestId("create-room").click();
  await host.page.waitForURL(/\/r\//);
  const roomUrl = host.page.url();
  await joinAs(host.page, roomUrl, "Host");
  await host.page.locator('[data-testid="tile"][data-self="true"]').waitFor();
  return roomUrl;
}

/**
 * The host, alone in the call, sets the room's "Direct calls for two" for the next join.
 * Through the SFU the host sends to the node already, as it would when the guest comes;
 * peer-to-peer it has given its transports back.
 */
async function roomFor(path: Path): Promise<void> {
  const page = host.page;
  const toggle = page.getByTestId("p2p-room");
  await page.getByTestId("toggle-people").click();
  if ((await toggle.isChecked()) !== (path === "p2p")) await toggle.setChecked(path === "p2p");
  await page.locator(`[data-testid="p2p-room"]${path === "p2p" ? ":checked" : ":not(:checked)"}`).waitFor();
  await page.getByTestId("toggle-people").click();
  if (path === "sfu") await waitFor(() => mediaPath(page), (p) => p === "server", 15_000, "the host's media path to be the server");
  else await waitFor(() => mediaPath(page), (p) => p === null, 15_000, "the host to give its SFU transports back");
}

/** One timed join of the guest into the host's room, on `path`. */
async function timedJoin(path: Path, roomUrl: string, label: string): Promise<number> {
  await roomFor(path);
  await guest.page.goto(roomUrl);
  await guest.page.getByLabel("Your name").fill("Guest");
  await readyToJoin(guest.page);
  await guest.page.getByTestId("join").click();
  const { ms, via } = await firstRemoteFrame(guest.page);
  if (via !== path) throw new Error(`${path} ${label}: the first frame came ${via === "sfu" ? "through the SFU" : "browser to browser"}`);
  // The header's path is found from stats after the media flows: it may take a moment to show.
  const shown = await waitFor(() => mediaPath(guest.page), (p) => p === MEDIA_PATH[path], 10_000, `the guest's media path to be ${MEDIA_PATH[path]}`);
  progress(`${path} join ${label}: ${ms.toFixed(0)} ms (${shown})`);
  // The host decodes each guest too: the call works, not just the timing path. (Checked
  // while the guest is there: once it leaves, its consumer and stats are gone.)
  await decodedMoreThan(host.page, 0, 5000);
  await guest.page.getByTestId("leave").click();
  await guest.page.getByText("You left the meeting").waitFor();
  return ms;
}

try {
  // One room, the rows interleaved run by run (the host switches direct calls on and off
  // while alone): whatever drifts during the run weighs on both rows alike.
  const roomUrl = await hostRoom();
  const sfu: number[] = [];
  const p2p: number[] = [];
  // The first join of each kind warms caches (module compile, DO creation); it is not counted.
  for (let run = 0; run <= RUNS; run++) {
    const label = run === 0 ? "warm-up" : `${run}/${RUNS}`;
    const order: Path[] = run % 2 === 0 ? ["sfu", "p2p"] : ["p2p", "sfu"];
    for (const path of order) {
      const ms = await timedJoin(path, roomUrl, label);
      if (run > 0) (path === "sfu" ? sfu : p2p).push(ms);
    }
  }

  const baseline: number[] = [];
  await guest.page.goto(stack.url);
  for (let run = 1; run <= RUNS + 1; run++) {
    const ms = await p2pFirstFrame(guest.page);
    if (run > 1) baseline.push(ms);
  }
  progress(`baseline done`);

  const s = summary(sfu);
  const p = summary(p2p);
  const b = summary(baseline);
  const ratio = (x: number, y: number) => Math.round((x / y) * 100) / 100;
  process.stdout.write(
    JSON.stringify({
      bench: "join",
      unit: "ms",
      runs: RUNS,
      sfu: { what: "join click -> first remote frame decoded, room with direct calls off (edge + SFU)", ...s },
      p2p: { what: "join click -> first remote frame decoded, default room: browser to browser (edge signalling only)", ...p },
      baseline: { what: "two RTCPeerConnections in one page, connect -> first frame decoded", ...b },
      ratio_sfu_to_baseline: ratio(s.median, b.median),
      ratio_p2p_to_baseline: ratio(p.median, b.median),
      ratio_p2p_to_sfu: ratio(p.median, s.median),
      target: { sfu_median_ms_max: TARGET_SFU_MEDIAN_MS, p2p_median_to_sfu_median_max: TARGET_P2P_TO_SFU_MAX },
      pass: s.median <= TARGET_SFU_MEDIAN_MS && p.median <= s.median * TARGET_P2P_TO_SFU_MAX,
    }) + "\n",
  );
} finally {
  await Promise.all([host.close(), guest.close()]);
  await stack.stop();
  rmSync(state, { recursive: true, force: true });
}
