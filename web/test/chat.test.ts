import { describe, expect, it } from "vitest";
import { ProtocolError, type ChatMessage } from "@meridian/protocol";
import type { RoomRequester } from "../src/lib/media-engine.ts";
import { ChatStore } from "../src/state/chat.ts";

/** A room's chat in memory: sendChat is idempotent per clientId, like the real room. */
function fakeRoom() {
  const stored: ChatMessage[] = [];
  let seq = 0;
  let down = false;
  const sent: Array<{ clientId: string; text: string }> = [];
  const requester: RoomRequester = {
    request: (async (method: string, params: Record<string, unknown>) => {
      if (down) throw new ProtocolError("closed", "connection to the room closed");
      if (method === "sendChat") {
        const { clientId, text } = params as { clientId: string; text: string };
        sent.push({ clientId, text });
        if (text === "too long") throw new ProtocolError("invalid_params", "text too long");
        const existing = stored.find((m) => m.clientId === clientId);
        if (existing) return { seq: existing.seq, sentAt: existing.sentAt };
        const message = { seq: ++seq, from: "me", name: "Me", text, sentAt: 1000 + seq, clientId };
        stored.push(message);
        return { seq: message.seq, sentAt: message.sentAt };
      }
      if (method === "chatHistory") {
        const { before, limit } = params as { before?: number; limit: number };
        const older = stored.filter((m) => before === undefined || m.seq < before);
        const page = older.slice(-limit);
        return { messages: page, hasMore: older.length > page.length };
      }
      throw new Error(`unexpected ${method}`);
    }) as RoomRequester["request"],
  };
  const other = (text: string): ChatMessage => {
    const message = { seq: ++seq, from: "bob", name: "Bob", text, sentAt: 1000 + seq, clientId: `bob-${seq}` };
    stored.push(message);
    return message;
  };
  return { requester, stored, sent, other, setDown: (value: boolean) => (down = value) };
}

function memoryStorage(): Pick<Storage, "getItem" | "setItem"> {
  const map = new Map<string, string>();
  return { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v) };
}

function store(room: ReturnType<typeof fakeRoom>, storage = memoryStorage(), selfId = "me") {
  let n = 0;
  return new ChatStore({ requester: () => room.requester, selfId: () => selfId, selfName: () => "Me", storage, storageKey: "mine", newId: () => `client-${++n}` });
}

const texts = (chat: ChatStore) => chat.state.items.map((i) => `${i.text}:${i.status}`);

describe("ChatStore", () => {
  it("shows messages in room order, once each, and counts unread ones while closed", () => {
    const room = fakeRoom();
    const chat = store(room);
    const first = room.other("first");
    const second = room.other("second");
    chat.receive(second);
    chat.receive(first);
    chat.receive(second);
    expect(texts(chat)).toEqual(["first:sent", "second:sent"]);
    expect(chat.state.unread).toBe(2);
    chat.setOpen(true);
    expect(chat.state.unread).toBe(0);
    chat.receive(room.other("while open"));
    expect(chat.state.unread).toBe(0);
  });

  it("a message delivered again under a new seq (its first write was lost, the sender resent it) shows once, at the stored seq", () => {
    const room = fakeRoom();
    const chat = store(room);
    const ghost = { seq: 7, from: "bob", name: "Bob", text: "hello", sentAt: 1007, clientId: "bob-hello" };
    chat.receive(ghost);
    chat.receive(room.other("next"));
    const stored = { ...ghost, seq: 300, sentAt: 1300 };
    chat.receive(stored);
    expect(chat.state.items.map((i) => [i.text, i.seq])).toEqual([["next", 1], ["hello", 300]]);
    expect(chat.state.unread).toBe(2);
    // Someone else reusing that clientId is a different message.
    chat.receive({ ...stored, seq: 301, from: "mallory", name: "Mallory" });
    expect(chat.state.items).toHaveLength(3);
  });

  it("shows our message at once, then confirms it; the room's echo does not duplicate it", async () => {
    const room = fakeRoom();
    const chat = store(room);
    const sending = chat.send("  hello  ");
    expect(texts(chat)).toEqual(["hello:sending"]);
    await sending;
    expect(texts(chat)).toEqual(["hello:sent"]);
    chat.receive(room.stored[0]!);
    expect(texts(chat)).toEqual(["hello:sent"]);
    expect(chat.state.unread).toBe(0);
  });

  it("takes the room's echo of our message as its place, not as proof it was stored: the answer confirms it", async () => {
    const room = fakeRoom();
    let answer!: () => void;
    const gate = new Promise<void>((resolve) => (answer = resolve));
    const chat = new ChatStore({
      requester: () => ({ request: (async (method: string, params: never) => (await gate, room.requester.request(method as "sendChat", params))) as never }),
      selfId: () => "me",
      selfName: () => "Me",
      newId: () => "client-1",
    });
    const sending = chat.send("hello");
    chat.receive({ seq: 1, from: "me", name: "Me", text: "hello", sentAt: 1001, clientId: "client-1" });
    expect(chat.state.items.map((i) => [i.text, i.seq, i.status])).toEqual([["hello", 1, "sending"]]);
    answer();
    await sending;
    expect(chat.state.items.map((i) => [i.text, i.seq, i.status])).toEqual([["hello", 1, "sent"]]);
  });

  it("keeps a message through a dropped socket and sends it again with the same clientId; the room stores it once", async () => {
    const room = fakeRoom();
    const chat = store(room);
    // The room stored it but the answer was lost with the socket.
    await room.requester.request("sendChat", { clientId: "client-1", text: "are you there?" });
    room.setDown(true);
    await chat.send("are you there?");
    expect(texts(chat)).toEqual(["are you there?:sending"]);
    room.setDown(false);
    await chat.resendPending();
    expect(texts(chat)).toEqual(["are you there?:sent"]);
    expect(room.stored.map((m) => m.text)).toEqual(["are you there?"]);
    expect(new Set(room.sent.map((s) => s.clientId))).toEqual(new Set(["client-1"]));
  });

  it("marks a refused message as failed instead of retrying it forever", async () => {
    const room = fakeRoom();
    const chat = store(room);
    await chat.send("too long");
    expect(texts(chat)).toEqual(["too long:failed"]);
  });

  it("merges history with live messages and pages back with `before`", async () => {
    const room = fakeRoom();
    for (let i = 1; i <= 60; i++) room.other(`m${i}`);
    const chat = store(room);
    chat.receive(room.stored[59]!);
    await chat.loadLatest();
    expect(chat.state.items).toHaveLength(50);
    expect(chat.state.items[0]!.text).toBe("m11");
    expect(chat.state.hasMore).toBe(true);
    await chat.loadEarlier();
    expect(chat.state.items).toHaveLength(60);
    expect(chat.state.items[0]!.text).toBe("m1");
    expect(chat.state.hasMore).toBe(false);
    expect(chat.state.unread).toBe(1);
  });

  it("after a reload (a new participant id), our earlier messages are still ours", async () => {
    const room = fakeRoom();
    const storage = memoryStorage();
    const before = store(room, storage, "me");
    await before.send("from before the reload");
    const after = store(room, storage, "me-after-reload");
    await after.loadLatest();
    expect(after.state.items.map((i) => i.mine)).toEqual([true]);
  });
});
