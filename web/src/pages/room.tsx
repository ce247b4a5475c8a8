import { createEffect, createResource, Match, onCleanup, onMount, Switch } from "solid-js";
import { getRoom } from "../lib/api.ts";
import { CallSession } from "../state/call.ts";
import { CallProvider } from "../state/context.tsx";
import { CallOver } from "./call-over.tsx";
import { InCall } from "./in-call.tsx";
import { LobbyWait } from "./lobby.tsx";
import { PreJoin } from "./prejoin.tsx";
import "../call.css";

const TITLES: Record<string, string> = {
  prejoin: "Ready to join?",
  joining: "Joining…",
  lobby: "Waiting to be let in",
  joined: "In the meeting",
  left: "You left",
  ended: "Meeting ended",
  removed: "Removed from the meeting",
  failed: "Could not join",
};

/**
 * `/r/:roomId`: one call session for the page's life, through every phase — pre-join,
 * lobby, call, and the pages after it. The session is provided to everything below.
 */
export default function RoomPage(props: { roomId: string }) {
  const call = new CallSession(props.roomId);
  const [room] = createResource(() => props.roomId, getRoom);

  // Leaving the page (tab closed, reload) leaves the call at once: the others do not see a ghost.
  const onPageHide = () => call.dispose();
  onMount(() => {
    addEventListener("pagehide", onPageHide);
    call.prepare();
  });
  onCleanup(() => {
    removeEventListener("pagehide", onPageHide);
    call.dispose();
  });
  createEffect(() => (document.title = `${TITLES[call.state.phase] ?? "Meeting"} · Meridian`));

  const missing = () => (room.error as { status?: number } | undefined)?.status === 404 || call.state.error?.kind === "not-found";
  const ended = () => room()?.ended === true && call.state.phase === "prejoin";

  return (
    <CallProvider call={call}>
      <Switch>
        <Match when={missing()}>
          <CallOver kind="not-found" />
        </Match>
        <Match when={ended()}>
          <CallOver kind="ended" />
        </Match>
        <Match when={call.state.phase === "prejoin" || call.state.phase === "joining"}>
          <PreJoin participants={room()?.participants} lobby={room()?.lobby} />
        </Match>
        <Match when={call.state.phase === "lobby"}>
          <LobbyWait />
        </Match>
        <Match when={call.state.phase === "joined"}>
          <InCall />
        </Match>
        <Match when={call.state.phase === "left"}>
          <CallOver kind="left" />
        </Match>
        <Match when={call.state.phase === "ended"}>
          <CallOver kind="ended" />
        </Match>
        <Match when={call.state.phase === "removed" || call.state.phase === "failed"}>
          <CallOver kind={call.state.error?.kind ?? "other"} />
        </Match>
      </Switch>
    </CallProvider>
  );
}
