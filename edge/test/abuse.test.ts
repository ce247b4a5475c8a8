import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { KEEPALIVE_PING, PROTOCOL_VERSION } from "@meridian/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../src/middleware/limits.ts";
import type { RoomDO } from "../src/room/room-do.ts";
import { FakeNode, closeFakeNodes } from "./support/fake-node.ts";
import { signWith, joinClaims } from "./support/jwt.ts";
import { HttpRefusal, TestSocket, api, createIntegratorRoom, createRoom, guestToken, mintToken, participant, testEnv } from "./support/socket.ts";

/**
 * What outside testing found, as an attacker or a careless client would do it, kept from
 * coming back: sockets that lock a room, nesting that overflows stacks, unbounded bodies,
 * floods of rooms and tokens, refusals a client cannot match, tokens that outlive themselves.
 */

afterEach(closeFakeNodes);

const stub = (roomId: string) => env.ROOMS.get(env.ROOMS.idFromName(roomId));

/** Opens a room socket, or returns the HTTP status it was refused with. */
async function tryOpen(roomId: string, token: string, address: string): Promise<TestSocket | number> {
  try {
    return await TestSocket.room(roomId, token, { "cf-connecting-ip": address });
  } catch (error) {
    if (error instanceof HttpRefusal) return error.status;
    throw error;
  }
}

async function joinsAtOnce(roomId: string, token: string): Promise<void> {
  const p = await participant(roomId, token);
  expect(p.participantId).toBeTruthy();
}

describe("one client cannot lock a room", () => {
  it("one guest token opening hundreds of sockets gets three; the next guest and the host join at once", async () => {
    const { roomId, token: hostToken } = await createRoom();
    const attackerToken = await guestToken(roomId);
    const opened: TestSocket[] = [];
    const refusals: number[] = [];
    for (let i = 0; i < 200; i++) {
      const result = await tryOpen(roomId, attackerToken, "203.0.113.66");
      if (typeof result === "number") refusals.push(result);
      else opened.push(result);
    }
    expect(opened).toHaveLength(3);
    expect(new Set(refusals)).toEqual(new Set([429]));
    // They only ping, never hello.
    for (const socket of opened) socket.sendRaw(KEEPALIVE_PING);
    await joinsAtOnce(roomId, await guestToken(roomId));
    await joinsAtOnce(roomId, hostToken);
  });

  it("many guest tokens from one address get ten waiting sockets; others, and the host, still get in", async () => {
    const { roomId, token: hostToken } = await createRoom({ capacity: 10 });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const token = await guestToken(roomId);
      const result = await tryOpen(roomId, token, "203.0.113.77");
      statuses.push(typeof result === "number" ? result : 101);
    }
    expect(statuses.filter((s) => s === 101)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    await joinsAtOnce(roomId, await guestToken(roomId));
    await joinsAtOnce(roomId, hostToken);
  });

  it("waiting sockets from many addresses fill what the room allows beyond its capacity, but never keep the host out", async () => {
    const { roomId, token: hostToken } = await createRoom({ capacity: 2 });
    let refusedWith: number | undefined;
    for (let i = 0; i < 40 && refusedWith === undefined; i++) {
      const result = await tryOpen(roomId, await guestToken(roomId), `192.0.2.${i}`);
      if (typeof result === "number") refusedWith = result;
    }
    // Capacity 2 + 20 waiting, then the room is full for guests.
    expect(refusedWith).toBe(503);
    await joinsAtOnce(roomId, hostToken);
  });

  it("closes a socket that only pings and never says hello, once the hello deadline passes", async () => {
    const { roomId, token } = await createRoom();
    const silent = await TestSocket.room(roomId, await guestToken(roomId));
    silent.sendRaw(KEEPALIVE_PING);
    const talking = await participant(roomId, token);
    // The deadline counts from the socket's opening, whatever it sent since.
    await runInDurableObject(stub(roomId), async (_instance: RoomDO, state) => {
      for (const ws of state.getWebSockets()) {
        const session = ws.deserializeAttachment() as Record<string, unknown>;
        ws.serializeAttachment({ ...session, openedAt: Date.now() - 11_000 });
      }
    });
    await evictDurableObject(stub(roomId));
    silent.sendRaw(KEEPALIVE_PING);
    expect(await runDurableObjectAlarm(stub(roomId))).toBe(true);
    expect((await silent.closed).code).toBe(4007);
    // Someone who said hello is not touched by it.
    expect((await talking.socket.request("chatHistory", {})).error).toBeUndefined();
  });
});

describe("nesting never reaches the node", () => {
  const deepJson = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

  it.each([2_000, 3_000])("answers %i-level capabilities and RTP parameters with invalid_params, under the request id, the node untouched", async (depth) => {
    const node = await FakeNode.connect(`deep-${depth}`);
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    const before = node.requests.length;
    const frames = [
      `{"kind":"req","id":901,"method":"createTransport","params":{"direction":"recv","rtpCapabilities":{"codecs":[{"kind":"audio","mimeType":"audio/opus","clockRate":48000,"parameters":${deepJson(depth)}}]}}}`,
      `{"kind":"req","id":902,"method":"produce","params":{"transportId":"t","kind":"audio","source":"mic","rtpParameters":{"codecs":[{"mimeType":"audio/opus","payloadType":100,"clockRate":48000,"parameters":${deepJson(depth)}}]}}}`,
    ];
    for (const [i, frame] of frames.entries()) {
      host.socket.sendRaw(frame);
      const answer = await host.socket.next((f) => f.kind === "res" && f.id === 901 + i, 5000);
      expect(answer).toMatchObject({ error: { code: "invalid_params" } });
    }
    // Shallow but not what RTP carries: an object as a codec parameter.
    const shallow = await host.socket.request("createTransport", {
      direction: "recv",
      rtpCapabilities: { codecs: [{ kind: "audio", mimeType: "audio/opus", clockRate: 48000, parameters: { a: { b: 1 } } }] },
    });
    expect(shallow.error?.code).toBe("invalid_params");
    expect(node.requests.slice(before)).toEqual([]);
  });
});

describe("HTTP bodies are bounded and validated", () => {
  const host = async () => (await createRoom()).token;
  const endpoints = async (): Promise<Array<[string, string, Record<string, string>]>> => {
    const { roomId } = await createIntegratorRoom();
    const apiKey = { authorization: `Bearer ${testEnv.TEST_API_KEY}` };
    return [
      ["POST", "/api/rooms", {}],
      ["POST", `/api/rooms/${(await createRoom()).roomId}/join`, {}],
      ["PUT", "/api/profile", { authorization: `Bearer ${await host()}` }],
      ["POST", "/api/v1/rooms", apiKey],
      ["POST", `/api/v1/rooms/${roomId}/tokens`, apiKey],
    ];
  };

  it("refuses 10 MiB and 50 MiB bodies on every POST/PUT endpoint with 413, with or without a Content-Length", async () => {
    for (const [method, path, headers] of await endpoints()) {
      for (const size of [10 << 20, 50 << 20]) {
        const response = await api(path, { method, headers, body: `{"pad":"${"x".repeat(size)}"}` });
        expect(response.status, `${method} ${path}`).toBe(413);
        expect(await response.json()).toMatchObject({ error: { code: "body_too_large" } });
      }
      // Streamed, so no Content-Length says how big it is.
      const chunks = Array.from({ length: 64 }, () => new TextEncoder().encode("x".repeat(1024)));
      const stream = new ReadableStream({ pull: (c) => (chunks.length ? c.enqueue(chunks.shift()!) : c.close()) });
      const streamed = await api(path, { method, headers, body: stream, duplex: "half" } as RequestInit);
      expect(streamed.status, `${method} ${path} streamed`).toBe(413);
    }
    expect(MAX_BODY_BYTES).toBeLessThan(10 << 20);
  });

  it("refuses a body that is not a JSON object, or not declared as JSON", async () => {
    for (const [method, path, headers] of await endpoints()) {
      for (const body of ["[]", "[1,2]", '"room"', "42", "null"]) {
        const response = await api(path, { method, headers, body });
        expect(response.status, `${method} ${path} ${body}`).toBe(400);
        expect(await response.json()).toMatchObject({ error: { code: "invalid_params" } });
      }
      expect((await api(path, { method, headers, body: "{nope" })).status).toBe(400);
      expect((await api(path, { method, headers: { ...headers, "content-type": "text/plain" }, body: "{}" })).status).toBe(415);
    }
  });
});

describe("per-client rate limits", () => {
  /** The limiter's windows are whole minutes: a burst that crosses into the next may pass up to twice the limit. */
  const minute = () => Math.floor(Date.now() / 60_000);

  async function until429(send: () => Promise<Response>, limit: number): Promise<{ allowed: number; refusal: Response }> {
    const started = minute();
    for (let allowed = 0; allowed <= 2 * limit; allowed++) {
      const response = await send();
      if (response.status !== 429) continue;
      if (minute() === started) expect(allowed).toBe(limit);
      else expect(allowed).toBeLessThanOrEqual(2 * limit);
      return { allowed, refusal: response };
    }
    throw new Error(`no 429 within ${2 * limit + 1} requests`);
  }

  it("room creation: 30 a minute from one address, then 429 with Retry-After; another address is unaffected", async () => {
    const address = "198.51.100.1";
    const { refusal } = await until429(() => api("/api/rooms", { method: "POST", headers: { "cf-connecting-ip": address } }), 30);
    expect(Number(refusal.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refusal.json()).toMatchObject({ error: { code: "rate_limited" } });
    expect((await api("/api/rooms", { method: "POST", headers: { "cf-connecting-ip": "198.51.100.2" } })).status).toBe(201);
  });

  it("guest tokens: 120 a minute from one address", async () => {
    const { roomId } = await createRoom();
    await until429(() => api(`/api/rooms/${roomId}/join`, { method: "POST", headers: { "cf-connecting-ip": "198.51.100.3" } }), 120);
  });

  it("profile writes: 30 a minute per user", async () => {
    const { token } = await createRoom();
    const put = () => api("/api/profile", { method: "PUT", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ displayName: "Ada" }) });
    await until429(put, 30);
  });

  it("socket upgrades: 300 a minute from one address, counted before the token is even read", async () => {
    const { roomId } = await createRoom();
    const upgrade = () => api(`/api/rooms/${roomId}/ws`, { headers: { upgrade: "websocket", "cf-connecting-ip": "198.51.100.4" } });
    await until429(upgrade, 300);
  });
});

describe("tokens admit; a socket outlives its token only for what it already has", () => {
  async function expire(roomId: string): Promise<void> {
    await runInDurableObject(stub(roomId), async (_instance: RoomDO, state) => {
      for (const ws of state.getWebSockets()) {
        const session = ws.deserializeAttachment() as { claims: Record<string, unknown> };
        ws.serializeAttachment({ ...session, claims: { ...session.claims, exp: Math.floor(Date.now() / 1000) - 1 } });
      }
    });
  }

  it("after expiry: chat goes on, TURN credentials and joining need a renewed token", async () => {
    const { roomId } = await createIntegratorRoom();
    const token = await mintToken(roomId, { subject: "ada", name: "Ada", role: "guest" });
    const ada = await participant(roomId, token);
    const waiting = await TestSocket.room(roomId, await mintToken(roomId, { subject: "bob", role: "guest" }));
    await waiting.ok("hello", { protocol: PROTOCOL_VERSION });
    await expire(roomId);
    // Hibernation reloads attachments from storage: the expiry holds across it.
    await evictDurableObject(stub(roomId));

    expect((await ada.socket.request("sendChat", { clientId: "c1", text: "still here" })).error).toBeUndefined();
    expect((await ada.socket.request("iceServers", {})).error?.code).toBe("unauthorized");
    expect((await waiting.request("join", {})).error?.code).toBe("unauthorized");

    // Someone else's token, or another room's, does not renew it.
    expect((await ada.socket.request("renewToken", { token: await mintToken(roomId, { subject: "eve" }) })).error?.code).toBe("forbidden");
    const elsewhere = await createIntegratorRoom();
    expect((await ada.socket.request("renewToken", { token: await mintToken(elsewhere.roomId, { subject: "ada" }) })).error?.code).toBe("unauthorized");
    expect((await ada.socket.request("renewToken", { token: "not.a.jwt" })).error?.code).toBe("unauthorized");

    const renewed = await ada.socket.ok<{ expiresAt: number }>("renewToken", { token: await mintToken(roomId, { subject: "ada" }) });
    expect(renewed.expiresAt * 1000).toBeGreaterThan(Date.now());
    expect((await ada.socket.request("iceServers", {})).error).toBeUndefined();
  });

  it("an expired token opens no socket", async () => {
    const { roomId } = await createRoom();
    const expired = await signWith(env.SIGNING_KEYS, joinClaims(roomId), { subject: "late", expiresIn: -60 });
    expect(await tryOpen(roomId, expired, "198.51.100.9")).toBe(401);
  });
});
