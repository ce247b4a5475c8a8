import { describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { api, createRoom, guestToken } from "./support/socket.ts";

async function json(response: Response) {
  return (await response.json()) as { error?: { code: string; message: string } } & Record<string, unknown>;
}

describe("rooms API", () => {
  it("creates a room with an unguessable id, a host token for its creator, and finds it again", async () => {
    const { roomId, token } = await createRoom({ lobby: true, capacity: 10 });
    expect(roomId).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    expect(token.split(".")).toHaveLength(3);
    const response = await api(`/api/rooms/${roomId}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ roomId, open: true, lobby: true, locked: false, participants: 0, ended: false });
  });

  it("gives every room its own id", async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => createRoom().then((r) => r.roomId)));
    expect(new Set(ids).size).toBe(20);
  });

  it("refuses a malformed room body with invalid_params", async () => {
    for (const body of ["{", JSON.stringify({ capacity: 0 }), JSON.stringify({ lobby: "yes" })]) {
      const response = await api("/api/rooms", { method: "POST", body });
      expect(response.status).toBe(400);
      expect((await json(response)).error?.code).toBe("invalid_params");
    }
  });

  it("issues a guest token for an open room", async () => {
    const { roomId } = await createRoom();
    const response = await api(`/api/rooms/${roomId}/join`, { method: "POST", body: JSON.stringify({ displayName: "Ada" }) });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ role: "guest", token: expect.any(String), expiresAt: expect.any(Number) });
  });

  it.each([
    ["a well-formed id nobody created", "/api/rooms/abcd-efgh-ijkl", "GET"],
    ["a malformed id", "/api/rooms/..%2F..%2Fetc", "GET"],
    ["a guest token for a room nobody created", "/api/rooms/abcd-efgh-ijkl/join", "POST"],
  ])("answers %s with 404 room_not_found", async (_name, path, method) => {
    const response = await api(path, { method });
    expect(response.status).toBe(404);
    expect((await json(response)).error?.code).toBe("room_not_found");
  });

  it("refuses a socket to a room nobody created (with a valid token for it)", async () => {
    const { roomId, token } = await createRoom();
    const other = "abcd-efgh-ijkl";
    const response = await api(`/api/rooms/${other}/ws`, {
      headers: { upgrade: "websocket", "sec-websocket-protocol": `meridian.v1, bearer.${token}` },
    });
    // The token is for roomId, not for the unknown room: refused before any room is touched.
    expect(response.status).toBe(401);
    expect(roomId).not.toBe(other);
  });

  it("refuses a plain GET on the socket endpoint with 426", async () => {
    const { roomId } = await createRoom();
    const response = await api(`/api/rooms/${roomId}/ws`);
    expect(response.status).toBe(426);
    expect((await json(response)).error?.code).toBe("bad_frame");
  });

  it("answers unknown API paths with a JSON 404", async () => {
    const response = await api("/api/nope");
    expect(response.status).toBe(404);
    expect((await json(response)).error?.code).toBe("not_found");
  });

  it("keeps a returning browser's identity when it presents its previous token", async () => {
    const { roomId: first, token } = await createRoom();
    const { roomId: second } = await createRoom();
    const subjectOf = (jwt: string) => (decodeJwt(jwt) as { sub: string }).sub;
    const response = await api(`/api/rooms/${second}/join`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    const guest = ((await response.json()) as { token: string }).token;
    expect(subjectOf(guest)).toBe(subjectOf(token));
    expect(subjectOf(await guestToken(first))).not.toBe(subjectOf(token));
  });
});
