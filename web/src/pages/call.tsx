import { createResource, createSignal, For, Match, onCleanup, onMount, Show, Switch } from "solid-js";
import { getRoom } from "../lib/api.ts";
import { navigate } from "../lib/router.ts";
import { CallSession } from "../state/call.ts";
import { VideoTile } from "../components/video-tile.tsx";

const NAME_KEY = "meridian.displayName";

export function CallPage(props: { roomId: string }) {
  const call = new CallSession(props.roomId);
  onMount(() => call.prepare());
  onCleanup(() => call.leave());
  const [room] = createResource(() => props.roomId, getRoom);
  const [name, setName] = createSignal(localStorage.getItem(NAME_KEY) ?? "");
  const [copied, setCopied] = createSignal(false);

  const join = (event?: SubmitEvent) => {
    event?.preventDefault();
    const displayName = name().trim() || "Guest";
    localStorage.setItem(NAME_KEY, displayName);
    void call.join(displayName);
  };

  const rejoin = () => {
    call.prepare();
    join();
  };

  const copyLink = async () => {
    await navigator.clipboard?.writeText(location.href).catch(() => undefined);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };

  const peers = () => Object.values(call.state.peers);
  const count = () => peers().length + 1;

  return (
    <main class="call">
      <Switch>
        <Match when={room.error}>
          <section class="panel">
            <h1>This room does not exist</h1>
            <p>Check the link, or start a new meeting.</p>
            <button class="primary" onClick={() => navigate("/")}>Home</button>
          </section>
        </Match>
        <Match when={call.state.phase === "idle" || call.state.phase === "joining"}>
          <form class="panel" onSubmit={join}>
            <h1>Ready to join?</h1>
            <p class="muted">Room {props.roomId}</p>
            <div class="preview">
              <VideoTile label={name().trim() || "You"} tracks={call.state.localStream?.getVideoTracks() ?? []} self />
            </div>
            <Show when={call.state.mediaError}>
              <p class="error" role="alert">
                {call.state.mediaError}: you can still join and listen.
              </p>
            </Show>
            <label for="display-name">Your name</label>
            <input id="display-name" value={name()} onInput={(e) => setName(e.currentTarget.value)} maxLength={64} placeholder="Guest" />
            <button
              class="primary"
              type="submit"
              disabled={call.state.phase === "joining" || room.loading}
              data-testid="join"
              data-ready={call.state.ready ? "true" : "false"}
            >
              {call.state.phase === "joining" ? "Joining…" : "Join"}
            </button>
          </form>
        </Match>
        <Match when={call.state.phase === "lobby"}>
          <section class="panel" data-testid="lobby">
            <h1>Waiting to be let in</h1>
            <p class="muted">A host of this call will admit you shortly.</p>
            <button onClick={() => call.leave()}>Cancel</button>
          </section>
        </Match>
        <Match when={call.state.phase === "joined" || call.state.phase === "reconnecting"}>
          <Show when={call.state.phase === "reconnecting"}>
            <p class="banner" role="status" data-testid="reconnecting">
              Reconnecting…
            </p>
          </Show>
          <section class="grid" data-count={Math.min(count(), 9)} aria-label="Participants">
            <VideoTile label={`${name().trim() || "Guest"} (you)`} tracks={call.state.localStream?.getVideoTracks() ?? []} self />
            <For each={peers()}>
              {(peer) => (
                <VideoTile label={peer.displayName} peerId={peer.id} tracks={Object.values(peer.media).map((m) => m.track)} />
              )}
            </For>
          </section>
          <nav class="controls" aria-label="Call controls">
            <button onClick={copyLink} aria-label="Copy the meeting link">
              {copied() ? "Link copied" : "Copy link"}
            </button>
            <button class="danger" onClick={() => call.leave()} data-testid="leave">
              Leave
            </button>
          </nav>
        </Match>
        <Match when={call.state.phase === "left"}>
          <section class="panel">
            <h1>You left the meeting</h1>
            <div class="row">
              <button class="primary" onClick={rejoin}>
                Rejoin
              </button>
              <button onClick={() => navigate("/")}>Home</button>
            </div>
          </section>
        </Match>
        <Match when={call.state.phase === "ended" || call.state.phase === "removed"}>
          <section class="panel">
            <h1>{call.state.phase === "ended" ? "The call has ended" : "You are no longer in the call"}</h1>
            <p class="muted" data-testid="call-ended">
              {call.state.error}
            </p>
            <button class="primary" onClick={() => navigate("/")}>Home</button>
          </section>
        </Match>
        <Match when={call.state.phase === "failed"}>
          <section class="panel">
            <h1>Could not stay in the call</h1>
            <p class="error" role="alert" data-testid="call-error">
              {call.state.error}
            </p>
            <div class="row">
              <button class="primary" onClick={rejoin}>
                Try again
              </button>
              <button onClick={() => navigate("/")}>Home</button>
            </div>
          </section>
        </Match>
      </Switch>
      <Show when={call.state.phase === "joined"}>
        <p class="sr-only" aria-live="polite">
          {count()} in the call
        </p>
      </Show>
    </main>
  );
}
