import { Match, Switch } from "solid-js";
import { useCall } from "../state/context.tsx";

/** What is happening to the connection, while it is not fine; gone by itself when it recovers. */
export function StatusBanner() {
  const call = useCall();
  return (
    <Switch>
      <Match when={call.state.signal === "reconnecting"}>
        <p class="banner" role="status" data-testid="reconnecting">
          <span class="spinner" aria-hidden="true" />
          Reconnecting… your place in the meeting is kept.
        </p>
      </Match>
      <Match when={call.state.media === "recovering"}>
        <p class="banner" role="status" data-testid="media-recovering">
          <span class="spinner" aria-hidden="true" />
          Reconnecting audio and video…
        </p>
      </Match>
      <Match when={call.state.media === "unavailable"}>
        <p class="banner warn" role="status" data-testid="media-unavailable">
          {call.state.mediaProblem ?? "Audio and video are unavailable right now."} Chat still works.
          <button class="small" onClick={() => void call.retryMedia()}>
            Try again
          </button>
        </p>
      </Match>
    </Switch>
  );
}
