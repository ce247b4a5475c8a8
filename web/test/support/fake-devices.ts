import { FakeMediaStreamTrack } from "fake-mediastreamtrack";
import type { MediaDevicesLike } from "../../src/lib/devices.ts";

/** A getUserMedia that answers like a browser with the given devices and permission. */
export interface FakeDevicesOptions {
  camera?: boolean;
  mic?: boolean;
  /** The permission prompt's answer. */
  denied?: boolean;
}

export interface FakeDevices extends MediaDevicesLike {
  readonly requests: MediaStreamConstraints[];
  readonly tracks: FakeMediaStreamTrack[];
  set(options: FakeDevicesOptions): void;
}

function domError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

export function fakeStream(tracks: MediaStreamTrack[]): MediaStream {
  return {
    getTracks: () => tracks,
    getVideoTracks: () => tracks.filter((t) => t.kind === "video"),
    getAudioTracks: () => tracks.filter((t) => t.kind === "audio"),
  } as unknown as MediaStream;
}

export function fakeDevices(initial: FakeDevicesOptions = { camera: true, mic: true }): FakeDevices {
  let options = { camera: true, mic: true, denied: false, ...initial };
  let n = 0;
  const requests: MediaStreamConstraints[] = [];
  const tracks: FakeMediaStreamTrack[] = [];
  const make = (kind: "audio" | "video", constraints: MediaTrackConstraints | boolean | undefined) => {
    const wanted = typeof constraints === "object" ? (constraints.deviceId as { ideal?: string } | undefined)?.ideal : undefined;
    const deviceId = wanted ?? `${kind}-default`;
    const track = new FakeMediaStreamTrack({ kind, id: `${kind}-${++n}`, label: `Fake ${kind}`, settings: { deviceId } });
    tracks.push(track);
    return track as unknown as MediaStreamTrack;
  };
  return {
    requests,
    tracks,
    set: (next) => (options = { ...options, ...next }),
    async getUserMedia(constraints) {
      requests.push(constraints);
      if (options.denied) throw domError("NotAllowedError", "Permission denied");
      if ((constraints.video && !options.camera) || (constraints.audio && !options.mic)) throw domError("NotFoundError", "Requested device not found");
      const out: MediaStreamTrack[] = [];
      if (constraints.video) out.push(make("video", constraints.video));
      if (constraints.audio) out.push(make("audio", constraints.audio));
      return fakeStream(out);
    },
    async getDisplayMedia() {
      return fakeStream([make("video", true)]);
    },
    async enumerateDevices() {
      const list: MediaDeviceInfo[] = [];
      if (options.camera) list.push({ kind: "videoinput", deviceId: "video-default", label: "Fake camera", groupId: "g" } as MediaDeviceInfo);
      if (options.camera) list.push({ kind: "videoinput", deviceId: "video-2", label: "Second camera", groupId: "g2" } as MediaDeviceInfo);
      if (options.mic) list.push({ kind: "audioinput", deviceId: "audio-default", label: "Fake microphone", groupId: "g" } as MediaDeviceInfo);
      list.push({ kind: "audiooutput", deviceId: "speaker-default", label: "Fake speaker", groupId: "g" } as MediaDeviceInfo);
      return list;
    },
  };
}
