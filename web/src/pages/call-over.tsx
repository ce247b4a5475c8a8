import { Show } from "solid-js";
import { navigate } from "../lib/router.ts";
import type { CallErrorKind } from "../state/call-errors.ts";
import { useCall } from "../state/context.tsx";

type Kind = CallErrorKind | "left";

const PAGES: Record<Kind, { title: string; text: string; rejoin?: string }> = {
  left: { title: "You left the meeting", text: "Others can keep talking. You can come back while the meeting goes on.", rejoin: "Rejoin" },
  ended: { title: "The meeting has ended", text: "The host ended this meeting for everyone." },
  kicked: { title: "You were removed from the meeting", text: "A host removed you. You cannot rejoin this meeting." },
  denied: { title: "You were not let in", text: "A host declined your request to join." },
  replaced: { title: "You joined from somewhere else", text: "This meeting is open in another tab or device.", rejoin: "Use this tab instead" },
  "not-found": { title: "This meeting does not exist", text: "Check the link or code, or start a new meeting." },
  locked: { title: "This meeting is locked", text: "The host has locked it: nobody else can join right now.", rejoin: "Try again" },
  full: { title: "This meeting is full", text: "Try again when someone leaves.", rejoin: "Try again" },
  forbidden: { title: "You cannot join this meeting", text: "It is by invitation only, or you were removed from it." },
  reload: { title: "Meridian was updated", text: "Reload the page to join with the new version." },
  other: { title: "Could not join the meeting", text: "Something went wrong on the way.", rejoin: "Try again" },
};

/** Every way a visit can end: left, ended, removed, refused, or an error — and where to go next. */
export function CallOver(props: { kind: Kind }) {
  const call = useCall();
  const page = () => PAGES[props.kind] ?? PAGES.other;
  // The session's own words (e.g. a full room's capacity) are more precise than the generic text.
  const detail = () => (props.kind === "other" || props.kind === "full" || props.kind === "forbidden" ? call.state.error?.message : undefined);
  return (
    <main class="message-page" data-page={`over-${props.kind}`} data-testid="call-over" data-kind={props.kind}>
      <span class="logo" aria-hidden="true" />
      <h1>{page().title}</h1>
      <p class="muted" data-testid="call-ended">
        {page().text}
      </p>
      <Show when={detail() && detail() !== page().text}>
        <p class="detail" role="alert" data-testid="call-error">
          {detail()}
        </p>
      </Show>
      <div class="row">
        <Show when={page().rejoin}>
          <button class="primary" onClick={() => call.restart()} data-testid="rejoin">
            {page().rejoin}
          </button>
        </Show>
        <Show when={props.kind === "reload"}>
          <button class="primary" onClick={() => location.reload()}>
            Reload
          </button>
        </Show>
        <button classList={{ primary: !page().rejoin && props.kind !== "reload" }} onClick={() => navigate("/")} data-testid="home">
          {props.kind === "not-found" || props.kind === "ended" ? "Start a new meeting" : "Home"}
        </button>
      </div>
    </main>
  );
}
