import { For, Show } from "solid-js";
import { useCall } from "../state/context.tsx";

/** For hosts and moderators: who is waiting in the lobby, to admit or deny on the spot. */
export function LobbyRequests() {
  const call = useCall();
  return (
    <Show when={call.isStaff && call.state.lobby.length > 0}>
      <section class="lobby-requests" aria-label="Waiting to join" data-testid="lobby-requests">
        <h2>
          {call.state.lobby.length} waiting to join
        </h2>
        <ul>
          <For each={call.state.lobby}>
            {(entry) => (
              <li data-testid="lobby-entry">
                <span class="dot" style={{ "background-color": entry.avatar.color }} aria-hidden="true">
                  {entry.avatar.initials}
                </span>
                <span class="name">{entry.displayName}</span>
                <button class="small" onClick={() => void call.deny(entry.id)} aria-label={`Deny ${entry.displayName}`}>
                  Deny
                </button>
                <button class="small primary" onClick={() => void call.admit(entry.id)} aria-label={`Admit ${entry.displayName}`} data-testid="admit">
                  Admit
                </button>
              </li>
            )}
          </For>
        </ul>
      </section>
    </Show>
  );
}
