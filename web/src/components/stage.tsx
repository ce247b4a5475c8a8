import { createMemo, createSignal, For, onCleanup, onMount, Show } from "solid-js";
import { bestGrid } from "../lib/layout.ts";
import { streamOf } from "../state/call-types.ts";
import { useCall } from "../state/context.tsx";
import { Icon } from "./icon.tsx";
import { VideoTile } from "./video-tile.tsx";

interface ScreenShare {
  readonly peerId: string;
  readonly producerId: string;
}

/** One remote participant's camera tile, reading the store by id so it never remounts on updates. */
function PeerTile(props: { id: string }) {
  const call = useCall();
  const peer = () => call.state.peers[props.id];
  return (
    <Show when={peer()}>
      {(p) => {
        const camera = () => streamOf(p().streams, "camera");
        const mic = () => streamOf(p().streams, "mic");
        return (
          <VideoTile
            name={p().displayName}
            peerId={p().id}
            track={camera() && !camera()!.paused ? camera()!.track : undefined}
            micOff={!mic() || mic()!.paused}
            speaking={call.state.activeSpeakerId === p().id}
            quality={p().quality}
            reconnecting={p().presence === "reconnecting"}
            avatarColor={p().avatar.color}
            layer={camera()?.layer}
            {...(p().role !== "guest" ? { badge: p().role === "host" ? "Host" : "Mod" } : {})}
            onHeight={(height) => {
              const cam = camera();
              if (cam) call.setTileSize(p().id, cam.producerId, height);
            }}
          />
        );
      }}
    </Show>
  );
}

function SelfTile() {
  const call = useCall();
  const local = call.local.state;
  return (
    <VideoTile
      name={call.state.displayName || "You"}
      self
      mirrored
      track={local.cameraOn ? local.cameraTrack : undefined}
      micOff={!local.micOn}
      speaking={call.state.activeSpeakerId !== undefined && call.state.activeSpeakerId === call.state.participantId}
      quality={call.state.quality}
      avatarColor={call.state.avatar?.color}
      {...(call.state.role && call.state.role !== "guest" ? { badge: call.state.role === "host" ? "Host" : "Mod" } : {})}
    />
  );
}

function RemoteScreen(props: ScreenShare) {
  const call = useCall();
  const peer = () => call.state.peers[props.peerId];
  // The share's path may change under the tile (peer-to-peer ↔ SFU): whichever plays.
  const stream = () => (peer() ? streamOf(peer()!.streams, "screen") : undefined);
  return (
    <VideoTile
      name={`${peer()?.displayName ?? "Someone"} is presenting`}
      peerId={props.peerId}
      source="screen"
      track={stream() && !stream()!.paused ? stream()!.track : undefined}
    />
  );
}

function OwnScreen() {
  const call = useCall();
  return (
    <VideoTile name="You are presenting" source="screen" track={call.state.screenTrack}>
      <div class="presenting">
        <button class="danger" onClick={() => void call.stopScreen()} data-testid="stop-presenting">
          <Icon name="close" />
          Stop presenting
        </button>
      </div>
    </VideoTile>
  );
}

/**
 * The call's video area. Everyone in an adaptive grid sized to fill the space; when
 * someone shares a screen, the screen takes the stage and everyone else moves to a strip.
 */
export function Stage() {
  const call = useCall();
  const peerIds = createMemo(() => Object.keys(call.state.peers), undefined, {
    equals: (a, b) => a.length === b.length && a.every((id, i) => id === b[i]),
  });
  // One share per person, whichever path it arrives on (both, for a moment, while the call switches).
  const screens = createMemo<ScreenShare[]>(
    () =>
      Object.values(call.state.peers).flatMap((peer) => {
        const screen = streamOf(peer.streams, "screen");
        return screen ? [{ peerId: peer.id, producerId: screen.producerId }] : [];
      }),
    [],
    { equals: (a, b) => a.length === b.length && a.every((s, i) => s.peerId === b[i]?.peerId) },
  );
  // The newest remote share takes the stage; our own only when nobody else shares.
  const featured = () => screens()[screens().length - 1];
  const staged = () => featured() !== undefined || call.state.screenTrack !== undefined;

  let area!: HTMLDivElement;
  const [size, setSize] = createSignal({ width: 960, height: 540 });
  onMount(() => {
    if (typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(([entry]) => entry && setSize({ width: entry.contentRect.width, height: entry.contentRect.height }));
    observer.observe(area);
    onCleanup(() => observer.disconnect());
  });
  const shape = () => bestGrid(peerIds().length + 1, size().width, size().height, 16 / 9, 8);

  return (
    <div ref={area} class="stage-area" data-layout={staged() ? "stage" : "grid"} data-testid="stage">
      <Show
        when={staged()}
        fallback={
          <section class="grid" aria-label="Participants" style={{ "grid-template-columns": `repeat(${shape().columns}, ${shape().tileWidth}px)` }} data-columns={shape().columns}>
            <SelfTile />
            <For each={peerIds()}>{(id) => <PeerTile id={id} />}</For>
          </section>
        }
      >
        <section class="stage" aria-label="Presentation">
          <div class="stage-main">
            <Show when={featured()} keyed fallback={<OwnScreen />}>
              {(share) => <RemoteScreen peerId={share.peerId} producerId={share.producerId} />}
            </Show>
          </div>
          <div class="strip" aria-label="Participants" role="group">
            <Show when={featured() && call.state.screenTrack}>
              <OwnScreen />
            </Show>
            <For each={screens().slice(0, -1)}>{(share) => <RemoteScreen peerId={share.peerId} producerId={share.producerId} />}</For>
            <SelfTile />
            <For each={peerIds()}>{(id) => <PeerTile id={id} />}</For>
          </div>
        </section>
      </Show>
    </div>
  );
}
