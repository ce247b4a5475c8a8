import { PROTOCOL_VERSION } from "@meridian/protocol";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { signWith, joinClaims, tamper } from "./support/jwt.ts";
import { HttpRefusal, TestSocket, api, createIntegratorRoom, createRoom, guestToken, mintToken, nodeHeaders, participant, testEnv } from "./support/socket.ts";

/** Every way a token can be wrong, against every place that takes one. */

async function socketStatus(roomId: string, token: string): Promise<number> {
  try {
    const socket = await TestSocket.room(roomId, token);
    socket.close();
    return 101;
  } catch (error) {
    if (error instanceof HttpRefusal) return error.status;
    throw error;
  }
}

async function profileStatus(token: string): Promise<number> {
  return (await api("/api/profile", { headers: { authorization: `Bearer ${token}` } })).status;
}

async function profileWriteStatus(token: string): Promise<number> {
  const body = JSON.stringify({ displayName: "Mallory" });
  return (await api("/api/profile", { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body })).status;
}

/** The subject a token claims, if its payload can be read at all. */
function claimedSubject(token: string): string | undefined {
  try {
    return decodeJwt(token).sub;
  } catch {
    return undefined;
  }
}

/** Who the edge takes the bearer of `token` to be when it hands out a token (create, join). */
async function subjectGiven(path: string, token: string): Promise<string> {
  const response = await api(path, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" });
  expect(response.status, path).toBe(201);
  return claimedSubject(((await response.json()) as { token: string }).token)!;
}

describe("join tokens", () => {
  it("are refused when forged, expired, for another room, or otherwise wrong — at the socket, /api/profile (read and write), and lend no identity to create or join", async () => {
    const { roomId, token: hostToken } = await createRoom();
    const { roomId: otherRoom } = await createRoom();
    const cases: Array<[string, string]> = [
      ["a payload edited after signing (guest → host)", tamper(await guestToken(roomId), { role: "host" })],
      ["a payload edited to another room", tamper(hostToken, { room: otherRoom })],
      ["a token signed by a key the edge does not hold", await signWith(testEnv.TEST_RETIRED_SIGNING_KEYS, joinClaims(roomId))],
      ["a token whose kid names the active key but was signed by another", await signWith(testEnv.TEST_RETIRED_SIGNING_KEYS, joinClaims(roomId), { kid: "active-key" })],
      ["an expired token", await signWith(testEnv.SIGNING_KEYS, joinClaims(roomId), { expiresIn: -60 })],
      ["a token for another audience", await signWith(testEnv.SIGNING_KEYS, joinClaims(roomId), { audience: "someone-else" })],
      ["a token from another issuer", await signWith(testEnv.SIGNING_KEYS, joinClaims(roomId), { issuer: "evil" })],
      ["a token with an unknown role", await signWith(testEnv.SIGNING_KEYS, joinClaims(roomId, { role: "admin" }))],
      ["an unsigned (alg none) token", `${btoa(JSON.stringify({ alg: "none" }))}.${btoa(JSON.stringify(joinClaims(roomId)))}.`],
      ["garbage", "not-a-token"],
    ];
    for (const [name, token] of cases) {
      expect(await socketStatus(roomId, token), `socket: ${name}`).toBe(401);
      expect(await profileStatus(token), `profile: ${name}`).toBe(401);
      expect(await profileWriteStatus(token), `profile update: ${name}`).toBe(401);
      // Where a token is optional (creating a room, a guest link), a bad one lends no identity.
      const claimed = claimedSubject(token);
      for (const path of ["/api/rooms", `/api/rooms/${roomId}/join`]) {
        const given = await subjectGiven(path, token);
        expect(given, `${path}: ${name}`).toMatch(/^u_/);
        if (claimed) expect(given, `${path}: ${name}`).not.toBe(claimed);
      }
    }
    // A good token is recognised there: the same person again.
    const hostSubject = claimedSubject(hostToken)!;
    expect(await subjectGiven(`/api/rooms/${roomId}/join`, hostToken)).toBe(hostSubject);
    // A valid token for one room does not open another.
    expect(await socketStatus(otherRoom, hostToken)).toBe(401);
    expect(await socketStatus(roomId, hostToken)).toBe(101);
  });

  it("needs both subprotocols on the socket", async () => {
    const { roomId, token } = await createRoom();
    for (const protocols of [`bearer.${token}`, "meridian.v1", ""]) {
      const response = await api(`/api/rooms/${roomId}/ws`, { headers: { upgrade: "websocket", "sec-websocket-protocol": protocols } });
      expect(response.status).toBe(401);
    }
  });

  it("verifies tokens signed by a previous key until it is removed (kid rotation)", async () => {
    const { roomId } = await createRoom();
    const jwks = (await (await api("/.well-known/jwks.json")).json()) as { keys: Array<{ kid: string; d?: string; kty: string }> };
    expect(jwks.keys.map((k) => k.kid)).toEqual(["active-key", "old-key"]);
    expect(jwks.keys.every((k) => k.d === undefined && k.kty === "EC")).toBe(true);
    const signedBefore = await signWith(testEnv.TEST_OLD_SIGNING_KEYS, joinClaims(roomId));
    expect(await socketStatus(roomId, signedBefore)).toBe(101);
    // New tokens are signed by the first (active) key.
    const fresh = await guestToken(roomId);
    expect(decodeProtectedHeader(fresh)).toMatchObject({ alg: "ES256", kid: "active-key" });
  });

  it("carries the role: a guest cannot do what a host can", async () => {
    const { roomId, token } = await createIntegratorRoom();
    const host = await participant(roomId, token);
    const guest = await participant(roomId, await guestToken(roomId));
    for (const [method, params] of [
      ["kick", { participantId: host.participantId }],
      ["mute", { participantId: host.participantId }],
      ["updateSettings", { locked: true }],
      ["endRoom", {}],
      ["admit", { participantId: host.participantId }],
      ["requestRecording", {}],
    ] as const) {
      expect((await guest.socket.request(method, params)).error?.code, method).toBe("forbidden");
    }
    // A moderator (minted by an integrator) may lock but not end the room.
    const moderator = await participant(roomId, await mintToken(roomId, { subject: "mod-1", role: "moderator", name: "Mo" }));
    expect((await moderator.socket.request("updateSettings", { locked: true })).result).toMatchObject({ locked: true });
    expect((await moderator.socket.request("endRoom", {})).error?.code).toBe("forbidden");
    expect((await moderator.socket.request("kick", { participantId: host.participantId })).error?.code).toBe("forbidden");
  });
});

describe("integrator API", () => {
  const key = () => testEnv.TEST_API_KEY;

  it("creates invitation-only rooms and mints tokens with chosen identity and role", async () => {
    const created = await api("/api/v1/rooms", { method: "POST", headers: { authorization: `Bearer ${key()}` }, body: JSON.stringify({ lobby: true }) });
    expect(created.status).toBe(201);
    const { roomId, settings } = (await created.json()) as { roomId: string; settings: { open: boolean; lobby: boolean } };
    expect(settings).toMatchObject({ open: false, lobby: true });
    // Invitation only: no guest tokens for the link.
    expect((await api(`/api/rooms/${roomId}/join`, { method: "POST" })).status).toBe(403);
    const token = await mintToken(roomId, { subject: "crm-user-42", role: "host", name: "Grace" });
    const socket = await TestSocket.room(roomId, token);
    expect(await socket.ok("hello", { protocol: PROTOCOL_VERSION })).toMatchObject({ role: "host", displayName: "Grace" });
    const profileResponse = await api("/api/profile", { headers: { authorization: `Bearer ${token}` } });
    expect(profileResponse.status).toBe(200);
    // The chosen subject lives in this key's namespace: nobody else's "crm-user-42".
    expect(claimedSubject(token)).toBe(`${testEnv.TEST_API_KEY.split("_")[1]}:crm-user-42`);
  });

  it("mints tokens only for rooms its own key created", async () => {
    const headers = { authorization: `Bearer ${key()}` };
    // A room made in the web app is not an integrator's: no host tokens for it.
    const { roomId: webRoom } = await createRoom();
    const refused = await api(`/api/v1/rooms/${webRoom}/tokens`, { method: "POST", headers, body: JSON.stringify({ subject: "x", role: "host" }) });
    expect(refused.status).toBe(404);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("room_not_found");
    const { roomId: own } = await createIntegratorRoom();
    expect((await api(`/api/v1/rooms/${own}/tokens`, { method: "POST", headers, body: JSON.stringify({ subject: "x", role: "host" }) })).status).toBe(201);
  });

  it.each([
    ["no key", undefined],
    ["a wrong secret for a known id", "mk_acme_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["an unknown id", "mk_nobody_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["a join token instead of a key", "eyJhbGciOiJFUzI1NiJ9.e30.sig"],
  ])("refuses %s with 401", async (_name, presented) => {
    const { roomId } = await createRoom();
    const headers: Record<string, string> = presented ? { authorization: `Bearer ${presented}` } : {};
    expect((await api("/api/v1/rooms", { method: "POST", headers })).status).toBe(401);
    expect((await api(`/api/v1/rooms/${roomId}/tokens`, { method: "POST", headers, body: JSON.stringify({ subject: "x" }) })).status).toBe(401);
  });

  it("validates what it mints", async () => {
    const { roomId } = await createRoom();
    const headers = { authorization: `Bearer ${key()}` };
    for (const body of [{ subject: "" }, { subject: "x", role: "owner" }, { subject: "x", ttlSeconds: 10 * 24 * 3600 }]) {
      expect((await api(`/api/v1/rooms/${roomId}/tokens`, { method: "POST", headers, body: JSON.stringify(body) })).status).toBe(400);
    }
    expect((await api("/api/v1/rooms/abcd-efgh-ijkl/tokens", { method: "POST", headers, body: JSON.stringify({ subject: "x" }) })).status).toBe(404);
  });
});

describe("node credentials", () => {
  async function nodeStatus(headers: Record<string, string>): Promise<number> {
    return (await api("/api/nodes/connect", { headers: { upgrade: "websocket", ...headers } })).status;
  }

  it("accept either secret during a rotation, and node tokens signed by an operator key", async () => {
    expect(await nodeStatus(nodeHeaders("n-rot-1"))).toBe(101);
    expect(await nodeStatus(nodeHeaders("n-rot-2", "rotated-node-secret-9876543210"))).toBe(101);
    const operator = testEnv.TEST_NODE_OPERATOR_KEY;
    const nodeToken = await signWith(operator, {}, { audience: "meridian:node", subject: "n-tok-1", issuer: "" });
    expect(await nodeStatus({ authorization: `Bearer ${nodeToken}`, "x-meridian-node-id": "n-tok-1" })).toBe(101);
    // A node token names its node: it does not admit another id.
    expect(await nodeStatus({ authorization: `Bearer ${nodeToken}`, "x-meridian-node-id": "n-tok-2" })).toBe(401);
    // A room token is not a node credential.
    const { token } = await createRoom();
    expect(await nodeStatus({ authorization: `Bearer ${token}`, "x-meridian-node-id": "n-tok-3" })).toBe(401);
    const expired = await signWith(operator, {}, { audience: "meridian:node", subject: "n-tok-4", issuer: "", expiresIn: -10 });
    expect(await nodeStatus({ authorization: `Bearer ${expired}`, "x-meridian-node-id": "n-tok-4" })).toBe(401);
  });

  it("does not let a join token say hello on behalf of someone else", async () => {
    const { roomId } = await createRoom();
    const socket = await TestSocket.room(roomId, await guestToken(roomId, "Eve"));
    const hello = await socket.ok<{ role: string; displayName: string }>("hello", { protocol: PROTOCOL_VERSION });
    expect(hello).toMatchObject({ role: "guest", displayName: "Eve" });
  });
});
