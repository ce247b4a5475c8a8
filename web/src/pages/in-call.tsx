import { createEffect, createSignal, For, on, onCleanup, onMount, Show } from "solid-js";
import { AudioSink } from "../components/audio-sink.tsx";
import { ChatPanel } from "../components/chat-panel.tsx";
import { ControlBar, type Panel } from "../components/control-bar.tsx";
import { CopyLink } from "../components/copy-link.tsx";
import { Confirm } from "../components/dialog.tsx";
import { Icon } from "../components/icon.tsx";
import { LobbyRequests } from "../components/lobby-requests.tsx";
import { NetworkBars } from "../components/network-bars.tsx";
import { Notices } from "../components/notices.tsx";
import { ParticipantsPanel } from "../components/participants-panel.tsx";
import { SettingsDialog } from "../components/settings-dialog.tsx";
import { ShortcutHelp } from "../components/shortcut-help.tsx";
import { Stage } from "../components/stage.tsx";
import { StatusBanner } from "../components/status-banner.tsx";
import { installShortcuts, type Shortcut } from "../lib/shortcuts.ts";
import type { MediaPath } from "../state/call-types.ts";
import { useCall } from "../state/context.tsx";

const PATH_LABEL: Record<MediaPath, string> = { direct: "Direct", relayed: "Relayed", server: "Via server" };
const PATH_HELP: Record<MediaPath, string> = {
  direct: "Your media goes straight to the other person's browser.",
  relayed: "Your media goes to the other person through a relay server.",
  server: "Your media goes through the meeting's media server.",
};

/** The call itself: video stage, side panel (chat or people), controls, and what overlays them. */
export function InCall() {
  const call = useCall();
  const [panel, setPanel] = createSignal<Panel>();
  const [settingsOpen, setSettingsOpen] = createSignal(false);
  const [helpOpen, setHelpOpen] = createSignal(false);
  const [confirmEnd, setConfirmEnd] = createSignal(false);
  const [announcement, setAnnouncement] = createSignal("");

  const togglePanel = (which: Panel) => setPanel(panel() === which ? undefined : which);
  createEffect(() => call.chat.setOpen(panel() === "chat"));
  onCleanup(() => call.chat.setOpen(false));

  const shortcuts: Shortcut[] = [
    { key: "m", label: "Microphone on / off", run: () => void call.toggleMic() },
    { key: "v", label: "Camera on / off", run: () => void call.toggleCamera() },
    { key: "s", label: "Share screen / stop sharing", run: () => void call.toggleScreen() },
    { key: "c", label: "Open / close chat", run: () => togglePanel("chat") },
    { key: "p", label: "Open / close people", run: () => togglePanel("people") },
    { key: "d", label: "Device settings", run: () => setSettingsOpen(true) },
    { key: "?", label: "Show these shortcuts", run: () => setHelpOpen(true) },
    { key: "Escape", label: "Close the side panel", run: () => setPanel(undefined) },
  ];
  onMount(() => onCleanup(installShortcuts(() => (settingsOpen() || helpOpen() || confirmEnd() ? [] : shortcuts))));

  // Screen reader users hear who comes and goes.
  createEffect(
    on(
      () => Object.values(call.state.peers).map((p) => [p.id, p.displayName] as const),
      (now, before) => {
        if (!before) return;
        const was = new Map(before);
        const is = new Map(now);
        const joined = now.filter(([id]) => !was.has(id)).map(([, name]) => `${name} joined`);
        const left = before.filter(([id]) => !is.has(id)).map(([, name]) => `${name} left`);
        if (joined.length || left.length) setAnnouncement([...joined, ...left].join(". "));
      },
    ),
  );

  const audioTracks = () =>
    Object.values(call.state.peers).flatMap((peer) =>
      Object.values(peer.streams)
        .filter((s) => s.kind === "audio" && s.track)
        .map((s) => s.track!),
    );

  return (
    <main class="call" data-page="call" classList={{ "with-panel": panel() !== undefined }}>
      <header class="call-head">
        <span class="code" aria-label={`Meeting ${call.roomId}`}>
          {call.roomId}
        </span>
        <Show when={call.state.settings?.locked}>
          <span class="pill" data-testid="locked-badge">
            <Icon name="lock" size={14} />
            Locked
          </span>
        </Show>
        <CopyLink compact />
        <span class="spacer" />
        <Show when={call.state.mediaPath}>
          {(path) => (
            <span class="pill subtle media-path" data-testid="media-path" data-path={path()} title={PATH_HELP[path()]} aria-label={`Media path: ${PATH_LABEL[path()]}`}>
              {PATH_LABEL[path()]}
            </span>
          )}
        </Show>
        <Show when={call.state.quality !== "unknown"}>
          <span class="uplink">
            <NetworkBars quality={call.state.quality} label />
          </span>
        </Show>
        <button class="icon-button ghost" aria-label="Keyboard shortcuts" aria-keyshortcuts="?" onClick={() => setHelpOpen(true)}>
          <Icon name="keyboard" />
        </button>
      </header>
      <StatusBanner />
      <div class="call-body">
        <Stage />
        <Show when={panel() === "chat"}>
          <ChatPanel onClose={() => setPanel(undefined)} />
        </Show>
        <Show when={panel() === "people"}>
          <ParticipantsPanel onClose={() => setPanel(undefined)} onEndForAll={() => setConfirmEnd(true)} />
        </Show>
      </div>
      <ControlBar panel={panel()} onPanel={togglePanel} onSettings={() => setSettingsOpen(true)} onEndForAll={() => setConfirmEnd(true)} />
      <LobbyRequests />
      <Notices />
      <For each={audioTracks()}>{(track) => <AudioSink track={track} speakerId={call.local.state.speakerId} />}</For>
      <SettingsDialog open={settingsOpen()} onClose={() => setSettingsOpen(false)} />
      <ShortcutHelp open={helpOpen()} onClose={() => setHelpOpen(false)} shortcuts={shortcuts} />
      <Confirm
        open={confirmEnd()}
        title="End the meeting for everyone?"
        text="Everyone is removed from the call and the link stops working."
        confirm="End for everyone"
        testid="confirm-end"
        onConfirm={() => void call.endForAll()}
        onClose={() => setConfirmEnd(false)}
      />
      <p class="sr-only" aria-live="polite">
        {announcement()}
      </p>
    </main>
  );
}
