/** Cameras, microphones and speakers: what the browser offers and why a device did not start. */

/** The subset of `navigator.mediaDevices` the app uses (tests pass a fake). */
export interface MediaDevicesLike {
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  getDisplayMedia?(options?: DisplayMediaStreamOptions): Promise<MediaStream>;
  enumerateDevices(): Promise<MediaDeviceInfo[]>;
  addEventListener?(type: "devicechange", listener: () => void): void;
  removeEventListener?(type: "devicechange", listener: () => void): void;
}

/** Why a camera or microphone is not available, in the words the pre-join page explains. */
export type DeviceProblem = "denied" | "not-found" | "in-use" | "unsupported" | "failed";

export interface DeviceOption {
  readonly id: string;
  readonly label: string;
}

export interface DeviceLists {
  cameras: DeviceOption[];
  mics: DeviceOption[];
  speakers: DeviceOption[];
}

export function problemOf(error: unknown): DeviceProblem {
  const name = (error as { name?: string } | undefined)?.name;
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
    case "DevicesNotFoundError":
      return "not-found";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "in-use";
    case "TypeError":
      return "unsupported";
    default:
      return "failed";
  }
}

/** A short statement and what to do about it. */
export function explainProblem(device: "camera" | "microphone" | "camera and microphone", problem: DeviceProblem): { title: string; help: string } {
  switch (problem) {
    case "denied":
      return {
        title: `Meridian is not allowed to use your ${device}`,
        help: `Click the camera icon in the address bar (or the site settings), allow the ${device}, then try again.`,
      };
    case "not-found":
      return {
        title: `No ${device} found`,
        help: `Connect a ${device} and try again, or join without: ${device === "microphone" ? "you can still listen and chat" : "the others will see your initials"}.`,
      };
    case "in-use":
      return {
        title: `Your ${device} ${device.includes(" and ") ? "are" : "is"} busy`,
        help: `Another app or tab may be using it. Close it, then try again.`,
      };
    case "unsupported":
      return {
        title: `This browser cannot use a ${device} here`,
        help: `Open Meridian over https in a current browser.`,
      };
    default:
      return { title: `Your ${device} did not start`, help: `Try again, or pick another ${device} in the settings.` };
  }
}

export async function listDevices(devices: MediaDevicesLike): Promise<DeviceLists> {
  const all = await devices.enumerateDevices().catch(() => [] as MediaDeviceInfo[]);
  const pick = (kind: MediaDeviceKind, fallback: string) =>
    all
      // Before permission, browsers list devices without ids or labels: nothing to choose yet.
      .filter((d) => d.kind === kind && d.deviceId)
      .filter((d, i, list) => list.findIndex((o) => o.deviceId === d.deviceId) === i)
      .map((d, i) => ({ id: d.deviceId, label: d.label || `${fallback} ${i + 1}` }));
  return { cameras: pick("videoinput", "Camera"), mics: pick("audioinput", "Microphone"), speakers: pick("audiooutput", "Speaker") };
}

export function cameraConstraints(deviceId: string | undefined): MediaTrackConstraints {
  return {
    width: { ideal: 1280 },
    height: { ideal: 720 },
    frameRate: { ideal: 30 },
    ...(deviceId ? { deviceId: { ideal: deviceId } } : {}),
  };
}

export function micConstraints(deviceId: string | undefined): MediaTrackConstraints {
  return {
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
    ...(deviceId ? { deviceId: { ideal: deviceId } } : {}),
  };
}

/** Whether this browser can route audio to a chosen speaker. */
export function canPickSpeaker(): boolean {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}
