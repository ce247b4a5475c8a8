import { VideoTile } from "../components/video-tile.tsx";
import { useCall } from "../state/context.tsx";

/** A guest waiting for a host: what is happening, their own preview, and a way out. */
export function LobbyWait() {
  const call = useCall();
  return (
    <main class="message-page lobby" data-page="lobby" data-testid="lobby">
      <div class="lobby-preview">
        <VideoTile name={call.state.displayName || "You"} track={call.local.state.cameraTrack} self mirrored micOff={!call.local.state.micOn} avatarColor={call.state.avatar?.color} />
      </div>
      <div class="pulse" aria-hidden="true" />
      <h1>Waiting to be let in</h1>
      <p class="muted" role="status">
        Someone hosting this meeting will admit you shortly. Keep this page open.
      </p>
      <div class="row">
        <button onClick={() => call.leave()} data-testid="lobby-cancel">
          Cancel
        </button>
      </div>
    </main>
  );
}
