import { createEffect, createSignal, Show } from "solid-js";
import { DeviceHelp } from "../components/device-help.tsx";
import { DevicePickers } from "../components/device-pickers.tsx";
import { Icon } from "../components/icon.tsx";
import { LevelMeter } from "../components/level-meter.tsx";
import { CopyLink } from "../components/copy-link.tsx";
import { VideoTile } from "../components/video-tile.tsx";
import { useCall } from "../state/context.tsx";

const NAME_KEY = "meridian.displayName";

/**
 * Before the call: see yourself, hear your microphone move the meter, pick devices, say
 * who you are. Meanwhile the session is already connected (hello, transports), so the
 * click costs one round trip.
 */
export function PreJoin(props: { participants: number | undefined; lobby: boolean | undefined }) {
  const call = useCall();
  const local = call.local.state;
  const [name, setName] = createSignal(localStorage.getItem(NAME_KEY) ?? "");
  let nameEdited = name() !== "";

  // The profile's or room's name fills the field until the user types their own.
  createEffect(() => {
    const suggested = call.state.suggestedName;
    if (suggested && !nameEdited) setName(suggested);
  });

  const join = (event: SubmitEvent) => {
    event.preventDefault();
    const displayName = name().trim() || "Guest";
    localStorage.setItem(NAME_KEY, displayName);
    void call.join(displayName);
  };

  const who = () => {
    const n = props.participants;
    if (n === undefined) return "";
    if (n === 0) return "Nobody is here yet — you will be the first.";
    return `${n} ${n === 1 ? "person is" : "people are"} in this meeting.`;
  };

  return (
    <main class="prejoin" data-page="prejoin">
      <section class="prejoin-preview" aria-label="Your camera and microphone">
        <VideoTile name={name().trim()} track={local.cameraTrack} self mirrored micOff={!local.micOn} avatarColor={call.state.avatar?.color}>
          <div class="preview-toggles">
            <button
              type="button"
              class="round"
              classList={{ off: !local.micOn }}
              aria-pressed={local.micOn}
              aria-label="Microphone"
              data-testid="prejoin-mic"
              onClick={() => void call.toggleMic()}
            >
              <Icon name={local.micOn ? "mic" : "micOff"} />
            </button>
            <button
              type="button"
              class="round"
              classList={{ off: !local.cameraOn }}
              aria-pressed={local.cameraOn}
              aria-label="Camera"
              data-testid="prejoin-camera"
              onClick={() => void call.toggleCamera()}
            >
              <Icon name={local.cameraOn ? "camera" : "cameraOff"} />
            </button>
          </div>
        </VideoTile>
        <LevelMeter track={local.micTrack} muted={!local.micOn} />
        <DeviceHelp />
      </section>

      <form class="prejoin-form" onSubmit={join} aria-labelledby="prejoin-title">
        <h1 id="prejoin-title">Ready to join?</h1>
        <p class="muted room-line">
          Meeting <span class="code">{call.roomId}</span>
        </p>
        <Show when={who()}>
          <p class="muted" data-testid="prejoin-count">
            {who()}
          </p>
        </Show>
        <label for="display-name">Your name</label>
        <input
          id="display-name"
          value={name()}
          onInput={(e) => {
            nameEdited = true;
            setName(e.currentTarget.value);
          }}
          maxLength={64}
          placeholder="Guest"
          autocomplete="name"
        />
        <Show when={call.state.mediaProblem}>
          <p class="warning" role="status">
            {call.state.mediaProblem} You can still join, chat and listen later.
          </p>
        </Show>
        <Show when={props.lobby && call.state.role === "guest"}>
          <p class="muted">A host will let you in after you ask to join.</p>
        </Show>
        <div class="row">
          <button
            class="primary big"
            type="submit"
            disabled={call.state.phase === "joining"}
            data-testid="join"
            data-ready={call.state.ready ? "true" : "false"}
          >
            {call.state.phase === "joining" ? "Joining…" : props.lobby && call.state.role === "guest" ? "Ask to join" : "Join now"}
          </button>
          <CopyLink />
        </div>
        <p class="muted small-print">
          Joining with {local.micOn ? "microphone on" : "microphone off"} and {local.cameraOn ? "camera on" : "camera off"}. Shortcuts in the call: M microphone, V camera.
        </p>
        <DevicePickers />
      </form>
    </main>
  );
}
