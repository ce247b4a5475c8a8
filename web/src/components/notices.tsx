import { For, Show } from "solid-js";
import { useCall } from "../state/context.tsx";
import { Icon } from "./icon.tsx";

/** Short messages about the call (a host muted you, someone is waiting): announced politely. */
export function Notices() {
  const call = useCall();
  return (
    <div class="notices" role="region" aria-label="Notifications" aria-live="polite">
      <For each={call.state.notices}>
        {(notice) => (
          <div class="notice" data-tone={notice.tone} data-testid="notice">
            <span>{notice.text}</span>
            <Show when={notice.action}>
              <button
                class="small"
                onClick={() => {
                  notice.action!.run();
                  call.dismiss(notice.id);
                }}
              >
                {notice.action!.label}
              </button>
            </Show>
            <button class="icon-button ghost small" aria-label="Dismiss" onClick={() => call.dismiss(notice.id)}>
              <Icon name="close" size={16} />
            </button>
          </div>
        )}
      </For>
    </div>
  );
}
