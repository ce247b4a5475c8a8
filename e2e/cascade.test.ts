import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, freePort, startStack, waitForLogLine, type Stack } from "../scripts/lib/stack.ts";
import { framesDecodedSince, launchUser, pcCount, waitFor, type BrowserUser } from "./support/browser.ts";
import { joinAs } from "./support/call.ts";
import { startCfProxy, type CfProxy } from "./support/cf-proxy.ts";
import { framesAdvanced, longestStall, nodeMetrics as metrics, recordFrames, tileOf as tile } from "./support/frames.ts";
import { startTcpRelay, type TcpRelay } from "./support/tcp-relay.ts";
import { requirePrerequisites } from "./support/prerequisites.ts";

/**
 * One room across three SFU nodes, for real: nodes claiming Frankfurt, Virginia and
 * Singapore, and three Chromium pages that reach the edge from Paris, Toronto and Sydney
 * (each through a proxy that sets its request.cf). Each lands on its own nearest node, the
 * nodes exchange each stream once per remote node over SRTP pipes, and when Singapore's
 * node is killed its person is back in video within 5 s while the others never stop.
 */
const prerequisites = requirePrerequisites();

const NODES = [
  { id: "cascade-fra", lat: 50.11, lon: 8.68, rtcPortBase: 30500, pipePorts: [30505, 30509], metricsPort: 30591 },
  { id: "cascade-iad", lat: 38.95, lon: -77.45, rtcPortBase: 30510, pipePorts: [30515, 30519], metricsPort: 30592 },
  { id: "cascade-sin", lat: 1.35, lon: 103.82, rtcPortBase: 30520, pipePorts: [30525, 30529], metricsPort: 30593 },
] as const;
const PEOPLE = [
  { name: "Paris", node: "cascade-fra", cf: { latitude: "48.85", longitude: "2.35", continent: "EU", country: "FR", colo: "CDG" } },
  { name: "Toronto", node: "cascade-iad", cf: { latitude: "43.65", longitude: "-79.38", continent: "NA", country: "CA", colo: "YYZ" } },
  { name: "Sydney", node: "cascade-sin", cf: { latitude: "-33.87", longitude: "151.21", continent: "OC", country: "AU", colo: "SYD" } },
] as const;

interface Person {
  readonly name: string;
  readonly user: BrowserUser;
  readonly proxy: CfProxy;
}

/** The node a page's media went to, read from the port of its transports' remote candidates. */
function mediaNodeOf(page: Page): Promise<string | undefined> {
  return page.evaluate(async (nodes) => {
    const pcs = (window as unknown as { __meridianPCs: RTCPeerConnection[] }).__meridianPCs.filter((pc) => pc.connectionState === "connected");
    for (const pc of pcs.reverse()) {
      let port: number | undefined;
      (await pc.getStats()).forEach((s: { type: string; port?: number }) => {
        if (s.type === "remote-candidate" && s.port) port = s.port;
      });
      const node = nodes.find((n) => n.rtcPortBase === port);
      if (node) return node.id;
    }
    return undefined;
  }, NODES.map((n) => ({ id: n.id, rtcPortBase: n.rtcPortBase })));
}

/** Whether the page receives audio bytes from every other person (inbound-rtp audio, one stream each at least). */
function inboundAudioStreams(page: Page): Promise<number> {
  return page.evaluate(async () => {
    let n = 0;
    for (const pc of (window as unknown as { __meridianPCs: RTCPeerConnection[] }).__meridianPCs) {
      if (pc.connectionState === "closed") continue;
      (await pc.getStats()).forEach((s: { type: string; kind?: string; bytesReceived?: number }) => {
        if (s.type === "inbound-rtp" && s.kind === "audio" && (s.bytesReceived ?? 0) > 0) n++;
      });
    }
    return n;
  });
}

describe.skipIf(!prerequisites)("a room cascaded across three SFU nodes", () => {
  let stack: Stack;
  const people: Person[] = [];
  const state = mkdtempSync(join(tmpdir(), "meridian-cascade-"));

  let fraLink: TcpRelay;

  beforeAll(async () => {
    const proxyPorts = await Promise.all(PEOPLE.map(() => freePort()));
    const port = await freePort();
    // Frankfurt's node reaches the edge through a relay the test can cut.
    fraLink = await startTcpRelay(port);
    stack = await startStack({
      port,
      nodeSecret: "cascade-node-secret-0123456789",
      persistTo: join(state, "edge"),
      nodes: NODES.map((n) => ({
        id: n.id,
        region: n.id,
        lat: n.lat,
        lon: n.lon,
        rtcPortBase: n.rtcPortBase,
        workers: 1,
        env: {
          PIPE_PORT_MIN: String(n.pipePorts[0]),
          PIPE_PORT_MAX: String(n.pipePorts[1]),
          METRICS_IP: "127.0.0.1",
          METRICS_PORT: String(n.metricsPort),
          ...(n.id === "cascade-fra" ? { EDGE_URL: `ws://127.0.0.1:${fraLink.port}` } : {}),
        },
      })),
      logs: { dir: join(ROOT, "e2e/artifacts/cascade") },
      edgeVars: { ALLOWED_ORIGINS: proxyPorts.map((p) => `http://127.0.0.1:${p}`).join(",") },
      edgeLogLevel: "info",
    });
    for (const [i, person] of PEOPLE.entries()) {
      const proxy = await startCfProxy(stack.url, person.cf, proxyPorts[i]);
      people.push({ name: person.name, proxy, user: await launchUser(prerequisites!.chromium) });
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(people.map((p) => p.user.close()));
    await Promise.all(people.map((p) => p.proxy.close()));
    await stack?.stop();
    await fraLink?.close();
    rmSync(state, { recursive: true, force: true });
  });

  it("places each person on their nearest node, pipes each stream once per remote node, and survives a node's death", async () => {
    const [paris, toronto, sydney] = people as [Person, Person, Person];
    // Paris opens the room; the others follow its link through their own proxies.
    await paris.user.page.goto(paris.proxy.url);
    await paris.user.page.getByTestId("create-room").click();
    await paris.user.page.waitForURL(/\/r\/[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    const path = new URL(paris.user.page.url()).pathname;
    for (const person of people) await joinAs(person.user.page, `${person.proxy.url}${path}`, person.name);

    // Everyone decodes the two others' video and hears their audio.
    for (const person of people) {
      for (const other of people.filter((p) => p !== person)) {
        await waitFor(
          () => person.user.page.locator(`${tile(other.name)} video`).evaluate((v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames),
          (frames) => frames > 0,
          30_000,
          `${person.name} decoding ${other.name}`,
        );
      }
      await waitFor(() => inboundAudioStreams(person.user.page), (n) => n >= 2, 20_000, `${person.name} receiving two audio streams`);
    }
    // Each on their nearest node.
    for (const [i, person] of people.entries()) expect(await mediaNodeOf(person.user.page), person.name).toBe(PEOPLE[i]!.node);
    // The room's active speaker shows on every page (one leg's observer hears everyone).
    for (const person of people) await person.user.page.locator('[data-testid="tile"][data-speaking="true"]').first().waitFor({ timeout: 20_000 });

    // Each node: two pipes (to the two others) and the two others' camera and microphone
    // piped in exactly once each, once the next scrape has sampled.
    for (const node of NODES) {
      await waitFor(() => metrics(node.metricsPort), (m) => m.meridian_sfu_piped_producers === 4 && m.meridian_sfu_pipe_transports === 2, 15_000, `${node.id}'s pipe metrics`);
      const m = await metrics(node.metricsPort);
      await waitFor(() => metrics(node.metricsPort), (x) => (x.meridian_sfu_pipe_bitrate_in_bps ?? 0) > 0, 15_000, `${node.id} receiving over pipes`);
      expect(m.meridian_sfu_producers).toBe(6);
    }

    await Promise.all([recordFrames(paris.user.page, ["Toronto", "Sydney"]), recordFrames(toronto.user.page, ["Paris", "Sydney"])]);

    // Frankfurt's link to the edge drops for a moment while its media flows: its browsers
    // are asked, media reaches them, nobody moves, and the node registers again.
    const parisPcs = await pcCount(paris.user.page);
    const checked = paris.user.page.waitForEvent("console", { predicate: (m) => m.text().includes("media still flows here"), timeout: 15_000 });
    const registered = waitForLogLine(stack.nodes.get("cascade-fra")!, (entry) => entry.msg === "registered with edge", 15_000, "cascade-fra");
    const cutAt = Date.now();
    fraLink.cut();
    await Promise.all([checked, registered]);
    expect(await pcCount(paris.user.page)).toBe(parisPcs);
    expect(await mediaNodeOf(paris.user.page)).toBe("cascade-fra");
    expect(await longestStall(toronto.user.page, "Paris", cutAt)).toBeLessThan(1000);

    // Singapore's node dies with its host (every process of it, at once).
    const pcsBefore = await pcCount(sydney.user.page);
    const killedAt = Date.now();
    process.kill(-stack.nodes.get("cascade-sin")!.pid!, "SIGKILL");

    // Sydney decodes video again within 5 s, without a click, on another node.
    await waitFor(() => framesDecodedSince(sydney.user.page, pcsBefore), (n) => n > 0, 15_000, "Sydney decoding video again");
    const recoveredMs = Date.now() - killedAt;
    expect(recoveredMs, `Sydney recovered after ${recoveredMs} ms`).toBeLessThanOrEqual(5000);
    expect(await mediaNodeOf(sydney.user.page)).not.toBe("cascade-sin");

    // Paris and Toronto never stopped seeing each other.
    expect(await longestStall(paris.user.page, "Toronto", killedAt)).toBeLessThan(1000);
    expect(await longestStall(toronto.user.page, "Paris", killedAt)).toBeLessThan(1000);
    // And they see Sydney again (its camera produced anew from the other node).
    const recovered = Date.now();
    for (const person of [paris, toronto]) {
      await waitFor(() => framesAdvanced(person.user.page, "Sydney", recovered), (advanced) => advanced, 15_000, `${person.name} decoding Sydney again`);
    }
  });
});
