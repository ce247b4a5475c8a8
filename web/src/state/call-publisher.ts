import { isProtocolError } from "@meridian/protocol";
import type { MediaDevicesLike } from "../lib/devices.ts";
import { StaleMediaError } from "../lib/media-engine.ts";
import type { MediaSender } from "../lib/media-sender.ts";
import { callErrorOf } from "./call-errors.ts";
import type { CallCore } from "./call-types.ts";
import type { LocalMedia } from "./local-media.ts";

/**
 * What we send: microphone, camera and screen follow the user's toggles and device
 * choices, on every path we send on once we are in the call (the SFU's producers, the
 * peer-to-peer link, both while the call switches) and only on the local tracks before.
 */
export class Publisher {
  readonly #core: CallCore;
  readonly #local: LocalMedia;
  readonly #devices: MediaDevicesLike | undefined;
  /** The shared tab's or screen's sound, sent with it (on a path that comes up later too). */
  #screenAudio: MediaStreamTrack | undefined;

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
    const [audio] = stream.getAudioTracks();
    this.#screenAudio = audio;
    set("screenTrack", video);
    await this.#onProducers(async (media) => {
      await media.produce(video, "screen");
      if (audio) await media.produce(audio, "screen-audio");
    });
  }

  async stopScreen(): Promise<void> {
    const track = this.#core.state.screenTrack;
    if (!track) return;
    this.#core.set("screenTrack", undefined);
    track.stop();
    this.#screenAudio?.stop();
    this.#screenAudio = undefined;
    await this.#onProducers(async (sender) => {
      await sender.closeProducer("screen");
      await sender.closeProducer("screen-audio");
    });
  }

  /** A device chosen on the local media: remembered for next time, and swapped into its producer. */
  async switchTo(source: "camera" | "mic", selected: Promise<MediaStreamTrack | undefined>): Promise<void> {
    const track = await selected;
    this.#local.savePreferences();
    if (track) await this.#onProducers((media) => media.replaceTrack(source, track));
  }

  /** Sends what the user has on, on one path: the microphone (paused when muted), camera, screen (and its sound). */
  async publish(media: MediaSender): Promise<void> {
    await this.#local.start();
    const { state } = this.#core;
    if (!this.#core.senders().includes(media) || state.phase !== "joined") return;
    const { micTrack, micOn, cameraTrack, cameraOn } = this.#local.state;
    const screen = state.screenTrack;
    await this.#tolerate(() =>
      Promise.all([
        micTrack && !media.producer("mic") ? media.produce(micTrack, "mic", { paused: !micOn }) : undefined,
        cameraTrack && cameraOn && !media.producer("camera") ? media.produce(cameraTrack, "camera") : undefined,
        screen && screen.readyState === "live" && !media.producer("screen") ? media.produce(screen, "screen") : undefined,
        this.#screenAudio && this.#screenAudio.readyState === "live" && screen && !media.producer("screen-audio") ? media.produce(this.#screenAudio, "screen-audio") : undefined,
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

  /** Before the call the local tracks are all there is; in it, every path's senders follow them. */
  async #onProducers(work: (media: MediaSender) => Promise<unknown>): Promise<void> {
    await Promise.all(this.#core.senders().map((sender) => this.#tolerate(() => work(sender))));
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
