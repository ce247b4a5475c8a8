import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RoomDO } from "../src/room/room-do.ts";
import { createRoom, guestToken, participant, resume, seenSeq } from "./support/socket.ts";

const stub = (roomId: string) => env.ROOMS.get(env.ROOMS.idFromName(roomId));

/** Gives the room one leg (a router without a node): the speaker reports name the router they are about. */
async function placeOn(roomId: string, routerId: string): Promise<void> {
  await runInDurableObject(stub(roomId), async (_instance: RoomDO, state) => {
    state.storage.sql.exec(
      "INSERT INTO legs (id, node_id, rtp_capabilities, created_at) VALUES (?, 'speaker-node', ?, ?)",
      routerId,
      JSON.stringify({ codecs: [], headerExtensions: [] }),
      Date.now(),
    );
  });
}

describe("active speaker", () => {
  it("relays changes on the room's router, and tells whoever enters or comes back later, across hibernation", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { name: "Host" });
    const guestJwt = await guestToken(roomId, "Guest");
    const guest = await participant(roomId, guestJwt);
    await placeOn(roomId, "router-1");

    // A report about another router (a room that moved) is ignored; a repeat is not relayed twice.
    await stub(roomId).activeSpeaker("router-0", guest.participantId);
    await stub(roomId).activeSpeaker("router-1", host.participantId);
    await stub(roomId).activeSpeaker("router-1", host.participantId);
    await stub(roomId).activeSpeaker("router-1", guest.participantId);
    for (const p of [host, guest]) {
      expect((await p.socket.nextEvent("activeSpeaker")).data).toEqual({ peerId: host.participantId });
      expect((await p.socket.nextEvent("activeSpeaker")).data).toEqual({ peerId: guest.participantId });
    }

    // The room sleeps (memory gone); a newcomer still learns who speaks, before its join answer.
    await evictDurableObject(stub(roomId));
    const third = await participant(roomId, await guestToken(roomId, "Third"));
    expect(third.socket.events("activeSpeaker").map((f) => f.data)).toEqual([{ peerId: guest.participantId }]);
    expect(host.socket.events("activeSpeaker")).toEqual([]);

    // Someone who drops and resumes is told again: changes while away were not logged.
    const lastSeq = seenSeq(host.socket, host.lastSeq);
    host.socket.close(1001, "network gone");
    await host.socket.closed;
    await guest.socket.nextEvent("presence");
    const back = await resume(roomId, token, host, lastSeq);
    expect(back.socket.events("activeSpeaker").map((f) => f.data)).toEqual([{ peerId: guest.participantId }]);

    // A speaker who left is nobody to point at.
    await guest.socket.ok("leave");
    const fourth = await participant(roomId, await guestToken(roomId, "Fourth"));
    expect(fourth.socket.events("activeSpeaker")).toEqual([]);
  });

  it("tells nobody in the lobby, and tells a guest once admitted", async () => {
    const { roomId, token } = await createRoom({ lobby: true });
    const host = await participant(roomId, token, { name: "Host" });
    await placeOn(roomId, "router-1");
    await stub(roomId).activeSpeaker("router-1", host.participantId);
    await host.socket.nextEvent("activeSpeaker");

    const waiting = await participant(roomId, await guestToken(roomId, "Waiting"));
    const someoneWaits = (f: { kind: string; event?: string; data?: unknown }) =>
      f.event === "lobbyChanged" && (f.data as { waiting: unknown[] }).waiting.length === 1;
    await host.socket.next(someoneWaits, 5000, "a waiting guest");
    expect(waiting.socket.events("activeSpeaker")).toEqual([]);
    await host.socket.ok("admit", { participantId: waiting.participantId });
    expect((await waiting.socket.nextEvent("activeSpeaker")).data).toEqual({ peerId: host.participantId });
  });
});
