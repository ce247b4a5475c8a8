import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { turnPassword } from "@meridian/turn/credentials";
import { decodedMoreThan } from "./support/browser.ts";
import { createAndJoin, startTwoPeople, type TwoPeople } from "./support/call.ts";
import { requirePrerequisites } from "./support/prerequisites.ts";

/**
 * TURN for real: the local coturn (loopback variant) registered through its agent, the
 * edge handing room members short-lived credentials, and two Chromium pages forced to
 * relay-only ICE towards the SFU (peer-to-peer through the relay is in p2p.test.ts).
 * Refused credentials are checked the way a browser sees them.
 */
const prerequisites = requirePrerequisites();

/** Every RTCPeerConnection the page makes uses only relay candidates. */
const FORCE_RELAY = `
  const Base = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Base {
    constructor(config, ...rest) { super({ ...(config || {}), iceTransportPolicy: "relay" }, ...rest); }
  };
`;

/** The candidate types of each connected transport's selected pair. */
function selectedPairTypes(page: Page): Promise<Array<{ local: string; remote: string }>> {
  return page.evaluate(async () => {
    const pairs: Array<{ local: string; remote: string }> = [];
    for (const pc of (window as unknown as { __meridianPCs: RTCPeerConnection[] }).__meridianPCs) {
      if (pc.connectionState !== "connected") continue;
      const stats = await pc.getStats();
      const byId = new Map<string, Record<string, unknown>>();
      stats.forEach((s: Record<string, unknown>) => byId.set(s.id as string, s));
      for (const s of byId.values()) {
        if (s.type !== "transport" || !s.selectedCandidatePairId) continue;
        const pair = byId.get(s.selectedCandidatePairId as string)!;
        pairs.push({
          local: byId.get(pair.localCandidateId as string)?.candidateType as string,
          remote: byId.get(pair.remoteCandidateId as string)?.candidateType as string,
        });
      }
    }
    return pairs;
  });
}

/** Gathers relay candidates with the given credential; returns how many came and the errors. */
function gatherRelay(page: Page, server: { urls: string; username: string; credential: string }) {
  return page.evaluate(
    (iceServer) =>
      new Promise<{ relay: number; errors: number[] }>((resolve) => {
        const pc = new RTCPeerConnection({ iceServers: [iceServer], iceTransportPolicy: "relay" });
        const result = { relay: 0, errors: [] as number[] };
        pc.onicecandidateerror = (e) => result.errors.push((e as RTCPeerConnectionIceErrorEvent).errorCode);
        pc.onicecandidate = (e) => {
          if (e.candidate?.type === "relay") result.relay++;
          if (!e.candidate) {
            pc.close();
            resolve(result);
          }
        };
        pc.createDataChannel("probe");
        void pc.createOffer().then((offer) => pc.setLocalDescription(offer));
      }),
    server,
  );
}

describe.skipIf(!prerequisites)("calls through the TURN relay", () => {
  let people: TwoPeople;

  beforeAll(async () => {
    people = await startTwoPeople("turn-relay", {
      chromium: prerequisites!.chromium,
      rtcPortBase: 30700,
      stack: { turn: { required: true } },
      initScripts: [FORCE_RELAY],
    });
  }, 120_000);

  afterAll(async () => {
    await people?.close();
  });

  it("a relay-only call decodes video both ways, over relay candidate pairs", async () => {
    const { alice, bob } = people;
    await createAndJoin(people, { sfu: true });
    for (const page of [alice.page, bob.page]) {
      const first = await decodedMoreThan(page, 0, 30_000);
      await decodedMoreThan(page, first, 10_000);
      const pairs = await selectedPairTypes(page);
      expect(pairs.length, "connected transports").toBeGreaterThan(0);
      for (const pair of pairs) expect(pair.local).toBe("relay");
    }
  });

  it("refuses a forged and an expired credential (401, no relay candidate)", async () => {
    const { alice, stack } = people;
    const page = alice.page;
    const urls = `turn:127.0.0.1:${stack.turn!.port}?transport=udp`;
    const now = Math.floor(Date.now() / 1000);
    const forged = await gatherRelay(page, { urls, username: `${now + 600}:mallory`, credential: "bm90LXRoZS1yaWdodC1obWFj" });
    expect(forged.relay).toBe(0);
    expect(forged.errors).toContain(401);
    const expiredName = `${now - 60}:mallory`;
    const expired = await gatherRelay(page, { urls, username: expiredName, credential: await turnPassword(stack.turn!.secret, expiredName) });
    expect(expired.relay).toBe(0);
    expect(expired.errors).toContain(401);
    // The same secret with a live expiry works: the refusals above are about the credential.
    const validName = `${now + 600}:alice`;
    const valid = await gatherRelay(page, { urls, username: validName, credential: await turnPassword(stack.turn!.secret, validName) });
    expect(valid.relay).toBeGreaterThan(0);
  });
});
