import { createEffect, createSignal, onCleanup } from "solid-js";
import { watchLevel } from "../lib/audio-level.ts";

/** The microphone's loudness as a bar, so people see their microphone works before they join. */
export function LevelMeter(props: { track: MediaStreamTrack | undefined; muted?: boolean }) {
  const [level, setLevel] = createSignal(0);
  createEffect(() => {
    const track = props.track;
    setLevel(0);
    if (!track || props.muted) return;
    const stop = watchLevel(track, setLevel);
    onCleanup(stop);
  });
  return (
    <div
      class="level"
      role="meter"
      aria-label="Microphone level"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(level() * 100)}
      data-active={level() > 0.15 ? "true" : undefined}
    >
      <span style={{ transform: `scaleX(${level()})` }} />
    </div>
  );
}
