/** Single-key shortcuts for the call, ignored while typing and with modifier keys. */

export interface Shortcut {
  readonly key: string;
  readonly label: string;
  readonly run: () => void;
}

export function isTyping(target: EventTarget | null): boolean {
  if (typeof HTMLElement === "undefined" || !(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  const type = (target as HTMLInputElement).type;
  return !["checkbox", "radio", "button", "submit", "range"].includes(type);
}

/** The shortcut a key event means, if any. */
export function shortcutFor(event: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "altKey" | "target">, shortcuts: readonly Shortcut[]): Shortcut | undefined {
  if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return undefined;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  return shortcuts.find((s) => s.key === key);
}

export function installShortcuts(shortcuts: () => readonly Shortcut[]): () => void {
  const onKey = (event: KeyboardEvent) => {
    if (event.repeat || event.defaultPrevented) return;
    const shortcut = shortcutFor(event, shortcuts());
    if (!shortcut) return;
    event.preventDefault();
    shortcut.run();
  };
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}
