import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { PROTOCOL_VERSION, type EventFrame } from "@meridian/protocol";
import { describe, expect, it } from "vitest";
import type { RoomDO } from "../src/room/room-do.ts";
import { roomConfig } from "../src/room/room-config.ts";
import { TestSocket, createRoom, guestToken, participant, resume, seenSeq } from "./support/socket.ts";

const stub = (roomId: string) => env.ROOMS.get(env.ROOMS.idFromName(roomId));

describe("resume", () => {
  it("gives a participant back its place and every event it missed, exactly once", async () => {
    const { roomId, token: hostToken } = await createRoom();
    const host = await participant(roomId, hostToken, { name: "Host" });
    const guestJwt = await guestToken(roomId, "Guest");
    const guest = await participant(roomId, guestJwt);
    await host.socket.nextEvent("peerJoined");
    await guest.socket.ok("sendChat", { clientId: "g-0", text: "hello" });
    await guest.socket.nextEvent("chat");
    const lastSeq = seenSeq(guest.socket, guest.lastSeq);

    guest.socket.close(1001, "network gone");
    await guest.socket.closed;
    expect((await host.socket.nextEvent("presence")).data).toEqual({ peerId: guest.participantId, presence: "reconnecting" });

    // While the guest is away the room goes on.
    for (let i = 1; i <= 3; i++) await host.socket.ok("sendChat", { clientId: `h-${i}`, text: `missed ${i}` });
    const third = await participant(roomId, await guestToken(roomId, "Third"));
    await host.socket.ok("updateSettings", { locked: true });

    const back = await resume(roomId, guestJwt, guest, lastSeq);
    expect(back.result).toMatchObject({ state: "joined", role: "guest", settings: { locked: true } });
    const missed = back.missed.map((f) => [f.event, (f.data as { message?: { text: string } }).message?.text ?? null]);
    expect(missed).toEqual([
      ["chat", "missed 1"],
      ["chat", "missed 2"],
      ["chat", "missed 3"],
      ["peerJoined", null],
      // A third person moves the call from peer-to-peer to the SFU.
      ["mediaMode", null],
      ["settingsChanged", null],
    ]);
    const seqs = back.missed.map((f) => f.seq!);
    expect(seqs.every((s, i) => s > lastSeq && (i === 0 || s > seqs[i - 1]!))).toBe(true);
    expect((await host.socket.nextEvent("presence")).data).toEqual({ peerId: guest.participantId, presence: "connected" });

    // Live events continue after the replay, with no repeats.
    await third.socket.ok("sendChat", { clientId: "t-1", text: "live" });
    const live = await back.socket.nextEvent("chat");
    expect(live.seq).toBeGreaterThan(seqs.at(-1)!);
    expect(back.socket.events("chat").every((f: EventFrame) => (f.data as { message: { text: string } }).message.text !== "missed 1")).toBe(true);
  });

  it("refuses a wrong resume token, another person's token, and a second resume of a live socket's past", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    const guestJwt = await guestToken(roomId);
    const guest = await participant(roomId, guestJwt);
    guest.socket.close();
    await host.socket.nextEvent("presence");
    const wrong = await TestSocket.room(roomId, guestJwt);
    const attempt = async (socket: TestSocket, participantId: string, resumeToken: string) =>
      (await socket.request("resume", { protocol: PROTOCOL_VERSION, participantId, resumeToken, lastSeq: 0 })).error?.code;
    expect(await attempt(wrong, guest.participantId, "not-the-token")).toBe("resume_failed");
    const impostor = await TestSocket.room(roomId, await guestToken(roomId));
    expect(await attempt(impostor, guest.participantId, guest.resumeToken)).toBe("resume_failed");
    // The right token still works, once the wrong attempts failed.
    expect((await resume(roomId, guestJwt, guest, 0)).result).toMatchObject({ state: "joined" });
  });

  it("moves a participant to the newest socket when the old one is still open", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    const back = await resume(roomId, token, host, seenSeq(host.socket, host.lastSeq));
    expect((await host.socket.nextEvent("removed")).data).toEqual({ reason: "replaced" });
    expect((await host.socket.closed).code).toBe(4001);
    expect(await back.socket.ok("updateSettings", { lobby: true })).toMatchObject({ lobby: true });
  });

  it("after the window, refuses resume; the participant has left and can join again cleanly", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    const guestJwt = await guestToken(roomId, "Slow");
    const guest = await participant(roomId, guestJwt);
    await host.socket.nextEvent("peerJoined");
    guest.socket.close();
    await host.socket.nextEvent("presence");
    await runInDurableObject(stub(roomId), async (_instance: RoomDO, state) => {
      state.storage.sql.exec("UPDATE participants SET disconnected_at = ? WHERE id = ?", Date.now() - 60_000, guest.participantId);
    });
    expect(await runDurableObjectAlarm(stub(roomId))).toBe(true);
    expect((await host.socket.nextEvent("peerLeft")).data).toEqual({ peerId: guest.participantId, reason: "timeout" });
    const late = await TestSocket.room(roomId, guestJwt);
    const refused = await late.request("resume", { protocol: PROTOCOL_VERSION, participantId: guest.participantId, resumeToken: guest.resumeToken, lastSeq: 0 });
    expect(refused.error?.code).toBe("resume_failed");
    await late.ok("hello", { protocol: PROTOCOL_VERSION });
    expect(await late.ok("join", {})).toMatchObject({ status: "joined" });
    expect((await host.socket.nextEvent("peerJoined")).data).toMatchObject({ peer: { displayName: "Slow" } });
  });

  it("refuses a resume that would replay more than the log keeps; the client joins again and pages its chat", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { name: "Host" });
    const guestJwt = await guestToken(roomId, "Away");
    const guest = await participant(roomId, guestJwt);
    await host.socket.nextEvent("peerJoined");
    const lastSeq = seenSeq(guest.socket, guest.lastSeq);
    guest.socket.close(1001, "network gone");
    await host.socket.nextEvent("presence");

    // More chat than the limit while the guest is away: too many to send under the rate
    // limit, so written as the chat handler stores it, under seqs the room has not handed out.
    const { eventLogKeep } = roomConfig(env as unknown as Record<string, string>);
    await runInDurableObject(stub(roomId), async (_instance: RoomDO, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO events (seq, event, data, audience, at, identity, client_id)
         SELECT (SELECT MAX(reserved_through) FROM seq_block) + i, 'chat',
                json_object('from', ?, 'name', 'Host', 'text', 'filler ' || i, 'sentAt', ?, 'clientId', 'filler-' || i),
                '{"to":"joined"}', ?, 'filler', 'filler-' || i
         FROM n`,
        eventLogKeep, host.participantId, Date.now(), Date.now(),
      );
    });
    // A fresh instance hands out seqs after the inserted ones, as it would after real chat.
    await evictDurableObject(stub(roomId));
    const latest = await host.socket.ok<{ seq: number }>("sendChat", { clientId: "latest", text: "latest" });

    const back = await TestSocket.room(roomId, guestJwt);
    const refused = await back.request("resume", { protocol: PROTOCOL_VERSION, participantId: guest.participantId, resumeToken: guest.resumeToken, lastSeq });
    expect(refused.error?.code).toBe("resume_failed");
    // A resume that misses little is still served, from the same log.
    const recent = await resume(roomId, guestJwt, guest, latest.seq - 1);
    expect(recent.missed.map((f) => [f.event, f.seq])).toEqual([["chat", latest.seq]]);

    // The refused socket joins afresh and pages the chat instead.
    await back.ok("hello", { protocol: PROTOCOL_VERSION });
    await back.ok("join", {});
    const page = await back.ok<{ messages: Array<{ text: string }>; hasMore: boolean }>("chatHistory", { limit: 2 });
    expect(page.messages.map((m) => m.text)).toEqual([`filler ${eventLogKeep}`, "latest"]);
    expect(page.hasMore).toBe(true);
  });
});
