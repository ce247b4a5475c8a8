import { createEffect, onCleanup, Show } from "solid-js";

export interface VideoTileProps {
  readonly label: string;
  /** Tracks to show (video) and play (audio). */
  readonly tracks: readonly MediaStreamTrack[];
  readonly self?: boolean;
  readonly peerId?: string;
}

/** One participant: their video (or initials while there is none) and name. */
export function VideoTile(props: VideoTileProps) {
  let video!: HTMLVideoElement;
  const stream = new MediaStream();

  createEffect(() => {
    const wanted = new Set(props.tracks);
    for (const track of stream.getTracks()) if (!wanted.has(track)) stream.removeTrack(track);
    for (const track of wanted) if (!stream.getTrackById(track.id)) stream.addTrack(track);
    if (video.srcObject !== stream) video.srcObject = stream;
    void video.play().catch(() => undefined);
  });
  onCleanup(() => {
    video.srcObject = null;
  });

  const hasVideo = () => props.tracks.some((t) => t.kind === "video");
  const initials = () =>
    props.label
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((word) => word[0]!.toUpperCase())
      .join("");

  return (
    <figure class="tile" classList={{ self: props.self === true }} data-testid="tile" data-peer-id={props.peerId} data-self={props.self ? "true" : undefined}>
      <video ref={video} autoplay playsinline muted={props.self === true} aria-label={`${props.label}'s video`} />
      <Show when={!hasVideo()}>
        <div class="avatar" aria-hidden="true">
          {initials()}
        </div>
      </Show>
      <figcaption>{props.label}</figcaption>
    </figure>
  );
}
