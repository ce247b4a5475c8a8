import { useCall } from "../state/context.tsx";
import { DeviceHelp } from "./device-help.tsx";
import { DevicePickers } from "./device-pickers.tsx";
import { Dialog } from "./dialog.tsx";
import { LevelMeter } from "./level-meter.tsx";
import { VideoTile } from "./video-tile.tsx";

/**
 * Devices mid-call (switching camera or microphone swaps the track without interrupting
 * the call) and the one privacy choice a call of two raises: whether the other browser may
 * learn our network address.
 */
export function SettingsDialog(props: { open: boolean; onClose: () => void }) {
  const call = useCall();
  const local = call.local.state;
  return (
    <Dialog open={props.open} onClose={props.onClose} title="Settings" testid="settings-dialog" wide>
      <div class="settings-grid">
        <div>
          <VideoTile name={call.state.displayName || "You"} track={local.cameraOn ? local.cameraTrack : undefined} self mirrored micOff={!local.micOn} avatarColor={call.state.avatar?.color} />
          <LevelMeter track={local.micTrack} muted={!local.micOn} />
        </div>
        <div>
          <DevicePickers />
          <DeviceHelp />
          <label class="switch">
            <input type="checkbox" role="switch" checked={local.hideAddress} onChange={(e) => call.setHideAddress(e.currentTarget.checked)} data-testid="hide-address" />
            <span>
              <strong>Hide my network address</strong>
              <span class="muted">In a call of two, connect through a relay server so the other person never sees your IP address.</span>
            </span>
          </label>
        </div>
      </div>
    </Dialog>
  );
}
