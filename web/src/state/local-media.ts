import { batch } from "solid-js";
import { createStore, type SetStoreFunction } from "solid-js/store";
import {
  cameraConstraints,
  listDevices,
  micConstraints,
  problemOf,
  type DeviceLists,
  type DeviceProblem,
  type MediaDevicesLike,
} from "../lib/devices.ts";

export interface DevicePreferences {
  joinWithCamera?: boolean;
  joinWithMic?: boolean;
  cameraId?: string;
  micId?: string;
  speakerId?: string;
  /** Calls of two only through a TURN relay: the other browser never learns this one's addresses. */
  hideAddress?: boolean;
}

export interface LocalMediaState extends DeviceLists {
  /** What the user wants; the tracks follow. */
  cameraOn: boolean;
  micOn: boolean;
  cameraTrack: MediaStreamTrack | undefined;
  micTrack: MediaStreamTrack | undefined;
  cameraProblem: DeviceProblem | undefined;
  micProblem: DeviceProblem | undefined;
  cameraId: string | undefined;
  micId: string | undefined;
  speakerId: string | undefined;
  /** Peer-to-peer only through TURN (privacy over a few milliseconds). */
  hideAddress: boolean;
  /** A device request is in flight (the permission prompt may be up). */
  starting: boolean;
}

const PREFERENCES_KEY = "meridian.devices";

export function storedPreferences(): DevicePreferences {
  try {
    return (JSON.parse(globalThis.localStorage?.getItem(PREFERENCES_KEY) ?? "{}") as DevicePreferences) ?? {};
  } catch {
    return {};
  }
}

/**
 * The user's own camera and microphone: which devices exist, which are chosen, the live
 * tracks, and why one is missing. Turning the camera off stops its track (the camera light
 * goes out); muting keeps the microphone track (unmuting is instant) but disables it.
 * It knows nothing about the call: the call session decides what to send.
 */
export class LocalMedia {
  readonly state: LocalMediaState;
  readonly #set: SetStoreFunction<LocalMediaState>;
  readonly #devices: MediaDevicesLike | undefined;
  readonly #onDeviceChange = () => void this.refreshDevices();
  #pending: Promise<void> = Promise.resolve();

  constructor(devices: MediaDevicesLike | undefined = globalThis.navigator?.mediaDevices, preferences: DevicePreferences = storedPreferences()) {
    this.#devices = devices;
    [this.state, this.#set] = createStore<LocalMediaState>({
      cameraOn: preferences.joinWithCamera ?? true,
      micOn: preferences.joinWithMic ?? true,
      cameraTrack: undefined,
      micTrack: undefined,
      cameraProblem: undefined,
      micProblem: undefined,
      cameraId: preferences.cameraId,
      micId: preferences.micId,
      speakerId: preferences.speakerId,
      hideAddress: preferences.hideAddress ?? false,
      starting: false,
      cameras: [],
      mics: [],
      speakers: [],
    });
    devices?.addEventListener?.("devicechange", this.#onDeviceChange);
  }

  get preferences(): DevicePreferences {
    const s = this.state;
    return {
      joinWithCamera: s.cameraOn,
      joinWithMic: s.micOn,
      ...(s.cameraId ? { cameraId: s.cameraId } : {}),
      ...(s.micId ? { micId: s.micId } : {}),
      ...(s.speakerId ? { speakerId: s.speakerId } : {}),
      ...(s.hideAddress ? { hideAddress: true } : {}),
    };
  }

  /** Applies saved choices (from the profile) that arrived after construction. */
  applyPreferences(preferences: DevicePreferences): void {
    batch(() => {
      if (preferences.cameraId && !this.state.cameraId) this.#set("cameraId", preferences.cameraId);
      if (preferences.micId && !this.state.micId) this.#set("micId", preferences.micId);
      if (preferences.speakerId && !this.state.speakerId) this.#set("speakerId", preferences.speakerId);
      if (preferences.hideAddress) this.#set("hideAddress", true);
    });
  }

  savePreferences(): void {
    try {
      globalThis.localStorage?.setItem(PREFERENCES_KEY, JSON.stringify(this.preferences));
    } catch {
      // Private mode: choices last for this page only.
    }
  }

  /** Starts what the user wants on (both in one request: one permission prompt). */
  start(): Promise<void> {
    return this.#serial(async () => {
      const video = this.state.cameraOn && !this.state.cameraTrack;
      const audio = this.state.micOn && !this.state.micTrack;
      if (video || audio) await this.#acquire(video, audio);
      await this.refreshDevices();
    });
  }

  /** Tries again after the user fixed a permission or plugged a device in. */
  retry(): Promise<void> {
    batch(() => {
      if (this.state.cameraProblem) this.#set({ cameraProblem: undefined, cameraOn: true });
      if (this.state.micProblem) this.#set({ micProblem: undefined, micOn: true });
    });
    return this.start();
  }

  /** Camera on (a new track) or off (its track stopped). Resolves with the live track, if any. */
  setCamera(on: boolean): Promise<MediaStreamTrack | undefined> {
    return this.#serial(async () => {
      this.#set("cameraOn", on);
      if (!on) {
        this.state.cameraTrack?.stop();
        this.#set("cameraTrack", undefined);
        return undefined;
      }
      if (!this.state.cameraTrack) await this.#acquire(true, false);
      return this.state.cameraTrack;
    });
  }

  /** Microphone on or muted; the first unmute without a track asks for one. */
  setMic(on: boolean): Promise<MediaStreamTrack | undefined> {
    return this.#serial(async () => {
      this.#set("micOn", on);
      if (on && !this.state.micTrack) await this.#acquire(false, true);
      const track = this.state.micTrack;
      if (track) track.enabled = on;
      return track;
    });
  }

  /** Switches to another camera; resolves with its track (undefined while the camera is off). */
  selectCamera(deviceId: string): Promise<MediaStreamTrack | undefined> {
    return this.#serial(async () => {
      this.#set("cameraId", deviceId);
      if (!this.state.cameraOn) return undefined;
      // Phones cannot open two cameras at once: release the old one first.
      this.state.cameraTrack?.stop();
      this.#set("cameraTrack", undefined);
      await this.#acquire(true, false);
      return this.state.cameraTrack;
    });
  }

  selectMic(deviceId: string): Promise<MediaStreamTrack | undefined> {
    return this.#serial(async () => {
      this.#set("micId", deviceId);
      if (!this.state.micTrack && !this.state.micOn) return undefined;
      const previous = this.state.micTrack;
      await this.#acquire(false, true);
      const track = this.state.micTrack;
      if (track !== previous) previous?.stop();
      if (track) track.enabled = this.state.micOn;
      return track;
    });
  }

  selectSpeaker(deviceId: string): void {
    this.#set("speakerId", deviceId);
  }

  setHideAddress(hide: boolean): void {
    this.#set("hideAddress", hide);
  }

  async refreshDevices(): Promise<void> {
    if (!this.#devices) return;
    const lists = await listDevices(this.#devices);
    batch(() => {
      this.#set(lists);
      // Show the device actually in use as the chosen one.
      const cameraId = this.state.cameraTrack?.getSettings?.().deviceId;
      const micId = this.state.micTrack?.getSettings?.().deviceId;
      if (cameraId) this.#set("cameraId", cameraId);
      if (micId) this.#set("micId", micId);
    });
  }

  /** Stops every track (leaving, or the page goes away). */
  stop(): void {
    this.state.cameraTrack?.stop();
    this.state.micTrack?.stop();
    this.#set({ cameraTrack: undefined, micTrack: undefined });
  }

  dispose(): void {
    this.stop();
    this.#devices?.removeEventListener?.("devicechange", this.#onDeviceChange);
  }

  /**
   * Asks for the wanted kinds in one request; when that fails for a reason that may concern
   * only one of them (no camera, camera busy), asks for each alone, so a missing camera
   * does not cost the microphone.
   */
  async #acquire(video: boolean, audio: boolean): Promise<void> {
    if (!this.#devices) {
      this.#set({ ...(video ? { cameraProblem: "unsupported" as const, cameraOn: false } : {}), ...(audio ? { micProblem: "unsupported" as const, micOn: false } : {}) });
      return;
    }
    this.#set("starting", true);
    try {
      const request = (v: boolean, a: boolean) =>
        this.#devices!.getUserMedia({
          video: v ? cameraConstraints(this.state.cameraId) : false,
          audio: a ? micConstraints(this.state.micId) : false,
        });
      try {
        this.#adopt(await request(video, audio), video, audio);
        return;
      } catch (error) {
        const problem = problemOf(error);
        if (!(video && audio) || problem === "denied" || problem === "unsupported") {
          this.#fail(video, audio, problem);
          return;
        }
      }
      for (const [v, a] of [[true, false], [false, true]] as const) {
        try {
          this.#adopt(await request(v, a), v, a);
        } catch (error) {
          this.#fail(v, a, problemOf(error));
        }
      }
    } finally {
      this.#set("starting", false);
    }
  }

  #adopt(stream: MediaStream, video: boolean, audio: boolean): void {
    const [cameraTrack] = stream.getVideoTracks();
    const [micTrack] = stream.getAudioTracks();
    batch(() => {
      if (video && cameraTrack) {
        // The user may have turned the camera off while the prompt was up.
        if (!this.state.cameraOn) cameraTrack.stop();
        else this.#set({ cameraTrack, cameraProblem: undefined });
      }
      if (audio && micTrack) {
        micTrack.enabled = this.state.micOn;
        this.#set({ micTrack, micProblem: undefined });
      }
    });
  }

  #fail(video: boolean, audio: boolean, problem: DeviceProblem): void {
    batch(() => {
      if (video) this.#set({ cameraProblem: problem, cameraOn: false, cameraTrack: undefined });
      if (audio) this.#set({ micProblem: problem, micOn: false, micTrack: undefined });
    });
  }

  /** Device work one step at a time: a second click waits for the first prompt. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#pending.then(work, work);
    this.#pending = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }
}
