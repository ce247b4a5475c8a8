import { createEffect, createSignal, For, on, onMount, Show } from "solid-js";
import { MAX_CHAT_CHARS } from "@meridian/protocol";
import { useCall } from "../state/context.tsx";
import { Icon } from "./icon.tsx";

const time = (at: number) => new Date(at).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });

/** The meeting's chat: history, live messages, ours while they are on their way. */
export function ChatPanel(props: { onClose: () => void }) {
  const call = useCall();
  const chat = call.chat;
  const [draft, setDraft] = createSignal("");
  let list!: HTMLOListElement;
  let input!: HTMLTextAreaElement;

  onMount(() => {
    list.scrollTop = list.scrollHeight;
    input.focus();
  });
  // Follow new messages when the reader is at the bottom; do not yank them from history they scrolled to.
  createEffect(
    on(
      () => chat.state.items.length,
      () => {
        const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
        if (nearBottom) queueMicrotask(() => (list.scrollTop = list.scrollHeight));
      },
      { defer: true },
    ),
  );

  const send = (event?: SubmitEvent) => {
    event?.preventDefault();
    const text = draft().trim();
    if (!text) return;
    setDraft("");
    void chat.send(text);
    queueMicrotask(() => (list.scrollTop = list.scrollHeight));
  };

  return (
    <aside class="side-panel chat-panel" aria-labelledby="chat-title" data-testid="chat-panel">
      <header>
        <h2 id="chat-title">Chat</h2>
        <button class="icon-button ghost" aria-label="Close chat" onClick={() => props.onClose()}>
          <Icon name="close" />
        </button>
      </header>
      <ol ref={list} class="messages" aria-live="polite" aria-relevant="additions" aria-label="Messages">
        <Show when={chat.state.hasMore}>
          <li class="more">
            <button class="small" disabled={chat.state.loading} onClick={() => void chat.loadEarlier()}>
              {chat.state.loading ? "Loading…" : "Show earlier messages"}
            </button>
          </li>
        </Show>
        <Show when={chat.state.items.length === 0}>
          <li class="empty muted">No messages yet. Everyone in the meeting sees what you write here, including people who join later.</li>
        </Show>
        <For each={chat.state.items}>
          {(item) => (
            <li class="message" classList={{ mine: item.mine }} data-testid="chat-message" data-status={item.status}>
              <div class="meta">
                <strong>{item.mine ? "You" : item.name}</strong>
                <time datetime={new Date(item.sentAt).toISOString()}>{time(item.sentAt)}</time>
              </div>
              <p class="text">{item.text}</p>
              <Show when={item.status === "sending"}>
                <span class="status muted">Sending…</span>
              </Show>
              <Show when={item.status === "failed"}>
                <span class="status error">
                  Not sent.{" "}
                  <button class="link" onClick={() => void chat.resendPending()}>
                    Retry
                  </button>
                </span>
              </Show>
            </li>
          )}
        </For>
      </ol>
      <form class="composer" onSubmit={send}>
        <label for="chat-input" class="sr-only">
          Message to everyone
        </label>
        <textarea
          ref={input}
          id="chat-input"
          rows={1}
          maxLength={MAX_CHAT_CHARS}
          placeholder="Message everyone"
          value={draft()}
          onInput={(e) => setDraft(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
        />
        <button type="submit" class="icon-button primary" aria-label="Send message" disabled={!draft().trim()} data-testid="chat-send">
          <Icon name="send" size={18} />
        </button>
      </form>
    </aside>
  );
}
