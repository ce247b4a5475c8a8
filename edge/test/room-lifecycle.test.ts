import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { PROTOCOL_VERSION } from "@meridian/protocol";
import { describe, expect, it } from "vitest";
import type { RoomDO } from "../src/room/room-do.ts";
import { roomConfig } from "../src/room/room-config.ts";
import { HttpRefusal, TestSocket, api, createIntegratorRoom, createRoom, guestToken, mintToken, participant } from "./support/socket.ts";

const stub = (roomId: string) => env.ROOMS.get(env.ROOMS.idFromName(roomId));

describe("participants, roles and presence", () => {
  it("shows each joiner to the others with name, role, avatar and presence", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { name: "Hana" });
    const guest = await participant(roomId, await guestToken(roomId), { name: "Gus" });
    const joined = await host.socket.nextEvent("peerJoined");
    expect(joined.data).toMatchObject({
      peer: { id: guest.participantId, displayName: "Gus", role: "guest", presence: "connected", avatar: { initials: "G" } },
    });
    expect(joined.seq).toBeGreaterThan(0);
    expect(await (await api(`/api/rooms/${roomId}`)).json()).toMatchObject({ participants: 2 });
  });

  it("uses the profile's name and avatar when the user saved one", async () => {
    const { roomId, token } = await createRoom();
    const put = await api("/api/profile", {
      method: "PUT",
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ displayName: "Dr. Hopper", avatar: { color: "#123abc", initials: "GH" } }),
    });
    expect(put.status).toBe(200);
    const watcher = await participant(roomId, await guestToken(roomId));
    const socket = await TestSocket.room(roomId, token);
    expect(await socket.ok("hello", { protocol: PROTOCOL_VERSION })).toMatchObject({ displayName: "Dr. Hopper" });
    await socket.ok("join", {});
    expect((await watcher.socket.nextEvent("peerJoined")).data).toMatchObject({
      peer: { displayName: "Dr. Hopper", avatar: { color: "#123abc", initials: "GH" }, role: "host" },
    });
  });

  it("refuses joins past the room's capacity with room_full", async () => {
    const { roomId, token } = await createRoom({ capacity: 2 });
    await participant(roomId, token);
    await participant(roomId, await guestToken(roomId));
    const third = await participant(roomId, await guestToken(roomId), { join: false });
    expect((await third.socket.request("join", {})).error).toMatchObject({ code: "room_full" });
  });

  it("lets only hosts and moderators into a locked room", async () => {
    const { roomId, token } = await createIntegratorRoom();
    const host = await participant(roomId, token);
    expect(await host.socket.ok("updateSettings", { locked: true })).toMatchObject({ locked: true });
    const guest = await participant(roomId, await guestToken(roomId), { join: false });
    expect((await guest.socket.request("join", {})).error?.code).toBe("room_locked");
    const moderator = await participant(roomId, await mintToken(roomId, { subject: "m", role: "moderator" }), { join: false });
    expect(await moderator.socket.ok("join", {})).toMatchObject({ status: "joined" });
  });
});

describe("lobby", () => {
  it("tells a host who arrives after guests began to wait who is waiting", async () => {
    const { roomId } = await createIntegratorRoom({ lobby: true });
    const waiting = await participant(roomId, await guestToken(roomId, "Early"), { join: false });
    expect(await waiting.socket.ok("join", {})).toEqual({ status: "lobby" });
    const host = await participant(roomId, await mintToken(roomId, { subject: "late-host", role: "host" }));
    expect((await host.socket.nextEvent("lobbyChanged")).data).toMatchObject({ waiting: [{ id: waiting.participantId, displayName: "Early" }] });
  });

  it("keeps guests waiting until a host admits or denies them", async () => {
    const { roomId, token } = await createRoom({ lobby: true });
    const host = await participant(roomId, token);
    const first = await participant(roomId, await guestToken(roomId, "First"), { join: false });
    expect(await first.socket.ok("join", {})).toEqual({ status: "lobby" });
    const lobby = await host.socket.nextEvent("lobbyChanged");
    expect(lobby.data).toMatchObject({ waiting: [{ id: first.participantId, displayName: "First" }] });
    // Waiting guests see nothing of the call and cannot act in it.
    expect((await first.socket.request("sendChat", { clientId: "x", text: "let me in" })).error?.code).toBe("not_joined");

    await host.socket.ok("admit", { participantId: first.participantId });
    const admitted = await first.socket.nextEvent("admitted");
    expect(admitted.data).toMatchObject({ peers: [{ role: "host" }] });
    expect((await host.socket.nextEvent("peerJoined")).data).toMatchObject({ peer: { id: first.participantId } });

    const second = await participant(roomId, await guestToken(roomId, "Second"), { join: false });
    await second.socket.ok("join", {});
    await host.socket.nextEvent("lobbyChanged");
    await host.socket.ok("deny", { participantId: second.participantId });
    expect((await second.socket.nextEvent("removed")).data).toEqual({ reason: "denied" });
    expect((await second.socket.closed).code).toBe(4005);
  });

  it("admits everyone waiting when the lobby is turned off", async () => {
    const { roomId, token } = await createRoom({ lobby: true });
    const host = await participant(roomId, token);
    const waiting = await Promise.all(
      [1, 2].map(async (i) => {
        const p = await participant(roomId, await guestToken(roomId, `W${i}`), { join: false });
        await p.socket.ok("join", {});
        return p;
      }),
    );
    await host.socket.ok("updateSettings", { lobby: false });
    for (const p of waiting) expect((await p.socket.nextEvent("admitted")).data).toMatchObject({ peers: expect.any(Array) });
  });
});

describe("host actions", () => {
  it("kicks a participant, who cannot come back with the same identity", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    const guestJwt = await guestToken(roomId);
    const guest = await participant(roomId, guestJwt);
    await host.socket.nextEvent("peerJoined");
    await host.socket.ok("kick", { participantId: guest.participantId });
    expect((await guest.socket.nextEvent("removed")).data).toEqual({ reason: "kicked" });
    expect((await guest.socket.closed).code).toBe(4003);
    expect((await host.socket.nextEvent("peerLeft")).data).toEqual({ peerId: guest.participantId, reason: "kicked" });
    // Coming back with the same identity: told on the socket (browsers cannot read an HTTP refusal).
    const back = await TestSocket.room(roomId, guestJwt);
    expect((await back.nextEvent("removed")).data).toEqual({ reason: "kicked" });
    expect((await back.closed).code).toBe(4003);
    const fresh = await TestSocket.room(roomId, await guestToken(roomId, "Someone else"));
    expect(await fresh.ok("hello", { protocol: PROTOCOL_VERSION })).toMatchObject({ role: "guest" });
    expect((await host.socket.request("kick", { participantId: host.participantId })).error?.code).toBe("forbidden");
  });

  it("ends the room for everyone; nobody can enter it again", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    const guest = await participant(roomId, await guestToken(roomId));
    await host.socket.ok("endRoom", {});
    expect((await guest.socket.nextEvent("roomEnded")).kind).toBe("evt");
    expect((await guest.socket.nextEvent("removed")).data).toEqual({ reason: "ended" });
    expect((await guest.socket.closed).code).toBe(4004);
    expect((await host.socket.closed).code).toBe(4004);
    expect(await (await api(`/api/rooms/${roomId}`)).json()).toMatchObject({ ended: true });
    expect((await api(`/api/rooms/${roomId}/join`, { method: "POST" })).status).toBe(410);
    const again = await TestSocket.room(roomId, token).catch((e: unknown) => e);
    expect((again as HttpRefusal).status).toBe(410);
  });
});

describe("durability", () => {
  it("keeps participants, roles and chat across hibernation-style eviction mid-call", async () => {
    const { roomId, token } = await createIntegratorRoom();
    const host = await participant(roomId, token, { name: "Host" });
    const guest = await participant(roomId, await guestToken(roomId), { name: "Guest" });
    await host.socket.ok("sendChat", { clientId: "before-1", text: "before eviction" });
    await evictDurableObject(stub(roomId));
    // The sockets survive the eviction (hibernation API) and the room answers with its state.
    await guest.socket.ok("sendChat", { clientId: "after-1", text: "after eviction" });
    const history = await host.socket.ok<{ messages: Array<{ text: string; name: string }> }>("chatHistory", {});
    expect(history.messages.map((m) => [m.name, m.text])).toEqual([
      ["Host", "before eviction"],
      ["Guest", "after eviction"],
    ]);
    // Roles and membership came back too: the host can still act, the guest still cannot.
    expect((await guest.socket.request("updateSettings", { locked: true })).error?.code).toBe("forbidden");
    expect(await host.socket.ok("updateSettings", { locked: true })).toMatchObject({ locked: true });
    const late = await TestSocket.room(roomId, await mintToken(roomId, { subject: "late", role: "moderator" }));
    await late.ok("hello", { protocol: PROTOCOL_VERSION });
    const joined = await late.ok<{ peers: Array<{ displayName: string; role: string }> }>("join", {});
    expect(joined.peers.map((p) => [p.displayName, p.role])).toEqual([
      ["Host", "host"],
      ["Guest", "guest"],
    ]);
    expect(await (await api(`/api/rooms/${roomId}`)).json()).toMatchObject({ participants: 3, locked: true });
  });
});

describe("alarms", () => {
  it("drops a socket that went silent, then the participant once the resume window passes", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    const guest = await participant(roomId, await guestToken(roomId));
    await host.socket.nextEvent("peerJoined");
    // Make every socket look silent for a minute (no frame, no keepalive).
    await runInDurableObject(stub(roomId), async (_instance: RoomDO, state) => {
      for (const ws of state.getWebSockets()) {
        const session = ws.deserializeAttachment() as Record<string, unknown>;
        ws.serializeAttachment({ ...session, openedAt: Date.now() - 60_000 });
      }
    });
    await evictDurableObject(stub(roomId)); // forget in-memory activity, like a hibernated room
    expect(await runDurableObjectAlarm(stub(roomId))).toBe(true);
    expect((await guest.socket.closed).code).toBe(4002);
    // Past the resume window the participants are removed for good.
    await runInDurableObject(stub(roomId), async (_instance: RoomDO, state) => {
      state.storage.sql.exec("UPDATE participants SET disconnected_at = ?", Date.now() - 120_000);
    });
    expect(await runDurableObjectAlarm(stub(roomId))).toBe(true);
    expect(await (await api(`/api/rooms/${roomId}`)).json()).toMatchObject({ participants: 0 });
  });

  it("forgets an empty room after its time-to-live", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    await host.socket.ok("leave", {});
    await host.socket.closed;
    await runInDurableObject(stub(roomId), async (_instance: RoomDO, state) => {
      state.storage.kv.put("emptySince", Date.now() - 8 * 24 * 3600_000);
    });
    expect(await runDurableObjectAlarm(stub(roomId))).toBe(true);
    expect((await api(`/api/rooms/${roomId}`)).status).toBe(404);
  });

  it("counts down a room nobody ever entered from its creation, and forgets it like an emptied one", async () => {
    const { roomId } = await createRoom();
    const { emptyTtlMs } = roomConfig(env as unknown as Record<string, string>);
    await runInDurableObject(stub(roomId), async (_instance: RoomDO, state) => {
      const createdAt = state.storage.sql.exec<{ created_at: number }>("SELECT created_at FROM room").one().created_at;
      // No router was ever placed, so the only deadline is the time-to-live.
      expect(await state.storage.getAlarm()).toBe(createdAt + emptyTtlMs);
      state.storage.kv.put("emptySince", createdAt - emptyTtlMs);
    });
    expect(await runDurableObjectAlarm(stub(roomId))).toBe(true);
    expect((await api(`/api/rooms/${roomId}`)).status).toBe(404);
  });

  it("starts the resume window for a participant whose socket vanished without a close, then removes it", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    const guest = await participant(roomId, await guestToken(roomId));
    await host.socket.nextEvent("peerJoined");
    // As after a reset of the room: the guest's row says connected, but no socket is theirs.
    await runInDurableObject(stub(roomId), async (_instance: RoomDO, state) => {
      for (const ws of state.getWebSockets()) {
        const { claims, geo, participantId } = ws.deserializeAttachment() as { claims: unknown; geo: unknown; participantId?: string };
        if (participantId === guest.participantId) ws.serializeAttachment({ claims, geo });
      }
    });
    await evictDurableObject(stub(roomId));
    expect(await runDurableObjectAlarm(stub(roomId))).toBe(true);
    expect((await host.socket.nextEvent("presence", 2000)).data).toEqual({ peerId: guest.participantId, presence: "reconnecting" });
    await runInDurableObject(stub(roomId), async (_instance: RoomDO, state) => {
      const [row] = state.storage.sql.exec<{ disconnected_at: number }>("SELECT disconnected_at FROM participants WHERE id = ?", guest.participantId).toArray();
      expect(row!.disconnected_at).toBeGreaterThan(0);
      state.storage.sql.exec("UPDATE participants SET disconnected_at = ? WHERE id = ?", Date.now() - 120_000, guest.participantId);
    });
    expect(await runDurableObjectAlarm(stub(roomId))).toBe(true);
    expect((await host.socket.nextEvent("peerLeft")).data).toEqual({ peerId: guest.participantId, reason: "timeout" });
    // The host, whose socket is still there, was left alone.
    expect(await (await api(`/api/rooms/${roomId}`)).json()).toMatchObject({ participants: 1 });
  });
});
