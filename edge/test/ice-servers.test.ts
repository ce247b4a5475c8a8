import { NODE_PROTOCOL_VERSION, PROTOCOL_VERSION, type IceServer } from "@meridian/protocol";
import { describe, expect, it } from "vitest";
import { turnPassword } from "@meridian/turn/credentials";
import { DEFAULT_TURN_TTL_S, MAX_TURN_TTL_S, turnTtlSeconds } from "../src/turn/ice-servers.ts";
import { nodeLoad } from "./support/fixtures.ts";
import { TestSocket, api, createRoom, guestToken, nodeHeaders, participant } from "./support/socket.ts";

/** TURN nodes as the agent registers them (scripted here; the real agent is tested in turn/). */
async function turnNode(nodeId: string, lat: number, lon: number, host: string): Promise<TestSocket> {
  const socket = await TestSocket.open("/api/nodes/connect", nodeHeaders(nodeId));
  await socket.ok("register", {
    protocol: NODE_PROTOCOL_VERSION,
    nodeId,
    kind: "turn",
    version: "test",
    region: nodeId,
    lat,
    lon,
    load: nodeLoad({ workers: 1 }),
    urls: [`turn:${host}:3478?transport=udp`, `turn:${host}:3478?transport=tcp`, `turns:${host}:443?transport=tcp`],
  });
  return socket;
}

describe("ICE servers for room members", () => {
  it("gives each member the two nearest TURN nodes with a short-lived REST credential", async () => {
    // The test pool's request.cf has no coordinates, so nearest = least utilized; all equal → by id.
    await turnNode("turn-a", 50.1, 8.7, "198.51.100.1");
    await turnNode("turn-b", 48.8, 2.3, "198.51.100.2");
    await turnNode("turn-c", 1.3, 103.8, "198.51.100.3");
    const { roomId, token } = await createRoom();
    const socket = await TestSocket.room(roomId, token);
    const hello = await socket.ok<{ participantId: string; iceServers?: IceServer[] }>("hello", { protocol: PROTOCOL_VERSION });
    expect(hello.iceServers).toBeUndefined();
    const joined = await socket.ok<{ iceServers: IceServer[] }>("join", {});
    const turn = joined.iceServers.filter((s) => s.username);
    expect(turn).toHaveLength(2);
    const stun = joined.iceServers.find((s) => !s.username)!;
    expect(stun.urls).toEqual(expect.arrayContaining([expect.stringMatching(/^stun:198\.51\.100\.\d:3478$/)]));
    for (const server of turn) {
      expect(server.urls).toEqual(expect.arrayContaining([expect.stringMatching(/^turn:.*transport=udp$/), expect.stringMatching(/^turns:/)]));
      const [expiry, user] = server.username!.split(":");
      expect(user).toBe(hello.participantId);
      const ttl = Number(expiry) - Date.now() / 1000;
      expect(ttl).toBeGreaterThan(500);
      expect(ttl).toBeLessThanOrEqual(600);
      // What coturn computes with its static-auth-secret (the current one, first in TURN_SECRET).
      expect(server.credential).toBe(await turnPassword("test-turn-secret-current", server.username!));
    }
    // A refresh mints a new credential for the same member.
    const fresh = await socket.ok<{ iceServers: IceServer[] }>("iceServers", {});
    expect(fresh.iceServers.filter((s) => s.username)).toHaveLength(2);
  });

  it("leaves out TURN nodes that are draining or gone", async () => {
    const healthy = await turnNode("turn-ok", 10, 10, "198.51.100.10");
    const draining = await turnNode("turn-drain", 10, 10, "198.51.100.11");
    draining.send({ kind: "evt", event: "load", data: nodeLoad({ state: "draining", workers: 1 }) });
    const gone = await turnNode("turn-gone", 10, 10, "198.51.100.12");
    gone.close();
    await gone.closed;
    // Any answer on that socket means its load report (sent before) was handled.
    expect((await draining.request("register", {})).error?.code).toBe("invalid_params");
    const { roomId, token } = await createRoom();
    const socket = await TestSocket.room(roomId, token);
    await socket.ok("hello", { protocol: PROTOCOL_VERSION });
    const joined = await socket.ok<{ iceServers: IceServer[] }>("join", {});
    const hosts = joined.iceServers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls])).join(" ");
    expect(hosts).not.toContain("198.51.100.11");
    expect(hosts).not.toContain("198.51.100.12");
    void healthy;
  });

  it("gives nothing to anyone without a room token", async () => {
    const { roomId } = await createRoom();
    // No HTTP endpoint hands out ICE servers, and the socket needs a token.
    for (const path of ["/api/ice-servers", `/api/rooms/${roomId}/ice-servers`, "/api/turn"]) {
      expect((await api(path)).status).toBe(404);
    }
    const refused = await api(`/api/rooms/${roomId}/ws`, { headers: { upgrade: "websocket", "sec-websocket-protocol": "meridian.v1" } });
    expect(refused.status).toBe(401);
    // A socket with a token gets no credentials before it said hello as a member.
    const { roomId: other, token } = await createRoom();
    const socket = await TestSocket.room(other, token);
    expect((await socket.request("iceServers", {})).error?.code).toBe("not_joined");
  });

  it("gives nothing to a pre-join page, a guest in the lobby or a guest of a locked room; an admitted guest gets them", async () => {
    await turnNode("turn-members", 20, 20, "198.51.100.20");
    const { roomId, token } = await createRoom({ lobby: true });
    const host = await participant(roomId, token, { name: "Host" });
    const guest = await TestSocket.room(roomId, await guestToken(roomId, "Guest"));
    const hello = await guest.ok<{ participantId: string; iceServers?: IceServer[] }>("hello", { protocol: PROTOCOL_VERSION });
    expect(hello.iceServers).toBeUndefined();
    expect((await guest.request("iceServers", {})).error?.code).toBe("not_joined");
    expect(await guest.ok("join", {})).toEqual({ status: "lobby" });
    expect((await guest.request("iceServers", {})).error?.code).toBe("not_joined");

    // Locked: refused at the door, with nothing to relay through.
    await host.socket.ok("updateSettings", { locked: true });
    const late = await TestSocket.room(roomId, await guestToken(roomId, "Late"));
    await late.ok("hello", { protocol: PROTOCOL_VERSION });
    const refused = await late.request("join", {});
    expect(refused.error?.code).toBe("room_locked");
    expect(refused.result).toBeUndefined();
    expect((await late.request("iceServers", {})).error?.code).toBe("not_joined");

    // Admitted: in the call, so TURN credentials for this participant.
    await host.socket.ok("admit", { participantId: hello.participantId });
    await guest.nextEvent("admitted");
    const fresh = await guest.ok<{ iceServers: IceServer[] }>("iceServers", {});
    const turn = fresh.iceServers.filter((s) => s.username);
    expect(turn.length).toBeGreaterThan(0);
    expect(turn[0]!.username!.split(":")[1]).toBe(hello.participantId);
  });

  it("keeps the credential lifetime between a minute and a day, ten minutes unless configured", () => {
    expect(turnTtlSeconds({ TURN_CREDENTIAL_TTL_S: "" })).toBe(DEFAULT_TURN_TTL_S);
    expect(DEFAULT_TURN_TTL_S).toBeLessThanOrEqual(600);
    expect(turnTtlSeconds({ TURN_CREDENTIAL_TTL_S: "300" })).toBe(300);
    expect(turnTtlSeconds({ TURN_CREDENTIAL_TTL_S: "5" })).toBe(60);
    expect(turnTtlSeconds({ TURN_CREDENTIAL_TTL_S: "31536000" })).toBe(MAX_TURN_TTL_S);
    expect(turnTtlSeconds({ TURN_CREDENTIAL_TTL_S: "soon" })).toBe(DEFAULT_TURN_TTL_S);
  });
});
