import { createEffect, createSignal, onCleanup, Show } from "solid-js";
import { useCall } from "../state/context.tsx";
import { Icon, type IconName } from "./icon.tsx";

export type Panel = "chat" | "people";

function ControlButton(props: {
  icon: IconName;
  label: string;
  /** Toggle buttons announce their state; plain actions leave it undefined. */
  pressed?: boolean;
  /** Shown in red: a device that is off. */
  off?: boolean;
  shortcut?: string;
  badge?: number | string | undefined;
  testid: string;
  onClick: () => void;
  class?: string;
}) {
  return (
    <button
      type="button"
      class={`control ${props.class ?? ""}`}
      classList={{ off: props.off === true, on: props.pressed === true && props.off === undefined }}
      aria-label={props.label}
      aria-pressed={props.pressed}
      aria-keyshortcuts={props.shortcut?.toUpperCase()}
      title={props.shortcut ? `${props.label} (${props.shortcut.toUpperCase()})` : props.label}
      data-testid={props.testid}
      onClick={() => props.onClick()}
    >
      <Icon name={props.icon} />
      <span class="control-label" aria-hidden="true">
        {props.label}
      </span>
      <Show when={props.badge}>
        <span class="count-badge" data-testid={`${props.testid}-badge`} aria-hidden="true">
          {props.badge}
        </span>
      </Show>
    </button>
  );
}

/**
 * The call's controls. Labels are the device or panel ("Microphone"), and aria-pressed
 * says whether it is on, so a screen reader hears "Microphone, toggle button, not pressed".
 */
export function ControlBar(props: { panel: Panel | undefined; onPanel: (panel: Panel) => void; onSettings: () => void; onEndForAll: () => void }) {
  const call = useCall();
  const local = call.local.state;
  const [leaveMenu, setLeaveMenu] = createSignal(false);
  const canShare = typeof navigator !== "undefined" && typeof navigator.mediaDevices?.getDisplayMedia === "function";
  const unread = () => (call.chat.state.unread > 0 ? (call.chat.state.unread > 9 ? "9+" : call.chat.state.unread) : undefined);
  const count = () => Object.keys(call.state.peers).length + 1;
  let leaveGroup!: HTMLDivElement;
  // The menu closes on a click anywhere else, like any menu.
  createEffect(() => {
    if (!leaveMenu()) return;
    const outside = (event: PointerEvent) => {
      if (!leaveGroup.contains(event.target as Node)) setLeaveMenu(false);
    };
    document.addEventListener("pointerdown", outside);
    onCleanup(() => document.removeEventListener("pointerdown", outside));
  });

  return (
    <nav class="controls" aria-label="Call controls">
      <div class="control-group">
        <ControlButton icon={local.micOn ? "mic" : "micOff"} label="Microphone" pressed={local.micOn} off={!local.micOn} shortcut="m" testid="toggle-mic" onClick={() => void call.toggleMic()} />
        <ControlButton icon={local.cameraOn ? "camera" : "cameraOff"} label="Camera" pressed={local.cameraOn} off={!local.cameraOn} shortcut="v" testid="toggle-camera" onClick={() => void call.toggleCamera()} />
        <Show when={canShare}>
          <ControlButton icon="screen" label="Share screen" pressed={call.state.screenTrack !== undefined} shortcut="s" testid="toggle-screen" onClick={() => void call.toggleScreen()} />
        </Show>
      </div>
      <div class="control-group">
        <ControlButton icon="chat" label="Chat" pressed={props.panel === "chat"} shortcut="c" badge={unread()} testid="toggle-chat" onClick={() => props.onPanel("chat")} />
        <ControlButton icon="people" label="People" pressed={props.panel === "people"} shortcut="p" badge={call.state.lobby.length > 0 && call.isStaff ? `+${call.state.lobby.length}` : count()} testid="toggle-people" onClick={() => props.onPanel("people")} />
        <ControlButton icon="settings" label="Settings" shortcut="d" testid="open-settings" onClick={() => props.onSettings()} />
      </div>
      <div class="control-group leave-group" ref={leaveGroup}>
        <button
          type="button"
          class="control leave"
          aria-label="Leave the meeting"
          aria-haspopup={call.state.role === "host" ? "menu" : undefined}
          aria-expanded={call.state.role === "host" ? leaveMenu() : undefined}
          data-testid="leave"
          onClick={() => (call.state.role === "host" ? setLeaveMenu(!leaveMenu()) : call.leave())}
        >
          <Icon name="leave" />
          <span class="control-label" aria-hidden="true">
            Leave
          </span>
        </button>
        <Show when={leaveMenu()}>
          <div class="menu" role="menu" aria-label="Leave" onKeyDown={(e) => e.key === "Escape" && setLeaveMenu(false)}>
            <button role="menuitem" onClick={() => call.leave()} data-testid="leave-only" ref={(el) => queueMicrotask(() => el.focus())}>
              Leave the meeting
            </button>
            <button
              role="menuitem"
              class="danger"
              data-testid="end-for-all"
              onClick={() => {
                setLeaveMenu(false);
                props.onEndForAll();
              }}
            >
              End the meeting for everyone
            </button>
          </div>
        </Show>
      </div>
    </nav>
  );
}
