import type { MediaKind } from "@meridian/protocol";

const POLL_MS = 50;

/**
 * Video that has just started often comes slowly: an SFU consumer starts on the lowest
 * temporal layer (a few frames a second) and a new connection's bandwidth estimate ramps
 * up. Handing a tile to it then would show as a stutter; it takes over once it flows.
 */
const FLOWING_FRAMES = 10;
const FLOWING_FPS = 12;

interface InboundLike {
  type: string;
  kind?: string;
  ssrc?: number;
  framesDecoded?: number;
  framesPerSecond?: number;
  packetsReceived?: number;
}

/**
 * Whether a receiver's stats show media flowing: video decoded at a watchable rate, audio
 * arriving. mediasoup's probe (ssrc 1234) is not media.
 */
export function hasMedia(report: { forEach(cb: (s: InboundLike) => void): void }, kind: MediaKind): boolean {
  let found = false;
  report.forEach((s) => {
    if (s.type !== "inbound-rtp" || s.ssrc === 1234 || (s.kind !== undefined && s.kind !== kind)) return;
    if (kind === "audio" ? (s.packetsReceived ?? 0) > 0 : (s.framesDecoded ?? 0) >= FLOWING_FRAMES && (s.framesPerSecond ?? 0) >= FLOWING_FPS) found = true;
  });
  return found;
}

/**
 * Waits until a new path's stream flows, so the old one can go without a gap: true
 * once it does, false when `stop` says the wait is moot or `timeoutMs` passes (the caller
 * switches anyway: a stream that does not decode in that time would not be better later).
 */
export async function firstMedia(
  stats: () => Promise<RTCStatsReport> | undefined,
  kind: MediaKind,
  options: { timeoutMs: number; stop: () => boolean },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline && !options.stop()) {
    const report = await stats()?.catch(() => undefined);
    if (report && hasMedia(report, kind)) return true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return false;
}
