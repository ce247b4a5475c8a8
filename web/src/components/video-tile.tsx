import { createEffect, onCleanup, onMount, Show, type JSX } from "solid-js";
import { initialsOf } from "../lib/layout.ts";
import type { Quality } from "../lib/network-quality.ts";
import { Icon } from "./icon.tsx";
import { NetworkBars } from "./network-bars.tsx";

export interface VideoTileProps {
  readonly name: string;
  /** The video to show; the initials show while there is none (camera off, not yet received). */
  readonly track?: MediaStreamTrack | undefined;
  readonly self?: boolean;
  readonly peerId?: string;
  readonly source?: "camera" | "screen";
  /** Mirror our own camera, as people expect from a mirror. */
  readonly mirrored?: boolean;
  readonly micOff?: boolean;
  readonly speaking?: boolean;
  readonly quality?: Quality;
  readonly reconnecting?: boolean;
  readonly avatarColor?: string;
  readonly layer?: number | undefined;
  readonly badge?: string;
  /** Reports the tile's height (CSS px) whenever it changes, for the simulcast layer. */
  readonly onHeight?: (height: number) => void;
  readonly children?: JSX.Element;
}

/** One participant's video (or initials) with their name, microphone state and network bars. */
export function VideoTile(props: VideoTileProps) {
  let video!: HTMLVideoElement;
  let figure!: HTMLElement;

  createEffect(() => {
    const track = props.track;
    const current = video.srcObject as MediaStream | null;
    if (track && current?.getVideoTracks()[0] === track) return;
    video.srcObject = track ? new MediaStream([track]) : null;
    if (track) void video.play().catch(() => undefined);
  });
  onCleanup(() => {
    video.srcObject = null;
  });

  onMount(() => {
    if (!props.onHeight || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(([entry]) => entry && props.onHeight?.(entry.contentRect.height));
    observer.observe(figure);
    onCleanup(() => observer.disconnect());
  });

  /** Ours says so; a pre-join page before a name is typed is just "You". */
  const caption = () => (props.self ? (props.name ? `${props.name} (you)` : "You") : props.name);

  const label = () => {
    const parts = [caption()];
    if (props.source === "screen") parts.push("screen");
    else {
      if (props.micOff) parts.push("microphone off");
      if (!props.track) parts.push("camera off");
    }
    if (props.speaking) parts.push("speaking");
    if (props.reconnecting) parts.push("reconnecting");
    if (props.quality && props.quality !== "unknown") parts.push(`network ${props.quality}`);
    return parts.join(", ");
  };

  return (
    <figure
      ref={figure}
      class="tile"
      classList={{ speaking: props.speaking === true, screen: props.source === "screen", away: props.reconnecting === true }}
      data-testid={props.source === "screen" ? "screen-tile" : "tile"}
      data-peer-id={props.peerId}
      data-self={props.self ? "true" : undefined}
      data-mic={props.source === "screen" ? undefined : props.micOff ? "off" : "on"}
      data-video={props.track ? "on" : "off"}
      data-speaking={props.speaking ? "true" : undefined}
      data-quality={props.quality}
      data-layer={props.layer}
      aria-label={label()}
    >
      <video ref={video} autoplay playsinline muted classList={{ mirrored: props.mirrored === true, hidden: !props.track }} />
      <Show when={!props.track}>
        <div class="avatar" aria-hidden="true">
          <span style={{ "background-color": props.avatarColor ?? "#2a2f36" }}>{initialsOf(props.name || "You")}</span>
        </div>
      </Show>
      <div class="tile-status" aria-hidden="true">
        <Show when={props.badge}>
          <span class="badge">{props.badge}</span>
        </Show>
        <Show when={props.quality && props.quality !== "unknown"}>
          <NetworkBars quality={props.quality!} />
        </Show>
        <Show when={props.micOff}>
          <span class="mic-off" title="Microphone off">
            <Icon name="micOff" size={16} />
          </span>
        </Show>
      </div>
      <Show when={props.reconnecting}>
        <div class="tile-note">Reconnecting…</div>
      </Show>
      {props.children}
      <figcaption>{caption()}</figcaption>
    </figure>
  );
}
