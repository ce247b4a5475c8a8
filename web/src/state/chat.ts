import { batch } from "solid-js";
import { createStore, produce, type SetStoreFunction } from "solid-js/store";
import { isProtocolError, MAX_CHAT_CHARS, type ChatMessage } from "@meridian/protocol";
import type { RoomRequester } from "../lib/media-engine.ts";

export type ChatStatus = "sent" | "sending" | "failed";

export interface ChatItem {
  /** The sender's clientId: the same before and after the room confirms it. */
  readonly key: string;
  /** The sender's clientId (for our own messages, the key). */
  readonly clientId: string;
  seq: number | undefined;
  from: string | undefined;
  name: string;
  text: string;
  sentAt: number;
  mine: boolean;
  status: ChatStatus;
}

export interface ChatState {
  /** Confirmed messages by seq, then ours still on their way, in the order they were written. */
  items: ChatItem[];
  /** Older messages exist than the first one shown. */
  hasMore: boolean;
  loading: boolean;
  open: boolean;
  /** Messages from others that arrived while the panel was closed. */
  unread: number;
}

export interface ChatDeps {
  /** The current room socket, if any (it changes across reconnects). */
  readonly requester: () => RoomRequester | undefined;
  readonly selfId: () => string | undefined;
  readonly selfName: () => string;
  /** Where this tab remembers its own clientIds, so its messages stay "mine" after a reload. */
  readonly storage?: Pick<Storage, "getItem" | "setItem"> | undefined;
  readonly storageKey?: string;
  readonly newId?: () => string;
}

const HISTORY_PAGE = 50;

/**
 * The call's chat: history pages, live messages, and our own messages until the room has
 * stored them. A message is sent with a clientId of our choosing; if the socket drops
 * before the answer, it is sent again with the same id after the reconnect, and the room
 * stores it once. Nothing shown is cleared by a reconnect.
 */
export class ChatStore {
  readonly state: ChatState;
  readonly #set: SetStoreFunction<ChatState>;
  readonly #deps: ChatDeps;
  readonly #mine: Set<string>;
  #flushing: Promise<void> | undefined;

  constructor(deps: ChatDeps) {
    this.#deps = deps;
    [this.state, this.#set] = createStore<ChatState>({ items: [], hasMore: false, loading: false, open: false, unread: 0 });
    this.#mine = new Set(this.#readMine());
  }

  /** A chat event from the room (live or replayed after a resume). */
  receive(message: ChatMessage): void {
    const mine = this.#isMine(message);
    const added = this.#merge(message, mine, false);
    if (added && !mine && !this.state.open) this.#set("unread", (n) => n + 1);
  }

  /** Sends a message; it shows at once as "sending". */
  async send(text: string): Promise<void> {
    const trimmed = text.trim().slice(0, MAX_CHAT_CHARS);
    if (!trimmed) return;
    const key = this.#deps.newId?.() ?? crypto.randomUUID();
    this.#rememberMine(key);
    this.#set(
      "items",
      produce((items) => {
        items.push({ key, clientId: key, seq: undefined, from: this.#deps.selfId(), name: this.#deps.selfName(), text: trimmed, sentAt: Date.now(), mine: true, status: "sending" });
      }),
    );
    await this.#deliver(key);
  }

  /** Sends again every message the room has not confirmed (after a reconnect, or a retry click). */
  resendPending(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    const flush = async () => {
      for (const item of this.state.items.filter((i) => i.status !== "sent")) {
        this.#set("items", (i) => i.key === item.key, "status", "sending");
        await this.#deliver(item.key);
      }
    };
    const flushing = flush().finally(() => {
      if (this.#flushing === flushing) this.#flushing = undefined;
    });
    this.#flushing = flushing;
    return flushing;
  }

  /** The newest page (on entering the call, and after a rejoin): merged with what is shown. */
  async loadLatest(): Promise<void> {
    await this.#page(undefined);
  }

  /** The page before the oldest message shown. */
  async loadEarlier(): Promise<void> {
    const oldest = this.state.items.find((i) => i.seq !== undefined)?.seq;
    if (oldest !== undefined) await this.#page(oldest);
  }

  setOpen(open: boolean): void {
    batch(() => {
      this.#set("open", open);
      if (open) this.#set("unread", 0);
    });
  }

  async #page(before: number | undefined): Promise<void> {
    const requester = this.#deps.requester();
    if (!requester) return;
    this.#set("loading", true);
    try {
      const page = await requester.request("chatHistory", { ...(before === undefined ? {} : { before }), limit: HISTORY_PAGE });
      batch(() => {
        for (const message of page.messages) this.#merge(message, this.#isMine(message), true);
        if (before !== undefined || this.state.items.every((i) => i.seq === undefined || i.seq >= (page.messages[0]?.seq ?? 0))) {
          this.#set("hasMore", page.hasMore);
        }
      });
    } finally {
      this.#set("loading", false);
    }
  }

  async #deliver(key: string): Promise<void> {
    const requester = this.#deps.requester();
    const item = this.state.items.find((i) => i.key === key);
    if (!item || item.status === "sent") return;
    if (!requester) return; // Stays "sending": resent after the reconnect.
    try {
      const { seq, sentAt } = await requester.request("sendChat", { clientId: key, text: item.text });
      this.#confirm(key, seq, sentAt);
    } catch (error) {
      // A dropped socket is not the message's fault: it goes out again after the reconnect.
      if (isProtocolError(error, "closed") || isProtocolError(error, "timeout") || isProtocolError(error, "not_joined")) return;
      this.#set("items", (i) => i.key === key, "status", "failed");
    }
  }

  #confirm(key: string, seq: number, sentAt: number): void {
    const existing = this.state.items.find((i) => i.seq === seq && i.key !== key);
    batch(() => {
      // The chat event may have overtaken the answer: keep one copy.
      if (existing) this.#set("items", (items) => items.filter((i) => i.key !== key));
      else {
        this.#set("items", (i) => i.key === key, { seq, sentAt, status: "sent" });
        this.#sort();
      }
    });
  }

  /**
   * Adds a message, or places our own pending one; false when it was already shown.
   * `stored` says it came from history: the room delivers chat before its write commits,
   * so only the room's answer or history confirms our message as sent.
   */
  #merge(message: ChatMessage, mine: boolean, stored: boolean): boolean {
    const bySeq = this.state.items.find((i) => i.seq === message.seq);
    if (bySeq) return false;
    const pending = this.state.items.find((i) => i.key === message.clientId && i.mine && mine);
    if (pending) {
      if (pending.status === "sent") return false;
      if (stored) this.#confirm(pending.key, message.seq, message.sentAt);
      else {
        batch(() => {
          this.#set("items", (i) => i.key === pending.key, { seq: message.seq, sentAt: message.sentAt });
          this.#sort();
        });
      }
      return false;
    }
    // The room delivers chat before its write commits; had that write been lost, the
    // sender's resend arrives under a new seq: the same message, so it replaces the first.
    const twin = this.state.items.find((i) => !i.mine && i.from === message.from && i.clientId === message.clientId);
    if (twin) {
      batch(() => {
        this.#set("items", (i) => i.key === twin.key, { seq: message.seq, sentAt: message.sentAt });
        this.#sort();
      });
      return false;
    }
    batch(() => {
      this.#set(
        "items",
        produce((items) => {
          items.push({
            key: `${message.seq}:${message.clientId}`,
            clientId: message.clientId,
            seq: message.seq,
            from: message.from,
            name: message.name,
            text: message.text,
            sentAt: message.sentAt,
            mine,
            status: "sent",
          });
        }),
      );
      this.#sort();
    });
    return true;
  }

  #sort(): void {
    this.#set(
      "items",
      produce((items) => {
        items.sort((a, b) => {
          if (a.seq === undefined && b.seq === undefined) return 0;
          if (a.seq === undefined) return 1;
          if (b.seq === undefined) return -1;
          return a.seq - b.seq;
        });
      }),
    );
  }

  #isMine(message: ChatMessage): boolean {
    return message.from === this.#deps.selfId() || this.#mine.has(message.clientId);
  }

  #readMine(): string[] {
    try {
      const raw = this.#deps.storageKey ? this.#deps.storage?.getItem(this.#deps.storageKey) : null;
      return raw ? (JSON.parse(raw) as string[]) : [];
    } catch {
      return [];
    }
  }

  #rememberMine(key: string): void {
    this.#mine.add(key);
    if (!this.#deps.storageKey || !this.#deps.storage) return;
    try {
      this.#deps.storage.setItem(this.#deps.storageKey, JSON.stringify([...this.#mine].slice(-200)));
    } catch {
      // Storage full or unavailable: only this page remembers.
    }
  }
}
