import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { decodedMoreThan, launchUser } from "../../e2e/support/browser.ts";
import { checkPrerequisites } from "../../e2e/support/prerequisites.ts";
import { ROOT, freePort, startStack } from "../../scripts/lib/stack.ts";
import { progress, summary } from "../lib/stats.ts";

/**
 * bench/join: join click -> first remote video frame decoded, through the whole stack
 * (Worker, room DO, registry, SFU node), with another participant already sending. The
 * click comes when a user would make it: on the pre-join page, once their own preview
 * plays and the page shows it is connected.
 * Baseline in the same run and browser: two RTCPeerConnections in one page connecting to
 * each other (no signalling server, no SFU): the floor WebRTC itself sets.
 */

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const TARGET_MEDIAN_MS = 600;

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

/** Resolves with ms from the join click to the first frame decoded from a remote peer. */
function firstRemoteFrame(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const w = window as unknown as { __joinClickAt: number; __meridianPCs: RTCPeerConnection[] };
        const deadline = performance.now() + 15_000;
        const check = async () => {
          for (const pc of w.__meridianPCs) {
            const stats = await pc.getStats();
            let decoded = false;
            stats.forEach((s: { type: string; kind?: string; ssrc?: number; framesDecoded?: number }) => {
              if (s.type === "inbound-rtp" && s.kind === "video" && s.ssrc !== 1234 && (s.framesDecoded ?? 0) > 0) decoded = true;
            });
            if (decoded) return resolve(performance.now() - w.__joinClickAt);
          }
          if (performance.now() > deadline) return reject(new Error("no remote frame within 15 s"));
          setTimeout(check, 5);
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

try {
  await host.page.goto(stack.url);
  await host.page.getByTestId("create-room").click();
  await host.page.waitForURL(/\/r\//);
  const roomUrl = host.page.url();
  await host.page.getByLabel("Your name").fill("Host");
  await host.page.getByTestId("join").click();
  await host.page.locator('[data-testid="tile"][data-self="true"]').waitFor();

  const meridian: number[] = [];
  for (let run = 1; run <= RUNS + 1; run++) {
    await guest.page.goto(roomUrl);
    await guest.page.getByLabel("Your name").fill("Guest");
    await readyToJoin(guest.page);
    await guest.page.getByTestId("join").click();
    const ms = await firstRemoteFrame(guest.page);
    // The first run warms caches (module compile, DO creation); it is not counted.
    if (run > 1) meridian.push(ms);
    progress(`join ${run > 1 ? `${run - 1}/${RUNS}` : "warm-up"}: ${ms.toFixed(0)} ms`);
    // The host decodes each guest too: the call works, not just the timing path. (Checked
    // while the guest is there: once it leaves, its consumer and stats are gone.)
    await decodedMoreThan(host.page, 0, 5000);
    await guest.page.getByTestId("leave").click();
    await guest.page.getByText("You left the meeting").waitFor();
  }

  const baseline: number[] = [];
  await guest.page.goto(stack.url);
  for (let run = 1; run <= RUNS + 1; run++) {
    const ms = await p2pFirstFrame(guest.page);
    if (run > 1) baseline.push(ms);
  }
  progress(`baseline done`);

  const m = summary(meridian);
  const b = summary(baseline);
  process.stdout.write(
    JSON.stringify({
      bench: "join",
      unit: "ms",
      runs: RUNS,
      meridian: { what: "join click -> first remote frame decoded (edge + SFU)", ...m },
      baseline: { what: "two RTCPeerConnections in one page, connect -> first frame decoded", ...b },
      ratio: Math.round((m.median / b.median) * 100) / 100,
      target: { median_ms_max: TARGET_MEDIAN_MS },
      pass: m.median <= TARGET_MEDIAN_MS,
    }) + "\n",
  );
} finally {
  await Promise.all([host.close(), guest.close()]);
  await stack.stop();
  rmSync(state, { recursive: true, force: true });
}
