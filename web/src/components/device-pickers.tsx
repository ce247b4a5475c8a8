import { For, Show } from "solid-js";
import { canPickSpeaker, type DeviceOption } from "../lib/devices.ts";
import { useCall } from "../state/context.tsx";
import { Icon, type IconName } from "./icon.tsx";

function Picker(props: {
  id: string;
  label: string;
  icon: IconName;
  options: DeviceOption[];
  value: string | undefined;
  empty: string;
  onPick: (id: string) => void;
}) {
  return (
    <div class="picker">
      <label for={props.id}>
        <Icon name={props.icon} size={16} />
        {props.label}
      </label>
      <select id={props.id} disabled={props.options.length === 0} onChange={(e) => props.onPick(e.currentTarget.value)}>
        <Show when={props.options.length > 0} fallback={<option value="">{props.empty}</option>}>
          {/* `selected` per option: a select's value set before its options exist would be lost. */}
          <For each={props.options}>
            {(option) => (
              <option value={option.id} selected={option.id === props.value}>
                {option.label}
              </option>
            )}
          </For>
        </Show>
      </select>
    </div>
  );
}

/** Camera, microphone and speaker choices; the same before and during the call. */
export function DevicePickers() {
  const call = useCall();
  const local = call.local.state;
  return (
    <div class="pickers">
      <Picker id="pick-camera" label="Camera" icon="camera" options={local.cameras} value={local.cameraId} empty="No camera found" onPick={(id) => void call.selectCamera(id)} />
      <Picker id="pick-mic" label="Microphone" icon="mic" options={local.mics} value={local.micId} empty="No microphone found" onPick={(id) => void call.selectMic(id)} />
      <Show when={canPickSpeaker()}>
        <Picker id="pick-speaker" label="Speaker" icon="speaker" options={local.speakers} value={local.speakerId} empty="System default" onPick={(id) => call.selectSpeaker(id)} />
      </Show>
    </div>
  );
}
