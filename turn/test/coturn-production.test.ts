import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintTurnCredential } from "../src/credentials.ts";
import { DEFAULT_LIMITS, type TurnConfigParams } from "../src/render-config.ts";
import type { TurnPorts } from "../src/ports.ts";
import { coturnAvailable, makeTestCertificate, startCoturn, type RunningCoturn } from "./support/coturn.ts";
import { TurnClient, tlsBinding } from "./support/turn-client.ts";

/**
 * The production template against real coturn, bound to loopback only for the test:
 * REST API credentials, rotation with two secrets, and the relay's refusal to reach
 * loopback, private or metadata addresses.
 */

const CURRENT = "current-secret-0123456789abcdef0123";
const PREVIOUS = "previous-secret-0123456789abcdef012";
const UNKNOWN = "unknown-secret-0123456789abcdef01234";

function productionOnLoopback(secrets: string[], tls?: { cert: string; pkey: string }) {
  return (ports: TurnPorts): TurnConfigParams => ({
    variant: "production",
    realm: "turn.test",
    secrets,
    ports,
    listeningIps: ["127.0.0.1"],
    relayIps: ["127.0.0.1"],
    prometheus: false,
    extraDeniedPeerCidrs: [],
    ...DEFAULT_LIMITS,
    ...(tls ? { tls } : {}),
  });
}

const clients: TurnClient[] = [];
async function client(server: RunningCoturn): Promise<TurnClient> {
  const c = await TurnClient.open({ host: server.host, port: server.ports.listeningPort });
  clients.push(c);
  return c;
}

describe.runIf(coturnAvailable())("coturn with the production template", () => {
  let rotating: RunningCoturn;
  let certificate: Buffer;

  beforeAll(async () => {
    rotating = await startCoturn({
      params: async (ports, dir) => {
        const tls = await makeTestCertificate(dir);
        certificate = await readFile(tls.cert);
        return productionOnLoopback([CURRENT, PREVIOUS], tls)(ports);
      },
    });
  });
  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await rotating?.stop();
  });

  it("gives an allocation to a valid REST API credential, on a relay port from the configured range", async () => {
    const { username, credential } = await mintTurnCredential({ secret: CURRENT, userId: "alice", ttlSeconds: 600 });
    const result = await (await client(rotating)).allocate(username, credential);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    // The server signed its answer with the same long-term key: it derived our password.
    expect(result.integrityOk).toBe(true);
    expect(result.relayed.address).toBe("127.0.0.1");
    expect(result.relayed.port).toBeGreaterThanOrEqual(rotating.ports.relayMinPort);
    expect(result.relayed.port).toBeLessThanOrEqual(rotating.ports.relayMaxPort);
  });

  it("accepts credentials from either secret during a rotation window, and no other", async () => {
    for (const secret of [CURRENT, PREVIOUS]) {
      const { username, credential } = await mintTurnCredential({ secret, userId: "rotating", ttlSeconds: 600 });
      expect((await (await client(rotating)).allocate(username, credential)).ok).toBe(true);
    }
    const stranger = await mintTurnCredential({ secret: UNKNOWN, userId: "rotating", ttlSeconds: 600 });
    const refused = await (await client(rotating)).allocate(stranger.username, stranger.credential);
    expect(refused).toMatchObject({ ok: false, code: 401 });
  });

  it("refuses an expired credential with 401", async () => {
    const expired = await mintTurnCredential({ secret: CURRENT, userId: "late", ttlSeconds: 60, now: Date.now() - 3_600_000 });
    expect(expired.expiresAt * 1000).toBeLessThan(Date.now());
    expect(await (await client(rotating)).allocate(expired.username, expired.credential)).toMatchObject({ ok: false, code: 401 });
  });

  it("refuses a forged credential (wrong HMAC, or a username edited after minting) with 401", async () => {
    const { username, credential } = await mintTurnCredential({ secret: CURRENT, userId: "mallory", ttlSeconds: 600 });
    const flipped = Buffer.from(credential, "base64");
    flipped[0]! ^= 0x01;
    expect(await (await client(rotating)).allocate(username, flipped.toString("base64"))).toMatchObject({ ok: false, code: 401 });
    // Pushing the expiry out without re-signing must not work either.
    const [, user] = username.split(":");
    const extended = `${Math.floor(Date.now() / 1000) + 86_400 * 365}:${user}`;
    expect(await (await client(rotating)).allocate(extended, credential)).toMatchObject({ ok: false, code: 401 });
  });

  it.each([
    ["loopback", "127.0.0.1"],
    ["RFC 1918", "10.1.2.3"],
    ["RFC 1918", "192.168.1.1"],
    ["CGNAT", "100.64.0.1"],
    ["cloud metadata (link-local)", "169.254.169.254"],
    ["this-network", "0.0.0.1"],
    ["multicast", "224.0.0.251"],
  ])("refuses to relay to a %s peer (%s) with 403", async (_kind, peer) => {
    const { username, credential } = await mintTurnCredential({ secret: CURRENT, userId: "peer-check", ttlSeconds: 600 });
    const c = await client(rotating);
    expect((await c.allocate(username, credential)).ok).toBe(true);
    expect(await c.createPermission(peer)).toMatchObject({ ok: false, code: 403 });
  });

  // CreatePermission only installs state in coturn: nothing is sent to these addresses
  // (and the test's network namespace has no route to them). They sit just outside the
  // denied ranges, so an over-broad line, which would break every call, fails here.
  it.each(["11.0.0.1", "100.128.0.1", "172.32.0.1", "192.0.3.1", "198.20.0.1", "223.255.255.254"])(
    "allows a permission for a public peer just outside the denied ranges (%s)",
    async (peer) => {
      const { username, credential } = await mintTurnCredential({ secret: CURRENT, userId: "public-peer", ttlSeconds: 600 });
      const c = await client(rotating);
      expect((await c.allocate(username, credential)).ok).toBe(true);
      expect(await c.createPermission(peer)).toEqual({ ok: true });
    },
  );

  it("serves STUN over TLS 1.2 or newer on the TLS port", async () => {
    const answer = await tlsBinding({ host: rotating.host, port: rotating.ports.tlsListeningPort }, certificate);
    expect(["TLSv1.2", "TLSv1.3"]).toContain(answer.protocol);
    expect(answer.mapped.address).toBe("127.0.0.1");
  });

  it("ends the rotation window: with only the new secret, the old one's credentials are refused", async () => {
    const after = await startCoturn({ params: productionOnLoopback([CURRENT]) });
    try {
      const old = await mintTurnCredential({ secret: PREVIOUS, userId: "bob", ttlSeconds: 600 });
      const fresh = await mintTurnCredential({ secret: CURRENT, userId: "bob", ttlSeconds: 600 });
      const c1 = await TurnClient.open({ host: after.host, port: after.ports.listeningPort });
      const c2 = await TurnClient.open({ host: after.host, port: after.ports.listeningPort });
      clients.push(c1, c2);
      expect(await c1.allocate(old.username, old.credential)).toMatchObject({ ok: false, code: 401 });
      expect((await c2.allocate(fresh.username, fresh.credential)).ok).toBe(true);
    } finally {
      await after.stop();
    }
  });

  it("keeps the secrets out of its log", async () => {
    expect(rotating.log()).not.toContain(CURRENT);
    expect(rotating.log()).not.toContain(PREVIOUS);
  });
});
