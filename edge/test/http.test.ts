import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BASE, createRoom } from "./support/socket.ts";

async function json(response: Response) {
  return (await response.json()) as { error?: { code: string; message: string } } & Record<string, unknown>;
}

describe("rooms API", () => {
  it("creates a room with an unguessable id and finds it again", async () => {
    const roomId = await createRoom();
    expect(roomId).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    const response = await exports.default.fetch(`${BASE}/api/rooms/${roomId}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ roomId, participants: 0 });
  });

  it("gives every room its own id", async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => createRoom()));
    expect(new Set(ids).size).toBe(20);
  });

  it.each([
    ["a well-formed id nobody created", "/api/rooms/abcd-efgh-ijkl"],
    ["a malformed id", "/api/rooms/..%2F..%2Fetc"],
    ["a socket to a room nobody created", "/api/rooms/abcd-efgh-ijkl/ws"],
  ])("answers %s with 404 room_not_found", async (_name, path) => {
    const response = await exports.default.fetch(`${BASE}${path}`, { headers: { upgrade: "websocket" } });
    expect(response.status).toBe(404);
    expect((await json(response)).error?.code).toBe("room_not_found");
  });

  it("refuses a plain GET on the socket endpoint with 426", async () => {
    const roomId = await createRoom();
    const response = await exports.default.fetch(`${BASE}/api/rooms/${roomId}/ws`);
    expect(response.status).toBe(426);
    expect((await json(response)).error?.code).toBe("bad_frame");
  });

  it("answers unknown API paths with a JSON 404", async () => {
    const response = await exports.default.fetch(`${BASE}/api/nope`);
    expect(response.status).toBe(404);
    expect((await json(response)).error?.code).toBe("not_found");
  });
});
