import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, freePort, startStack, type Stack } from "../scripts/lib/stack.ts";
import { launchUser, waitFor, type BrowserUser } from "./support/browser.ts";
import { joinAs } from "./support/call.ts";
import { longestStall, nodeMetrics, recordDecoded, tileOf } from "./support/frames.ts";
import { requirePrerequisites } from "./support/prerequisites.ts";

/**
 * Calls of two, browser to browser, in real Chromium against the local stack (one SFU
 * node, the local coturn): the direct path, the switch to the SFU when a third joins and
 * back when they leave (measured on the tiles), relay-only for someone who hides their
 * address, a room that forbids P2P, and a link that cannot connect.
 */
const prerequisites = requirePrerequisites();

const METRICS_PORT = 30691;
/** Shorter than production's 10 s: the behaviour is the same, the suite is quicker. */
const HOLD_OFF_MS = 4000;
/** The switch must not show: no tile stalls longer than this. */
const MAX_STALL_MS = 500;

/**
 * A page-level switch for the fallback test: with `test.block-p2p` set, the page's
 * peer-to-peer connection never learns a candidate of the other side (candidates dropped,
 * stripped from descriptions), as if every path between the browsers were filtered. The
 * SFU's connections (ICE-lite, candidates in the description) are left alone.
 */
const BLOCK_P2P = `
  (() => {
    const blocked = () => localStorage.getItem("test.block-p2p") === "1";
    const Proto = RTCPeerConnection.prototype;
    const addIceCandidate = Proto.addIceCandidate;
    Proto.addIceCandidate = function (candidate, ...rest) {
      if (blocked()) return Promise.resolve();
      return addIceCandidate.call(this, candidate, ...rest);
    };
    const setRemoteDescription = Proto.setRemoteDescription;
    Proto.setRemoteDescription = function (description, ...rest) {
      if (blocked() && description && description.sdp && !description.sdp.includes("a=ice-lite")) {
        description = { type: description.type, sdp: description.sdp.split("\\r\\n").filter((l) => !l.startsWith("a=candidate")).join("\\r\\n") };
      }
      return setRemoteDescription.call(this, description, ...rest);
    };
  })();
`;

/** Cameras of 640×360 (the app asks for 720p): with 15 fps, what lets three browsers share two cores. */
const SMALL_CAMERA = `
  (() => {
    const devices = navigator.mediaDevices;
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = (constraints) => {
      if (constraints && typeof constraints.video === "object") constraints = { ...constraints, video: { ...constraints.video, width: { ideal: 640 }, height: { ideal: 360 } } };
      return getUserMedia(constraints);
    };
  })();
`;

interface Link {
  readonly state: string;
  readonly local?: string;
  readonly remote?: string;
  readonly remoteAddress?: string;
}

/** The page's peer-to-peer connections that negotiated with the other browser, with their selected candidate pair. */
function p2pLinks(page: Page): Promise<Link[]> {
  return page.evaluate(async () => {
    const links: Link[] = [];
    for (const pc of (window as unknown as { __meridianPCs: RTCPeerConnection[] }).__meridianPCs) {
      // Only connections that negotiated with someone: not mediasoup-client's probe of the
      // browser's codecs, nor a link warmed on the pre-join page and never used; the SFU's
      // connections answer ICE-lite.
      if (!pc.remoteDescription || pc.remoteDescription.sdp.includes("a=ice-lite")) continue;
      if (pc.connectionState === "closed") {
        links.push({ state: "closed" });
        continue;
      }
      const byId = new Map<string, Record<string, unknown>>();
      (await pc.getStats()).forEach((s: Record<string, unknown>) => byId.set(s.id as string, s));
      const transport = [...byId.values()].find((s) => s.type === "transport" && s.selectedCandidatePairId);
      const pair = transport ? byId.get(transport.selectedCandidatePairId as string) : undefined;
      const local = pair ? byId.get(pair.localCandidateId as string) : undefined;
      const remote = pair ? byId.get(pair.remoteCandidateId as string) : undefined;
      links.push({
        state: pc.connectionState,
        ...(local ? { local: local.candidateType as string } : {}),
        ...(remote ? { remote: remote.candidateType as string, remoteAddress: remote.address as string } : {}),
      });
    }
    return links;
  });
}

/** Open (not closed) connections to the SFU. */
function sfuConnections(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      (window as unknown as { __meridianPCs: RTCPeerConnection[] }).__meridianPCs.filter((pc) => pc.connectionState !== "closed" && pc.remoteDescription?.sdp.includes("a=ice-lite"))
        .length,
  );
}

const mediaPath = (page: Page) => page.getByTestId("media-path").getAttribute("data-path", { timeout: 1000 }).catch(() => null);
const liveLinks = async (page: Page) => (await p2pLinks(page)).filter((l) => l.state !== "closed");

/** Frames the page rendered in `name`'s tile so far. */
function tileFrames(page: Page, name: string): Promise<number> {
  return page
    .locator(`${tileOf(name)} video`)
    .evaluate((v: HTMLVideoElement) => (v.srcObject ? v.getVideoPlaybackQuality().totalVideoFrames : 0))
    .catch(() => 0);
}

async function decodesTile(page: Page, name: string, what: string): Promise<void> {
  const first = await waitFor(() => tileFrames(page, name), (n) => n > 0, 30_000, what);
  await waitFor(() => tileFrames(page, name), (n) => n > first, 10_000, `${what} (still)`);
}

describe.skipIf(!prerequisites)("peer-to-peer calls of two", () => {
  let stack: Stack;
  let alice: BrowserUser;
  let bob: BrowserUser;
  let carol: BrowserUser;
  const state = mkdtempSync(join(tmpdir(), "meridian-p2p-"));
  const transports = async () => (await nodeMetrics(METRICS_PORT)).meridian_sfu_transports;

  /** Alice creates a room from the landing page and joins; returns its URL. */
  async function newRoom(): Promise<string> {
    const a = alice.page;
    await a.goto(stack.url);
    await a.getByTestId("create-room").click();
    await a.waitForURL(/\/r\/[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    const url = a.url();
    await joinAs(a, url, "Alice");
    await a.locator('[data-page="call"]').waitFor();
    return url;
  }

  async function leaveAll(): Promise<void> {
    for (const user of [alice, bob, carol]) {
      const leave = user.page.getByTestId("leave");
      if (await leave.count()) {
        // A host gets a menu: leave, or end for everyone.
        const menu = (await leave.getAttribute("aria-haspopup")) === "menu";
        await leave.click();
        if (menu) await user.page.getByTestId("leave-only").click();
        await user.page.locator('[data-page="call"]').waitFor({ state: "detached" });
      }
      await user.page.goto("about:blank");
    }
    await waitFor(transports, (n) => n === 0, 15_000, "the node to carry no transports");
  }

  beforeAll(async () => {
    stack = await startStack({
      port: await freePort(),
      nodeSecret: "p2p-node-secret-0123456789",
      persistTo: join(state, "edge"),
      nodes: [{ id: "p2p-node", rtcPortBase: 30680, workers: 1, env: { METRICS_PORT: String(METRICS_PORT) } }],
      logs: { dir: join(ROOT, "e2e/artifacts/p2p") },
      edgeVars: { P2P_HOLD_OFF_MS: String(HOLD_OFF_MS) },
      turn: { required: true },
    });
    // Three browsers, a node and the edge share two cores here: smaller cameras at 15 fps
    // keep the machine from starving them (a stall of the machine would pass for one of the switch).
    const camera = { args: ["--use-fake-device-for-media-stream=fps=15"], omit: { omitArgs: ["--use-fake-device-for-media-stream"] } };
    [alice, bob, carol] = (await Promise.all([0, 1, 2].map(() => launchUser(prerequisites!.chromium, camera.args, camera.omit)))) as [BrowserUser, BrowserUser, BrowserUser];
    for (const user of [alice, bob, carol]) await user.context.addInitScript(SMALL_CAMERA);
    for (const user of [alice, bob]) await user.context.addInitScript(BLOCK_P2P);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([alice?.close(), bob?.close(), carol?.close()]);
    await stack?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("two pages connect browser to browser over host candidates; the node carries no transport for them", async () => {
    const url = await newRoom();
    await joinAs(bob.page, url, "Bob");
    await decodesTile(alice.page, "Bob", "Alice decoding Bob");
    await decodesTile(bob.page, "Alice", "Bob decoding Alice");
    for (const page of [alice.page, bob.page]) {
      await expect.poll(() => mediaPath(page), { timeout: 10_000 }).toBe("direct");
      const links = await liveLinks(page);
      expect(links).toEqual([{ state: "connected", local: "host", remote: "host", remoteAddress: "127.0.0.1" }]);
      expect(await sfuConnections(page)).toBe(0);
    }
    const m = await nodeMetrics(METRICS_PORT);
    expect({ transports: m.meridian_sfu_transports, producers: m.meridian_sfu_producers, consumers: m.meridian_sfu_consumers }).toEqual({ transports: 0, producers: 0, consumers: 0 });

    // The beeping fake microphones: each page finds the speaker itself and highlights a tile.
    for (const page of [alice.page, bob.page]) await page.locator('[data-testid="tile"][data-speaking="true"]').first().waitFor({ timeout: 15_000 });
    // Mute travels over the link's own signalling: Alice sees Bob muted, then not.
    await bob.page.getByTestId("toggle-mic").click();
    await expect.poll(() => alice.page.locator(tileOf("Bob")).getAttribute("data-mic"), { timeout: 10_000 }).toBe("off");
    await bob.page.getByTestId("toggle-mic").click();
    await expect.poll(() => alice.page.locator(tileOf("Bob")).getAttribute("data-mic"), { timeout: 10_000 }).toBe("on");
  }, 120_000);

  it("a third joins: all three through the SFU without a visible stall; they leave: back to P2P after the hold-off", async () => {
    const url = alice.page.url();
    await Promise.all([recordDecoded(alice.page, ["Bob"]), recordDecoded(bob.page, ["Alice"])]);
    const joinedAt = Date.now();
    await joinAs(carol.page, url, "Carol");
    for (const [page, names] of [
      [alice.page, ["Bob", "Carol"]],
      [bob.page, ["Alice", "Carol"]],
      [carol.page, ["Alice", "Bob"]],
    ] as const) {
      for (const name of names) await decodesTile(page, name, `decoding ${name}`);
    }
    // The two originals moved to the SFU and closed their link.
    for (const page of [alice.page, bob.page]) {
      await expect.poll(() => mediaPath(page), { timeout: 15_000 }).toBe("server");
      await waitFor(() => liveLinks(page), (links) => links.length === 0, 15_000, "the link to close");
      expect(await sfuConnections(page)).toBe(2);
    }
    await waitFor(transports, (n) => n === 6, 10_000, "six transports on the node");
    const switchedAt = Date.now();
    expect(await longestStall(alice.page, "Bob", joinedAt, switchedAt), "Alice's tile of Bob").toBeLessThanOrEqual(MAX_STALL_MS);
    expect(await longestStall(bob.page, "Alice", joinedAt, switchedAt), "Bob's tile of Alice").toBeLessThanOrEqual(MAX_STALL_MS);

    // Through the SFU, a screen share takes the stage and the strip's small tiles ask for the smallest simulcast layer.
    await carol.page.getByTestId("toggle-screen").click();
    await alice.page.locator('[data-testid="screen-tile"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => alice.page.locator(`${tileOf("Bob")}`).getAttribute("data-layer"), { timeout: 10_000 }).toBe("0");

    const leftAt = Date.now();
    await carol.page.getByTestId("leave").click();
    // Not at once: the hold-off, then the link, then the SFU is given back.
    await expect.poll(() => mediaPath(alice.page), { timeout: HOLD_OFF_MS + 20_000 }).toBe("direct");
    expect(Date.now() - leftAt).toBeGreaterThanOrEqual(HOLD_OFF_MS);
    await expect.poll(() => mediaPath(bob.page), { timeout: 10_000 }).toBe("direct");
    await waitFor(transports, (n) => n === 0, 20_000, "the SFU transports to be given back");
    for (const page of [alice.page, bob.page]) expect(await sfuConnections(page)).toBe(0);
    const backAt = Date.now();
    expect(await longestStall(alice.page, "Bob", leftAt, backAt), "Alice's tile of Bob, back to P2P").toBeLessThanOrEqual(MAX_STALL_MS);
    expect(await longestStall(bob.page, "Alice", leftAt, backAt), "Bob's tile of Alice, back to P2P").toBeLessThanOrEqual(MAX_STALL_MS);
    await leaveAll();
  }, 180_000);

  it("someone who hides their address is reached only through the TURN relay, and never sends a host candidate", async () => {
    await bob.page.goto(stack.url);
    await bob.page.evaluate(() => localStorage.setItem("meridian.devices", JSON.stringify({ ...JSON.parse(localStorage.getItem("meridian.devices") ?? "{}"), hideAddress: true })));
    const sent: string[] = [];
    const onSocket = (ws: { on(event: "framesent", cb: (frame: { payload: string | Buffer }) => void): void }) =>
      ws.on("framesent", ({ payload }) => {
        const frame = JSON.parse(String(payload)) as { method?: string; params?: { signal?: { type: string; candidate?: { candidate: string } } } };
        if (frame.method === "p2pSignal" && frame.params?.signal?.type === "candidate") sent.push(frame.params.signal.candidate!.candidate);
      });
    bob.page.on("websocket", onSocket);
    try {
      const url = await newRoom();
      await joinAs(bob.page, url, "Bob");
      await decodesTile(alice.page, "Bob", "Alice decoding Bob");
      await decodesTile(bob.page, "Alice", "Bob decoding Alice");
      for (const page of [alice.page, bob.page]) await expect.poll(() => mediaPath(page), { timeout: 10_000 }).toBe("relayed");
      expect(await liveLinks(bob.page)).toMatchObject([{ state: "connected", local: "relay" }]);
      expect(await liveLinks(alice.page)).toMatchObject([{ state: "connected", remote: "relay" }]);
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.filter((c) => !c.includes(" typ relay"))).toEqual([]);
      // The setting is the user's, in the settings dialog.
      await bob.page.getByTestId("open-settings").click();
      expect(await bob.page.getByTestId("hide-address").isChecked()).toBe(true);
      await bob.page.keyboard.press("Escape");
    } finally {
      bob.page.off("websocket", onSocket);
      await bob.page.evaluate(() => localStorage.setItem("meridian.devices", JSON.stringify({ ...JSON.parse(localStorage.getItem("meridian.devices") ?? "{}"), hideAddress: false })));
    }
    await leaveAll();
  }, 120_000);

  it("a room whose host forbids P2P goes through the SFU from the start", async () => {
    const url = await newRoom();
    await alice.page.keyboard.press("p");
    await alice.page.getByTestId("p2p-room").uncheck();
    await expect.poll(() => alice.page.getByTestId("p2p-room").isChecked()).toBe(false);
    await alice.page.keyboard.press("Escape");
    await joinAs(bob.page, url, "Bob");
    await decodesTile(alice.page, "Bob", "Alice decoding Bob");
    await decodesTile(bob.page, "Alice", "Bob decoding Alice");
    for (const page of [alice.page, bob.page]) {
      await expect.poll(() => mediaPath(page), { timeout: 10_000 }).toBe("server");
      expect(await p2pLinks(page)).toEqual([]);
    }
    await waitFor(transports, (n) => n === 4, 10_000, "four transports on the node");
    await leaveAll();
  }, 120_000);

  it("a link that cannot connect falls back to the SFU by itself", async () => {
    for (const user of [alice, bob]) {
      await user.page.goto(stack.url);
      await user.page.evaluate(() => localStorage.setItem("test.block-p2p", "1"));
    }
    try {
      const url = await newRoom();
      const joinedAt = Date.now();
      await joinAs(bob.page, url, "Bob");
      await decodesTile(alice.page, "Bob", "Alice decoding Bob through the SFU");
      await decodesTile(bob.page, "Alice", "Bob decoding Alice through the SFU");
      for (const page of [alice.page, bob.page]) {
        await expect.poll(() => mediaPath(page), { timeout: 10_000 }).toBe("server");
        expect(await liveLinks(page)).toEqual([]);
        // It never connected: the link was tried and given up.
        expect((await p2pLinks(page)).length).toBe(1);
      }
      expect(Date.now() - joinedAt).toBeLessThan(30_000);
    } finally {
      for (const user of [alice, bob]) await user.page.evaluate(() => localStorage.removeItem("test.block-p2p"));
    }
    await leaveAll();
  }, 120_000);
});
