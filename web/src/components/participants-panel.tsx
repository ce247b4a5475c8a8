import { createSignal, For, Show } from "solid-js";
import { initialsOf } from "../lib/layout.ts";
import { streamOf } from "../state/call-types.ts";
import { useCall } from "../state/context.tsx";
import { Confirm } from "./dialog.tsx";
import { Icon } from "./icon.tsx";
import { NetworkBars } from "./network-bars.tsx";

/** Everyone in the meeting (and, for hosts, who waits), with host controls next to each name. */
export function ParticipantsPanel(props: { onClose: () => void; onEndForAll: () => void }) {
  const call = useCall();
  const [removing, setRemoving] = createSignal<{ id: string; name: string }>();
  const peers = () => Object.values(call.state.peers);
  const settings = () => call.state.settings;
  const micOn = (id: string) => {
    const mic = streamOf(call.state.peers[id]?.streams ?? {}, "mic");
    return mic !== undefined && !mic.paused;
  };
  const roleText = (role: string) => (role === "host" ? "Host" : role === "moderator" ? "Moderator" : "");

  return (
    <aside class="side-panel people-panel" aria-labelledby="people-title" data-testid="people-panel">
      <header>
        <h2 id="people-title">People ({peers().length + 1})</h2>
        <button class="icon-button ghost" aria-label="Close people" onClick={() => props.onClose()}>
          <Icon name="close" />
        </button>
      </header>

      <Show when={call.isStaff && call.state.lobby.length > 0}>
        <h3>Waiting to join</h3>
        <ul class="people">
          <For each={call.state.lobby}>
            {(entry) => (
              <li data-testid="lobby-entry">
                <span class="dot" style={{ "background-color": entry.avatar.color }} aria-hidden="true">
                  {entry.avatar.initials || initialsOf(entry.displayName)}
                </span>
                <span class="name">{entry.displayName}</span>
                <span class="actions">
                  <button class="small" onClick={() => void call.deny(entry.id)} aria-label={`Deny ${entry.displayName}`}>
                    Deny
                  </button>
                  <button class="small primary" onClick={() => void call.admit(entry.id)} aria-label={`Admit ${entry.displayName}`}>
                    Admit
                  </button>
                </span>
              </li>
            )}
          </For>
        </ul>
      </Show>

      <h3>In the meeting</h3>
      <ul class="people" aria-label="In the meeting">
        <li data-testid="person" data-self="true">
          <span class="dot" style={{ "background-color": call.state.avatar?.color ?? "#2a2f36" }} aria-hidden="true">
            {initialsOf(call.state.displayName)}
          </span>
          <span class="name">
            {call.state.displayName} <span class="muted">(you)</span>
            <Show when={roleText(call.state.role ?? "")}>
              <span class="role">{roleText(call.state.role ?? "")}</span>
            </Show>
          </span>
          <span class="state" aria-label={call.local.state.micOn ? "microphone on" : "microphone off"}>
            <Icon name={call.local.state.micOn ? "mic" : "micOff"} size={16} />
          </span>
        </li>
        <For each={peers()}>
          {(peer) => (
            <li data-testid="person" data-peer-id={peer.id}>
              <span class="dot" style={{ "background-color": peer.avatar.color }} aria-hidden="true">
                {initialsOf(peer.displayName)}
              </span>
              <span class="name">
                {peer.displayName}
                <Show when={roleText(peer.role)}>
                  <span class="role">{roleText(peer.role)}</span>
                </Show>
                <Show when={peer.presence === "reconnecting"}>
                  <span class="muted"> · reconnecting…</span>
                </Show>
              </span>
              <Show when={peer.quality !== "unknown"}>
                <NetworkBars quality={peer.quality} label />
              </Show>
              <span class="state" aria-label={micOn(peer.id) ? "microphone on" : "microphone off"}>
                <Icon name={micOn(peer.id) ? "mic" : "micOff"} size={16} />
              </span>
              <Show when={call.isStaff && (call.state.role === "host" || peer.role === "guest")}>
                <span class="actions">
                  <Show when={micOn(peer.id)}>
                    <button class="small" onClick={() => void call.mutePeer(peer.id)} aria-label={`Mute ${peer.displayName}`} data-testid="mute-peer">
                      Mute
                    </button>
                  </Show>
                  <button
                    class="small danger-outline"
                    onClick={() => setRemoving({ id: peer.id, name: peer.displayName })}
                    aria-label={`Remove ${peer.displayName}`}
                    data-testid="remove-peer"
                  >
                    <Icon name="removeUser" size={16} />
                  </button>
                </span>
              </Show>
            </li>
          )}
        </For>
      </ul>

      <Show when={call.isStaff && settings()}>
        <h3>Meeting settings</h3>
        <div class="switches">
          <label class="switch">
            <input type="checkbox" role="switch" checked={settings()!.locked} onChange={(e) => void call.setLocked(e.currentTarget.checked)} data-testid="lock-room" />
            <span>
              <strong>Lock the meeting</strong>
              <span class="muted">Nobody new can join, not even with the link.</span>
            </span>
          </label>
          <label class="switch">
            <input type="checkbox" role="switch" checked={settings()!.lobby} onChange={(e) => void call.setLobby(e.currentTarget.checked)} data-testid="lobby-room" />
            <span>
              <strong>Ask to join</strong>
              <span class="muted">Guests wait until a host admits them.</span>
            </span>
          </label>
          <label class="switch">
            <input type="checkbox" role="switch" checked={settings()!.p2p !== false} onChange={(e) => void call.setP2PAllowed(e.currentTarget.checked)} data-testid="p2p-room" />
            <span>
              <strong>Direct calls for two</strong>
              <span class="muted">Two people connect browser to browser; off, every call goes through the server.</span>
            </span>
          </label>
        </div>
        <Show when={call.state.role === "host"}>
          <button class="danger wide" onClick={() => props.onEndForAll()} data-testid="end-for-all-panel">
            End the meeting for everyone
          </button>
        </Show>
      </Show>

      <Confirm
        open={removing() !== undefined}
        title={`Remove ${removing()?.name ?? ""}?`}
        text="They leave the meeting at once and cannot come back to it."
        confirm="Remove"
        testid="confirm-remove"
        onConfirm={() => {
          const target = removing();
          if (target) void call.kick(target.id);
        }}
        onClose={() => setRemoving(undefined)}
      />
    </aside>
  );
}
