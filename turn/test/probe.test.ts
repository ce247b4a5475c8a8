import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { turnPassword } from "../src/credentials.ts";
import { REFUSED_SECRET_REASON, probeAllocate, probeStun } from "../src/probe.ts";
import { devParams } from "../src/render-config.ts";
import { Attr, Class, Method, errorCode, getAttribute, longTermKey, verifyIntegrity } from "../src/stun.ts";
import { coturnAvailable, findFreePortBlock, startCoturn, type RunningCoturn } from "./support/coturn.ts";
import { startUdpTap, type UdpTap } from "./support/udp-tap.ts";

/**
 * The authenticated health probe against real coturn: what a browser does with the
 * edge's credential (Allocate, 401 challenge, signed Allocate), then the release.
 */

const EDGE_SECRET = "edge-secret-0123456789abcdef0123";
const OTHER_SECRET = "other-secret-0123456789abcdef012";

const target = (server: RunningCoturn) => ({ host: server.host, port: server.ports.listeningPort });

const taps: UdpTap[] = [];
afterEach(() => {
  for (const tap of taps.splice(0)) tap.close();
});

describe("TURN Allocate probe without coturn", () => {
  it("fails with a reason when nothing answers, within its timeout", async () => {
    const port = await findFreePortBlock(1);
    const started = Date.now();
    const result = await probeAllocate({ host: "127.0.0.1", port }, { secret: EDGE_SECRET, userId: "nobody", timeoutMs: 300 });
    expect(result).toEqual({ ok: false, reason: "coturn does not answer a TURN Allocate" });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe.runIf(coturnAvailable())("TURN Allocate probe against coturn", () => {
  let server: RunningCoturn;
  beforeAll(async () => {
    server = await startCoturn({ params: (ports) => devParams(EDGE_SECRET, { ports }) });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("gets an allocation with the edge's secret and releases it", async () => {
    const result = await probeAllocate(target(server), { secret: EDGE_SECRET, userId: "health-probe.t1" });
    expect(result).toMatchObject({ ok: true, released: true, relayed: { address: "127.0.0.1" } });
    if (!result.ok) return;
    expect(result.relayed.port).toBeGreaterThanOrEqual(server.ports.relayMinPort);
    expect(result.relayed.port).toBeLessThanOrEqual(server.ports.relayMaxPort);
  });

  it("signs its Allocate and its LIFETIME 0 Refresh with a short-lived credential from the edge's secret, and coturn ends the allocation", async () => {
    const tap = await startUdpTap(target(server));
    taps.push(tap);
    const result = await probeAllocate({ host: "127.0.0.1", port: tap.port }, { secret: EDGE_SECRET, userId: "health-probe.t2" });
    expect(result).toMatchObject({ ok: true, released: true });

    expect(tap.toServer.map((m) => [m.method, m.cls])).toEqual([
      [Method.Allocate, Class.Request],
      [Method.Allocate, Class.Request],
      [Method.Refresh, Class.Request],
    ]);
    expect(tap.toClient.map((m) => [m.method, m.cls, errorCode(m)?.code])).toEqual([
      [Method.Allocate, Class.Error, 401],
      [Method.Allocate, Class.Success, undefined],
      [Method.Refresh, Class.Success, undefined],
    ]);
    const [challenge, allocate, refresh] = [tap.toServer[0]!, tap.toServer[1]!, tap.toServer[2]!];
    expect(getAttribute(challenge, Attr.MessageIntegrity)).toBeUndefined();
    expect(getAttribute(allocate, Attr.RequestedTransport)?.[0]).toBe(17);
    const username = getAttribute(allocate, Attr.Username)!.toString("utf8");
    const realm = getAttribute(allocate, Attr.Realm)!.toString("utf8");
    expect(username).toMatch(/^\d+:health-probe\.t2$/);
    expect(realm).toBe("meridian.local");
    expect(getAttribute(allocate, Attr.Nonce)).toEqual(getAttribute(tap.toClient[0]!, Attr.Nonce));
    // Short-lived: an expiry within minutes, not the hours a participant's credential gets.
    const expiry = Number(username.split(":")[0]);
    expect(expiry * 1000).toBeGreaterThan(Date.now());
    expect(expiry * 1000).toBeLessThanOrEqual(Date.now() + 120_000);
    const key = longTermKey(username, realm, await turnPassword(EDGE_SECRET, username));
    expect(verifyIntegrity(allocate, key)).toBe(true);
    expect(verifyIntegrity(refresh, key)).toBe(true);
    expect(getAttribute(refresh, Attr.Lifetime)?.readUInt32BE(0)).toBe(0);

    // coturn's word that the allocation ends now rather than at the lifetime it granted.
    const [granted, released] = [tap.toClient[1]!, tap.toClient[2]!];
    expect(getAttribute(granted, Attr.Lifetime)?.readUInt32BE(0)).toBe(600);
    expect(getAttribute(released, Attr.Lifetime)?.readUInt32BE(0)).toBe(0);
    expect(verifyIntegrity(released, key)).toBe(true);
  });

  it("gives the relay back: with a quota of one allocation per user, the probe's user gets another within seconds, not the 10-minute lifetime", async () => {
    const strict = await startCoturn({ params: (ports) => devParams(EDGE_SECRET, { ports, userQuota: 1 }) });
    try {
      const probe = () => probeAllocate(target(strict), { secret: EDGE_SECRET, userId: "health-probe.quota" });
      expect(await probe()).toMatchObject({ ok: true, released: true });
      // coturn frees a released allocation on a one-second timer; until then each attempt
      // is a prompt refusal (486: the user's quota is spent; 437 when the OS hands a new
      // socket the released allocation's port), so the loop is bounded by the deadline.
      const deadline = Date.now() + 5000;
      let next = await probe();
      while (!next.ok && Date.now() < deadline) {
        expect([486, 437]).toContain(next.code);
        next = await probe();
      }
      expect(next).toMatchObject({ ok: true, released: true });
    } finally {
      await strict.stop();
    }
  });

  it("resends a request whose datagram was lost, with the same transaction id", async () => {
    const tap = await startUdpTap(target(server), { drop: 1 });
    taps.push(tap);
    const result = await probeAllocate({ host: "127.0.0.1", port: tap.port }, { secret: EDGE_SECRET, userId: "health-probe.t3" });
    expect(result).toMatchObject({ ok: true, released: true });
    expect(tap.dropped).toHaveLength(1);
    expect(tap.toServer).toHaveLength(3);
    expect(tap.toServer[0]!.transactionId).toEqual(tap.dropped[0]!.transactionId);
  });

  it("reports that coturn refuses the edge's secret when coturn has another one, though STUN still answers", async () => {
    const rotated = await startCoturn({ params: (ports) => devParams(OTHER_SECRET, { ports }) });
    try {
      // What the STUN-only health check saw: a coturn that looks fine.
      expect(await probeStun(target(rotated))).toBe(true);
      const result = await probeAllocate(target(rotated), { secret: EDGE_SECRET, userId: "health-probe.t4" });
      expect(result).toMatchObject({ ok: false, code: 401 });
      expect(result.ok ? "" : result.reason).toContain(REFUSED_SECRET_REASON);
    } finally {
      await rotated.stop();
    }
  });

  it("passes during a rotation window, with the edge's secret one of coturn's two", async () => {
    const rotating = await startCoturn({ params: (ports) => devParams(OTHER_SECRET, { ports, secrets: [OTHER_SECRET, EDGE_SECRET] }) });
    try {
      expect(await probeAllocate(target(rotating), { secret: EDGE_SECRET, userId: "health-probe.t5" })).toMatchObject({ ok: true, released: true });
    } finally {
      await rotating.stop();
    }
  });
});
