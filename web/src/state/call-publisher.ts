import { isProtocolError } from "@meridian/protocol";
import type { MediaDevicesLike } from "../lib/devices.ts";
import { StaleMediaError, type MediaEngine } from "../lib/media-engine.ts";
import { callErrorOf } from "./call-errors.ts";
import type { CallCore } from "./call-types.ts";
import type { LocalMedia } from "./local-media.ts";

/**
 * What we send: microphone, camera and screen follow the user's toggles and device
 * choices, on the producers once we are in the call and only on the local tracks before.
 */
export class Publisher {
  readonly #core: CallCore;
  readonly #local: LocalMedia;
  readonly #devices: MediaDevicesLike | undefined;

  constructor(core: CallCore, local: LocalMedia, devices: MediaDevicesLike | undefined) {
    this.#core = core;
    this.#local = local;
    this.#devices = devices;
  }

  async toggleMic(): Promise<void> {
    const on = !this.#local.state.micOn;
    const track = await this.#local.setMic(on);
    await this.#onProducers(async (media) => {
      if (media.producer("mic")) await media.setPaused("mic", !on);
      else if (on && track) await media.produce(track, "mic");
    });
  }

  async toggleCamera(): Promise<void> {
    const on = !this.#local.state.cameraOn;
    const track = await this.#local.setCamera(on);
    await this.#onProducers(async (media) => {
      if (!on) return media.setPaused("camera", true);
      if (!track) return;
      if (media.producer("camera")) {
        await media.replaceTrack("camera", track);
        await media.setPaused("camera", false);
      } else await media.produce(track, "camera");
    });
  }

  async toggleScreen(): Promise<void> {
    const { state, set } = this.#core;
    if (state.screenTrack) return this.stopScreen();
    const devices = this.#devices ?? globalThis.navigator?.mediaDevices;
    if (!devices?.getDisplayMedia) {
      this.#core.notify("warn", "This browser cannot share its screen.");
      return;
    }
    let stream: MediaStream;
    try {
      stream = await devices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: true });
    } catch (error) {
      // Cancelling the picker is a choice, not an error.
      if ((error as { name?: string }).name !== "NotAllowedError") this.#core.notify("error", `Screen sharing did not start: ${(error as Error).message}`);
      return;
    }
    const [video] = stream.getVideoTracks();
    if (!video) return;
    if ("contentHint" in video) video.contentHint = "detail";
    video.addEventListener("ended", () => void this.stopScreen());
    set("screenTrack", video);
    await this.#onProducers(async (media) => {
      await media.produce(video, "screen");
      const [audio] = stream.getAudioTracks();
      if (audio) await media.produce(audio, "screen-audio");
    });
  }

  async stopScreen(): Promise<void> {
    const track = this.#core.state.screenTrack;
    if (!track) return;
    this.#core.set("screenTrack", undefined);
    const media = this.#core.joinedMedia();
    const audio = media?.producer("screen-audio")?.track;
    track.stop();
    audio?.stop();
    if (!media) return;
    await this.#tolerate(async () => {
      await media.closeProducer("screen");
      await media.closeProducer("screen-audio");
    });
  }

  /** A device chosen on the local media: remembered for next time, and swapped into its producer. */
  async switchTo(source: "camera" | "mic", selected: Promise<MediaStreamTrack | undefined>): Promise<void> {
    const track = await selected;
    this.#local.savePreferences();
    if (track) await this.#onProducers((media) => media.replaceTrack(source, track));
  }

  /** Sends what the user has on: the microphone (paused when muted), camera, screen. */
  async publish(media: MediaEngine): Promise<void> {
    await this.#local.start();
    const { state } = this.#core;
    if (this.#core.connection()?.media !== media || state.phase !== "joined") return;
    const { micTrack, micOn, cameraTrack, cameraOn } = this.#local.state;
    const screen = state.screenTrack;
    await this.#tolerate(() =>
      Promise.all([
        micTrack && !media.producer("mic") ? media.produce(micTrack, "mic", { paused: !micOn }) : undefined,
        cameraTrack && cameraOn && !media.producer("camera") ? media.produce(cameraTrack, "camera") : undefined,
        screen && screen.readyState === "live" && !media.producer("screen") ? media.produce(screen, "screen") : undefined,
      ]),
    );
    // A mute or camera-off clicked while its producer was being made found nothing to
    // pause: the producer follows what the user chose by now.
    await this.#tolerate(async () => {
      const { micOn, cameraOn } = this.#local.state;
      if (media.pausedInRoom("mic") === micOn) await media.setPaused("mic", !micOn);
      if (!cameraOn && media.pausedInRoom("camera") === false) await media.setPaused("camera", true);
    });
  }

  /** Before the call the local tracks are all there is; in it, the producers follow them. */
  async #onProducers(work: (media: MediaEngine) => Promise<unknown>): Promise<void> {
    const media = this.#core.joinedMedia();
    if (media) await this.#tolerate(() => work(media));
  }

  async #tolerate(work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      // A reset overtook the work; the reset re-produces.
      if (error instanceof StaleMediaError || isProtocolError(error, "closed")) return;
      this.#core.notify("error", `Media problem: ${callErrorOf(error).message}`);
    }
  }
}
