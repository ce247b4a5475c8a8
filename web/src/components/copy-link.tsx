import { createSignal, onCleanup } from "solid-js";
import { Icon } from "./icon.tsx";

/** Copies the meeting link; says so for a moment (and to screen readers). */
export function CopyLink(props: { compact?: boolean }) {
  const [copied, setCopied] = createSignal(false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));
  const copy = async () => {
    const url = `${location.origin}${location.pathname}`;
    await navigator.clipboard?.writeText(url).catch(() => undefined);
    setCopied(true);
    clearTimeout(timer);
    timer = setTimeout(() => setCopied(false), 2000);
  };
  return (
    <button type="button" class={props.compact ? "icon-button" : undefined} onClick={copy} aria-label={props.compact ? "Copy the meeting link" : undefined} data-testid="copy-link">
      <Icon name="copy" size={18} />
      {props.compact ? null : <span aria-live="polite">{copied() ? "Link copied" : "Copy link"}</span>}
    </button>
  );
}
