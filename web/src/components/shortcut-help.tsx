import { For } from "solid-js";
import type { Shortcut } from "../lib/shortcuts.ts";
import { Dialog } from "./dialog.tsx";

export function ShortcutHelp(props: { open: boolean; onClose: () => void; shortcuts: readonly Shortcut[] }) {
  return (
    <Dialog open={props.open} onClose={props.onClose} title="Keyboard shortcuts" testid="shortcut-help">
      <dl class="shortcuts">
        <For each={props.shortcuts}>
          {(s) => (
            <>
              <dt>
                <kbd>{s.key === "Escape" ? "Esc" : s.key.toUpperCase()}</kbd>
              </dt>
              <dd>{s.label}</dd>
            </>
          )}
        </For>
      </dl>
    </Dialog>
  );
}
