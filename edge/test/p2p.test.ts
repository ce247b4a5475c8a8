import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { PROTOCOL_VERSION } from "@meridian/protocol";
import { describe, expect, it } from "vitest";
import { decideMode, P2P_HOLD_OFF_MS, type ModeState } from "../src/room/media/mode.ts";
import type { RoomDO } from "../src/room/room-do.ts";
import { TestSocket, createIntegratorRoom, createRoom, guestToken, mintToken, participant, type Participant } from "./support/socket.ts";

const stub = (roomId: string) => env.ROOMS.get(env.ROOMS.idFromName(roomId));
const OFFER = { type: "description", description: { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" } } as const;

/** A host and a guest in a call of two. */
async function pair(body: Record<string, unknown> = {}): Promise<{ roomId: string; host: Participant; guest: Participant }> {
  const { roomId, token } = await createRoom(body);
  const host = await participant(roomId, token, { name: "Host" });
  const guest = await participant(roomId, await guestToken(roomId, "Guest"));
  await host.socket.nextEvent("peerJoined");
  return { roomId, host, guest };
}

/** Makes the pending return to P2P due now and runs the room's alarm. */
async function holdOffPasses(roomId: string): Promise<void> {
  await runInDurableObject(stub(roomId), async (_instance: RoomDO, state) => {
    const mode = state.storage.kv.get<ModeState>("mediaMode");
    expect(mode?.p2pAt).toBeDefined();
    state.storage.kv.put("mediaMode", { ...mode, p2pAt: Date.now() - 1 });
  });
  expect(await runDurableObjectAlarm(stub(roomId))).toBe(true);
}

describe("peer-to-peer calls", () => {
  it("puts a call of two in P2P and relays signals between its two members only, unlogged", async () => {
    const { roomId, token } = await createRoom();
    const host = await TestSocket.room(roomId, token);
    const { participantId: hostId } = await host.ok<{ participantId: string }>("hello", { protocol: PROTOCOL_VERSION });
    expect(await host.ok("join", {})).toMatchObject({ status: "joined", mediaMode: "p2p" });
    const guest = await participant(roomId, await guestToken(roomId, "Guest"));
    await host.nextEvent("peerJoined");
    // Someone on the pre-join page would be the third: their call would go through the SFU.
    const lurker = await TestSocket.room(roomId, await guestToken(roomId, "Lurker"));
    const lurkerHello = await lurker.ok<{ participantId: string; mediaMode: string }>("hello", { protocol: PROTOCOL_VERSION });
    expect(lurkerHello.mediaMode).toBe("sfu");
    const lurkerId = lurkerHello.participantId;

    await host.ok("p2pSignal", { to: guest.participantId, signal: OFFER });
    const relayed = await guest.socket.nextEvent("p2pSignal");
    expect(relayed.seq).toBeUndefined();
    expect(relayed.data).toEqual({ from: hostId, signal: OFFER });

    const candidate = { type: "candidate", candidate: { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 } };
    await guest.socket.ok("p2pSignal", { to: hostId, signal: candidate });
    expect((await host.nextEvent("p2pSignal")).data).toEqual({ from: guest.participantId, signal: candidate });
    await guest.socket.ok("p2pSignal", { to: hostId, signal: { type: "candidate", candidate: null } });
    expect((await host.nextEvent("p2pSignal")).data).toEqual({ from: guest.participantId, signal: { type: "candidate", candidate: null } });

    // The one on the pre-join page can neither send signals nor be sent them.
    expect((await lurker.request("p2pSignal", { to: hostId, signal: OFFER })).error?.code).toBe("not_joined");
    expect((await host.request("p2pSignal", { to: lurkerId, signal: OFFER })).error?.code).toBe("not_found");
    // Not to oneself, not to someone who is not in the call.
    expect((await host.request("p2pSignal", { to: hostId, signal: OFFER })).error?.code).toBe("not_found");
    expect((await host.request("p2pSignal", { to: "nobody-here", signal: OFFER })).error?.code).toBe("not_found");
    expect(lurker.events("p2pSignal")).toEqual([]);
  });

  it("checks every signal's schema and size, and the socket survives a bad one", async () => {
    const { host, guest } = await pair();
    const to = guest.participantId;
    const bad: unknown[] = [
      { type: "description", description: { type: "offer", sdp: "x".repeat(32 * 1024 + 1) } },
      { type: "description", description: { type: "bogus", sdp: "v=0" } },
      { type: "candidate", candidate: { candidate: "c".repeat(1025) } },
      { type: "candidate", candidate: { candidate: "c", sdpMLineIndex: -1 } },
      { type: "sources", sources: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`${i}`, { source: "camera", paused: false }])) },
      { type: "sources", sources: { "0": { source: "hologram", paused: false } } },
      { type: "unknown" },
      "offer",
    ];
    for (const signal of bad) {
      const response = await host.socket.request("p2pSignal", { to, signal });
      expect(response.error?.code, JSON.stringify(signal).slice(0, 80)).toBe("invalid_params");
    }
    expect((await host.socket.request("p2pSignal", { to: "x".repeat(200), signal: OFFER })).error?.code).toBe("invalid_params");
    // Nothing bad reached the other side; a good signal still does.
    expect(guest.socket.events("p2pSignal")).toEqual([]);
    const sources = { type: "sources", sources: { "0": { source: "mic", paused: false }, "1": { source: "camera", paused: true } } };
    await host.socket.ok("p2pSignal", { to, signal: sources });
    expect((await guest.socket.nextEvent("p2pSignal")).data).toEqual({ from: host.participantId, signal: sources });
    // Only what the schema knows is relayed: anything else is dropped on the way.
    await host.socket.ok("p2pSignal", { to, signal: { ...OFFER, extra: { nested: [1, 2, 3] } } });
    expect((await guest.socket.nextEvent("p2pSignal")).data).toEqual({ from: host.participantId, signal: OFFER });
  });

  it("moves the call to the SFU when a third person joins, relays nothing more, and returns to P2P only after the hold-off", async () => {
    const { roomId, host, guest } = await pair();
    const thirdToken = await guestToken(roomId, "Third");
    const third = await participant(roomId, thirdToken);
    for (const p of [host, guest]) {
      expect((await p.socket.nextEvent("mediaMode")).data).toEqual({ mode: "sfu", reason: "a third participant joined" });
    }
    expect((await host.socket.request("p2pSignal", { to: guest.participantId, signal: OFFER })).error?.code).toBe("forbidden");
    expect((await third.socket.request("p2pSignal", { to: host.participantId, signal: OFFER })).error?.code).toBe("forbidden");

    await third.socket.ok("leave", {});
    await host.socket.nextEvent("peerLeft");
    // Down to two: not at once (a quick rejoin must not flap the call)…
    expect(host.socket.events("mediaMode")).toEqual([]);
    expect((await host.socket.request("p2pSignal", { to: guest.participantId, signal: OFFER })).error?.code).toBe("forbidden");
    // …a rejoin within the hold-off keeps the SFU without a switch…
    const again = await participant(roomId, thirdToken);
    await again.socket.ok("leave", {});
    await host.socket.nextEvent("peerLeft");
    expect(host.socket.events("mediaMode")).toEqual([]);
    // …and once the hold-off is over, back to P2P.
    await holdOffPasses(roomId);
    for (const p of [host, guest]) {
      expect((await p.socket.nextEvent("mediaMode")).data).toEqual({ mode: "p2p", reason: "the call is down to two" });
    }
    await host.socket.ok("p2pSignal", { to: guest.participantId, signal: OFFER });
    expect((await guest.socket.nextEvent("p2pSignal")).data).toMatchObject({ from: host.participantId });
  });

  it("relays nothing when the room forbids P2P: from the start, or once a host turns it off", async () => {
    const { roomId, token } = await createIntegratorRoom({ p2p: false });
    const host = await TestSocket.room(roomId, token);
    expect(await host.ok("hello", { protocol: PROTOCOL_VERSION })).toMatchObject({ mediaMode: "sfu", settings: { p2p: false } });
    expect(await host.ok("join", {})).toMatchObject({ mediaMode: "sfu" });
    const guest = await participant(roomId, await mintToken(roomId, { subject: "guest", role: "guest", name: "Guest" }));
    const hostId = ((await host.nextEvent("peerJoined")).data as { peer: { id: string } }).peer.id;
    expect(guest.socket.events("mediaMode")).toEqual([]);
    expect((await guest.socket.request("p2pSignal", { to: hostId, signal: OFFER })).error?.code).toBe("forbidden");

    // A room that allows it; a host turns it off mid-call and the call moves to the SFU.
    const open = await pair();
    expect(await open.host.socket.ok("updateSettings", { p2p: false })).toMatchObject({ p2p: false });
    for (const p of [open.host, open.guest]) {
      expect((await p.socket.nextEvent("mediaMode")).data).toEqual({ mode: "sfu", reason: "peer-to-peer is off in this room" });
    }
    expect((await open.host.socket.request("p2pSignal", { to: open.guest.participantId, signal: OFFER })).error?.code).toBe("forbidden");
    // A guest cannot turn it back on.
    expect((await open.guest.socket.request("updateSettings", { p2p: true })).error?.code).toBe("forbidden");
    // The host can; the call of two goes back after the same hold-off as any return to P2P.
    await open.host.socket.ok("updateSettings", { p2p: true });
    await holdOffPasses(open.roomId);
    expect((await open.guest.socket.nextEvent("mediaMode")).data).toMatchObject({ mode: "p2p" });
  });

  it("falls back to the SFU when the pair's direct connection fails, and stays there until the pair changes", async () => {
    const { roomId, host, guest } = await pair();
    await guest.socket.ok("p2pFailed", {});
    for (const p of [host, guest]) {
      expect((await p.socket.nextEvent("mediaMode")).data).toEqual({ mode: "sfu", reason: "the direct connection failed" });
    }
    // Said twice (both sides notice), switched once.
    await host.socket.ok("p2pFailed", {});
    await host.socket.ok("sendChat", { clientId: "c-1", text: "sync" });
    await guest.socket.nextEvent("chat");
    expect(guest.socket.events("mediaMode")).toEqual([]);
    await runDurableObjectAlarm(stub(roomId));
    expect(guest.socket.events("mediaMode")).toEqual([]);

    // The guest leaves and someone else joins: a new pair gets a fresh try.
    await guest.socket.ok("leave", {});
    expect((await host.socket.nextEvent("mediaMode")).data).toEqual({ mode: "p2p", reason: "the call has no one to connect to yet" });
    const other = await TestSocket.room(roomId, await guestToken(roomId, "Other"));
    await other.ok("hello", { protocol: PROTOCOL_VERSION });
    expect(await other.ok("join", {})).toMatchObject({ mediaMode: "p2p" });
  });
});

describe("the mode rules", () => {
  const now = 1_000_000;
  const sfu: ModeState = { mode: "sfu" };
  const p2p: ModeState = { mode: "p2p" };

  it("P2P for one or two, the SFU for three, and when forbidden", () => {
    expect(decideMode({ state: p2p, joined: ["a"], allowed: true, now }).state.mode).toBe("p2p");
    expect(decideMode({ state: p2p, joined: ["a", "b"], allowed: true, now })).toEqual({ state: p2p });
    expect(decideMode({ state: p2p, joined: ["a", "b", "c"], allowed: true, now })).toEqual({ state: sfu, reason: "a third participant joined" });
    expect(decideMode({ state: p2p, joined: ["a", "b"], allowed: false, now })).toEqual({ state: sfu, reason: "peer-to-peer is off in this room" });
  });

  it("back to P2P at two only after the hold-off, at once for one", () => {
    const waiting = decideMode({ state: sfu, joined: ["a", "b"], allowed: true, now });
    expect(waiting).toEqual({ state: { mode: "sfu", p2pAt: now + P2P_HOLD_OFF_MS } });
    expect(decideMode({ state: waiting.state, joined: ["a", "b"], allowed: true, now: now + P2P_HOLD_OFF_MS - 1 }).state.mode).toBe("sfu");
    expect(decideMode({ state: waiting.state, joined: ["a", "b"], allowed: true, now: now + P2P_HOLD_OFF_MS })).toEqual({
      state: p2p,
      reason: "the call is down to two",
    });
    // A third arriving during the hold-off cancels it.
    expect(decideMode({ state: waiting.state, joined: ["a", "b", "c"], allowed: true, now }).state).toEqual(sfu);
    expect(decideMode({ state: sfu, joined: ["a"], allowed: true, now }).state).toEqual(p2p);
  });

  it("a failed pair stays on the SFU; a different pair tries again", () => {
    const failed = decideMode({ state: p2p, joined: ["b", "a"], allowed: true, now, failed: true });
    expect(failed).toEqual({ state: { mode: "sfu", failedPair: "a|b" }, reason: "the direct connection failed" });
    expect(decideMode({ state: failed.state, joined: ["a", "b"], allowed: true, now: now + 10 * P2P_HOLD_OFF_MS }).state).toEqual(failed.state);
    expect(decideMode({ state: failed.state, joined: ["a", "c"], allowed: true, now }).state).toEqual({ mode: "sfu", p2pAt: now + P2P_HOLD_OFF_MS });
  });
});
