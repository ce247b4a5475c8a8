import { Show } from "solid-js";
import { explainProblem } from "../lib/devices.ts";
import { useCall } from "../state/context.tsx";
import { Icon } from "./icon.tsx";

/** What went wrong with the camera or microphone and what to do, with a retry. */
export function DeviceHelp() {
  const call = useCall();
  const local = call.local.state;
  const problems = () => {
    const list: Array<{ title: string; help: string }> = [];
    const camera = local.cameraProblem;
    const mic = local.micProblem;
    // One message when both failed for the same reason (one permission prompt covers both).
    if (camera && camera === mic) {
      list.push(explainProblem("camera and microphone", camera));
      return list;
    }
    if (camera) list.push(explainProblem("camera", camera));
    if (mic) list.push(explainProblem("microphone", mic));
    return list;
  };
  return (
    <Show when={problems().length > 0}>
      <div class="device-help" role="alert" data-testid="device-help" data-problem={local.cameraProblem ?? local.micProblem}>
        <Icon name="alert" />
        <div>
          {problems().map((p) => (
            <>
              <strong>{p.title}</strong>
              <p>{p.help}</p>
            </>
          ))}
          <p class="muted">You can still join: others will see your initials, and you can use the chat.</p>
          <button type="button" class="small" onClick={() => void call.local.retry()}>
            Try again
          </button>
        </div>
      </div>
    </Show>
  );
}
