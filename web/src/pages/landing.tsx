import { createSignal, For, onMount, Show } from "solid-js";
import { createRoom, parseRoomInput } from "../lib/api.ts";
import { forgetRoom, recentRooms, whenText } from "../lib/recent-rooms.ts";
import { navigate } from "../lib/router.ts";
import { Icon } from "../components/icon.tsx";

/** Loads the room page's code while the user reads this one, so the next page opens at once. */
export function preloadRoomPage(): void {
  void import("./room.tsx");
}

export function LandingPage() {
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal<string>();
  const [code, setCode] = createSignal("");
  const [recent, setRecent] = createSignal(recentRooms());

  onMount(() => {
    document.title = "Meridian";
    const idle = (globalThis as { requestIdleCallback?: (cb: () => void) => void }).requestIdleCallback ?? ((cb: () => void) => setTimeout(cb, 300));
    idle(preloadRoomPage);
  });

  const create = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const { roomId } = await createRoom();
      navigate(`/r/${roomId}`);
    } catch (e) {
      setError(`Could not create a meeting: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  const joinByCode = (event: SubmitEvent) => {
    event.preventDefault();
    const roomId = parseRoomInput(code());
    if (roomId) navigate(`/r/${roomId}`);
    else setError("That is not a meeting code or link. A code looks like abcd-efgh-ijkl.");
  };

  return (
    <main class="landing" data-page="landing">
      <header class="landing-head">
        <span class="logo" aria-hidden="true" />
        <span class="wordmark">Meridian</span>
      </header>
      <section class="hero" aria-labelledby="hero-title">
        <h1 id="hero-title">Video calls that start next to you.</h1>
        <p class="tagline">Open a meeting, share the link, talk. No account, no install — and it runs on your own infrastructure.</p>
        <div class="start">
          <button class="primary big" onClick={create} disabled={busy()} data-testid="create-room">
            <Icon name="plus" />
            {busy() ? "Creating…" : "New meeting"}
          </button>
          <form class="join-by-code" onSubmit={joinByCode} aria-label="Join a meeting">
            <label for="room-code" class="sr-only">
              Meeting code or link
            </label>
            <input
              id="room-code"
              value={code()}
              onInput={(e) => {
                setCode(e.currentTarget.value);
                setError(undefined);
              }}
              placeholder="Enter a code or link"
              autocomplete="off"
              autocapitalize="off"
              spellcheck={false}
              aria-describedby="room-code-hint"
            />
            <button type="submit" disabled={!code().trim()}>
              Join
            </button>
          </form>
          <p id="room-code-hint" class="hint">
            A code looks like <code>abcd-efgh-ijkl</code>.
          </p>
        </div>
        <Show when={error()}>
          <p class="error" role="alert">
            {error()}
          </p>
        </Show>
      </section>
      <Show when={recent().length > 0}>
        <section class="recent" aria-labelledby="recent-title">
          <h2 id="recent-title">
            <Icon name="clock" size={18} />
            Recent meetings
          </h2>
          <ul>
            <For each={recent()}>
              {(room) => (
                <li>
                  <a href={`/r/${room.roomId}`} onClick={(e) => (e.preventDefault(), navigate(`/r/${room.roomId}`))}>
                    <span class="code">{room.roomId}</span>
                    <span class="muted">
                      {room.role === "host" ? "You hosted" : "You joined"} · {whenText(room.lastJoinedAt)}
                    </span>
                  </a>
                  <button class="icon-button ghost" aria-label={`Remove ${room.roomId} from recent meetings`} onClick={() => setRecent(forgetRoom(room.roomId))}>
                    <Icon name="close" size={16} />
                  </button>
                </li>
              )}
            </For>
          </ul>
        </section>
      </Show>
      <footer class="landing-foot muted">Open source · self-hostable · signalling at the edge, media on your SFU nodes</footer>
    </main>
  );
}
