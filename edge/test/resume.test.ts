import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { PROTOCOL_VERSION, type EventFrame } from "@meridian/protocol";
import { describe, expect, it } from "vitest";
import type { RoomDO } from "../src/room/room-do.ts";
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
});
