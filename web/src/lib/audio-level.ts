/**
 * Watches a microphone track's loudness (0..1, perceptual) for the level meter. One
 * AudioContext per page; a context the autoplay policy started suspended resumes on the
 * first user gesture.
 */
let shared: AudioContext | undefined;

function context(): AudioContext | undefined {
  if (typeof AudioContext === "undefined") return undefined;
  if (!shared) {
    shared = new AudioContext();
    const resume = () => void shared?.resume().catch(() => undefined);
    addEventListener("pointerdown", resume, { once: true, capture: true });
    addEventListener("keydown", resume, { once: true, capture: true });
  }
  return shared;
}

export function watchLevel(track: MediaStreamTrack, onLevel: (level: number) => void): () => void {
  const ctx = context();
  if (!ctx) return () => undefined;
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  analyser.smoothingTimeConstant = 0.6;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let frame = 0;
  let last = -1;
  const tick = () => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    // -60 dBFS .. 0 dBFS onto 0..1: speech sits in the upper half.
    const db = 20 * Math.log10(Math.max(rms, 1e-6));
    const level = Math.min(1, Math.max(0, (db + 60) / 60));
    const rounded = Math.round(level * 20) / 20;
    if (rounded !== last) onLevel((last = rounded));
    frame = requestAnimationFrame(tick);
  };
  frame = requestAnimationFrame(tick);
  return () => {
    cancelAnimationFrame(frame);
    source.disconnect();
    analyser.disconnect();
  };
}
