import { createEffect, onCleanup } from "solid-js";

/** Plays one remote audio track on the chosen speaker. Apart from tiles, so layout changes never cut the sound. */
export function AudioSink(props: { track: MediaStreamTrack; speakerId: string | undefined }) {
  let audio!: HTMLAudioElement;
  createEffect(() => {
    audio.srcObject = new MediaStream([props.track]);
    void audio.play().catch(() => undefined);
  });
  createEffect(() => {
    const sinkId = props.speakerId;
    const element = audio as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };
    if (sinkId && element.setSinkId) void element.setSinkId(sinkId).catch(() => undefined);
  });
  onCleanup(() => {
    audio.srcObject = null;
  });
  return <audio ref={audio} autoplay data-testid="remote-audio" />;
}
