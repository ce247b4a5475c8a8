import { MAX_CHAT_CHARS, type ChatMessage, type EventFrame } from "@meridian/protocol";
import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createRoom, guestToken, participant, resume, seenSeq, type TestSocket } from "./support/socket.ts";

const textOf = (f: EventFrame) => (f.data as { message: ChatMessage }).message;

describe("chat", () => {
  it("delivers a message to everyone with a room-wide seq, and keeps it in history", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { name: "Host" });
    const guest = await participant(roomId, await guestToken(roomId), { name: "Guest" });
    const { seq } = await guest.socket.ok<{ seq: number }>("sendChat", { clientId: "c1", text: "  hi there  " });
    const received = textOf(await host.socket.nextEvent("chat"));
    expect(received).toMatchObject({ seq, from: guest.participantId, name: "Guest", text: "hi there", clientId: "c1" });
    expect(textOf(await guest.socket.nextEvent("chat")).seq).toBe(seq);
  });

  it("pages history backwards with before and limit", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    for (let i = 1; i <= 25; i++) await host.socket.ok("sendChat", { clientId: `m${i}`, text: `message ${i}` });
    const newest = await host.socket.ok<{ messages: ChatMessage[]; hasMore: boolean }>("chatHistory", { limit: 10 });
    expect(newest.messages.map((m) => m.text)).toEqual(Array.from({ length: 10 }, (_, i) => `message ${16 + i}`));
    expect(newest.hasMore).toBe(true);
    const older = await host.socket.ok<{ messages: ChatMessage[]; hasMore: boolean }>("chatHistory", { before: newest.messages[0]!.seq, limit: 10 });
    expect(older.messages.map((m) => m.text)).toEqual(Array.from({ length: 10 }, (_, i) => `message ${6 + i}`));
    const oldest = await host.socket.ok<{ messages: ChatMessage[]; hasMore: boolean }>("chatHistory", { before: older.messages[0]!.seq, limit: 10 });
    expect(oldest).toMatchObject({ hasMore: false });
    expect(oldest.messages).toHaveLength(5);
    expect((await host.socket.request("chatHistory", { limit: 1000 })).error?.code).toBe("invalid_params");
  });

  it("refuses empty and oversized messages", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    for (const text of ["", "   ", "x".repeat(MAX_CHAT_CHARS + 1)]) {
      expect((await host.socket.request("sendChat", { clientId: "c", text })).error?.code).toBe("invalid_params");
    }
    expect(await host.socket.ok("sendChat", { clientId: "c", text: "x".repeat(MAX_CHAT_CHARS) })).toMatchObject({ seq: expect.any(Number) });
  });

  it("stores a resend with the same client id once, and tells nobody twice", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    const guest = await participant(roomId, await guestToken(roomId));
    const first = await guest.socket.ok<{ seq: number }>("sendChat", { clientId: "same", text: "once" });
    const again = await guest.socket.ok<{ seq: number }>("sendChat", { clientId: "same", text: "once" });
    expect(again.seq).toBe(first.seq);
    await host.socket.ok("sendChat", { clientId: "marker", text: "marker" });
    await host.socket.next((f) => f.kind === "evt" && f.event === "chat" && textOf(f as EventFrame).text === "marker", 5000);
    expect(host.socket.events("chat").filter((f) => textOf(f).clientId === "same")).toHaveLength(1);
    // Another sender may use the same client id: ids are per sender.
    const other = await host.socket.ok<{ seq: number }>("sendChat", { clientId: "same", text: "mine" });
    expect(other.seq).not.toBe(first.seq);
  });

  it("never reuses a seq that reached browsers when its write was lost; the sender's resend is kept once and replaces it", async () => {
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { name: "Host" });
    const guestJwt = await guestToken(roomId, "Guest");
    const guest = await participant(roomId, guestJwt);
    await host.socket.ok("sendChat", { clientId: "first", text: "first" });
    // Chat is delivered before its write commits: the guest sees "lost", then the room
    // restarts without it (the write and the room's memory gone).
    const lost = await host.socket.ok<{ seq: number }>("sendChat", { clientId: "lost", text: "lost" });
    expect(textOf(await guest.socket.nextEvent("chat")).text).toBe("first");
    expect(textOf(await guest.socket.nextEvent("chat")).seq).toBe(lost.seq);
    const stub = env.ROOMS.get(env.ROOMS.idFromName(roomId));
    await runInDurableObject(stub, (_room, state) => {
      state.storage.sql.exec("DELETE FROM events WHERE client_id = 'lost'");
    });
    await evictDurableObject(stub);

    // The next message gets a seq above the lost one: a browser that saw it takes the
    // new one live, and one coming back from that seq misses nothing after it.
    const next = await host.socket.ok<{ seq: number }>("sendChat", { clientId: "next", text: "next" });
    expect(next.seq).toBeGreaterThan(lost.seq);
    expect(textOf(await guest.socket.nextEvent("chat")).seq).toBe(next.seq);
    guest.socket.close(1001, "network gone");
    await guest.socket.closed;
    await host.socket.nextEvent("presence");
    const after = await host.socket.ok<{ seq: number }>("sendChat", { clientId: "after", text: "after" });
    const back = await resume(roomId, guestJwt, guest, lost.seq);
    expect(back.missed.filter((f) => f.event === "chat").map((f) => textOf(f).seq)).toEqual([next.seq, after.seq]);

    // Its sender would have had no answer (that waits for the write) and sends it again: stored once, under a new seq.
    const resent = await host.socket.ok<{ seq: number }>("sendChat", { clientId: "lost", text: "lost" });
    expect(resent.seq).toBeGreaterThan(after.seq);
    expect(await host.socket.ok<{ seq: number }>("sendChat", { clientId: "lost", text: "lost" })).toMatchObject({ seq: resent.seq });
    const history = await host.socket.ok<{ messages: ChatMessage[] }>("chatHistory", { limit: 10 });
    expect(history.messages.map((m) => m.text)).toEqual(["first", "next", "after", "lost"]);
  });

  it("carries 1,000 messages from three senders across reconnects with none lost and none duplicated", async () => {
    const { roomId, token } = await createRoom();
    await participant(roomId, token);
    const TOTAL = 1000;
    const SENDERS = 3;
    const observerJwt = await guestToken(roomId, "Observer");
    let observer = await participant(roomId, observerJwt);
    const observed = new Map<number, ChatMessage>();
    let duplicates = 0;
    const record = (frames: EventFrame[]) => {
      for (const f of frames) {
        if (f.event !== "chat") continue;
        const message = textOf(f);
        if (observed.has(message.seq)) duplicates++;
        observed.set(message.seq, message);
      }
    };
    let observerSocket: TestSocket = observer.socket;
    let observerSeq = observer.lastSeq;

    /** Sends with the sender's client id; on rate limiting waits as told and resends. */
    const sendOne = async (socket: TestSocket, clientId: string, text: string): Promise<void> => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const response = await socket.request("sendChat", { clientId, text });
        if (!response.error) return;
        if (response.error.code !== "rate_limited") throw new Error(`${response.error.code}: ${response.error.message}`);
        const wait = Number(response.error.message.match(/retry in (\d+) ms/)?.[1] ?? 50);
        await new Promise((r) => setTimeout(r, Math.min(wait, 1000)));
      }
      throw new Error("still rate limited after 50 tries");
    };

    const sender = async (index: number) => {
      const jwt = await guestToken(roomId, `Sender ${index}`);
      let me = await participant(roomId, jwt);
      let socket = me.socket;
      const mine = Array.from({ length: TOTAL }, (_, i) => i).filter((i) => i % SENDERS === index);
      for (const [n, i] of mine.entries()) {
        const clientId = `s${index}-${i}`;
        if (n > 0 && n % 97 === 0) {
          // Drop the socket with this message in flight, come back, and resend it.
          socket.send({ kind: "req", id: 999_999, method: "sendChat", params: { clientId, text: `message ${i}` } });
          socket.close(1001, "flaky network");
          await socket.closed;
          const back = await resume(roomId, jwt, me, seenSeq(socket, me.lastSeq));
          socket = back.socket;
          me = { ...me, socket };
        }
        await sendOne(socket, clientId, `message ${i}`);
      }
    };

    const observerDrops = (async () => {
      // The observer drops and resumes a few times while the senders run.
      for (let drop = 0; drop < 4; drop++) {
        record([await observerSocket.nextEvent("chat", 20_000)]);
        record(observerSocket.events());
        observerSeq = seenSeq(observerSocket, observerSeq);
        observerSocket.close(1001, "tunnel");
        await observerSocket.closed;
        record(observerSocket.events());
        observerSeq = seenSeq(observerSocket, observerSeq);
        const back = await resume(roomId, observerJwt, observer, observerSeq);
        record(back.missed);
        observerSeq = Math.max(observerSeq, ...back.missed.map((f) => f.seq!));
        observerSocket = back.socket;
        observer = { ...observer, socket: back.socket };
      }
    })();

    await Promise.all([...Array.from({ length: SENDERS }, (_, i) => sender(i)), observerDrops]);
    // Wait for the last message to reach the observer, then count.
    const history: ChatMessage[] = [];
    for (let before: number | undefined; ; ) {
      const page = await observerSocket.ok<{ messages: ChatMessage[]; hasMore: boolean }>("chatHistory", { limit: 200, ...(before ? { before } : {}) });
      history.unshift(...page.messages);
      if (!page.hasMore) break;
      before = page.messages[0]!.seq;
    }
    const lastSeq = history.at(-1)!.seq;
    if (!observerSocket.events("chat").some((f) => textOf(f).seq === lastSeq) && !observed.has(lastSeq)) {
      record([(await observerSocket.next((f) => f.kind === "evt" && f.event === "chat" && textOf(f as EventFrame).seq === lastSeq, 10_000)) as EventFrame]);
    }
    record(observerSocket.events());

    expect(history).toHaveLength(TOTAL);
    expect(new Set(history.map((m) => m.text)).size).toBe(TOTAL);
    expect(history.map((m) => m.seq)).toEqual([...history.map((m) => m.seq)].sort((a, b) => a - b));
    expect(duplicates).toBe(0);
    expect(observed.size).toBe(TOTAL);
    expect(new Set([...observed.values()].map((m) => m.text))).toEqual(new Set(history.map((m) => m.text)));
  }, 120_000);
});
