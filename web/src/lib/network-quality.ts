/** Network quality of one stream from WebRTC getStats, as a tile shows it: bars, not numbers. */

export type Quality = "good" | "fair" | "poor" | "unknown";

/** What is read from one getStats report; counters are cumulative. */
export interface StreamSample {
  readonly at: number;
  readonly packetsReceived: number;
  readonly packetsLost: number;
  /** Seconds, as getStats reports them. */
  readonly jitter: number | undefined;
  readonly roundTripTime: number | undefined;
  readonly framesPerSecond: number | undefined;
}

interface StatLike {
  type: string;
  kind?: string;
  ssrc?: number;
  packetsReceived?: number;
  packetsLost?: number;
  jitter?: number;
  framesPerSecond?: number;
  currentRoundTripTime?: number;
  roundTripTime?: number;
  fractionLost?: number;
  state?: string;
  nominated?: boolean;
  selected?: boolean;
}

/**
 * Reads a receiving stream's counters (a consumer's report) or, for our own sending, the
 * SFU's receiver reports (remote-inbound-rtp). mediasoup-client's probator (ssrc 1234) is
 * not media and is left out.
 */
export function sampleOf(report: Iterable<StatLike> | { forEach(cb: (s: StatLike) => void): void }, at: number): StreamSample | undefined {
  const stats: StatLike[] = [];
  if ("forEach" in report) report.forEach((s) => stats.push(s));
  else for (const s of report) stats.push(s);
  let received = 0;
  let lost = 0;
  let jitter: number | undefined;
  let fps: number | undefined;
  let rtt: number | undefined;
  let found = false;
  for (const s of stats) {
    if (s.type === "inbound-rtp" && s.ssrc !== 1234) {
      found = true;
      received += s.packetsReceived ?? 0;
      lost += Math.max(0, s.packetsLost ?? 0);
      if (s.jitter !== undefined) jitter = Math.max(jitter ?? 0, s.jitter);
      if (s.framesPerSecond !== undefined) fps = s.framesPerSecond;
    } else if (s.type === "remote-inbound-rtp") {
      found = true;
      // The SFU's view of what we send: loss as a fraction of the last report interval.
      const fraction = s.fractionLost ?? 0;
      received += 1000;
      lost += Math.round(fraction * 1000);
      if (s.jitter !== undefined) jitter = Math.max(jitter ?? 0, s.jitter);
      if (s.roundTripTime !== undefined) rtt = Math.max(rtt ?? 0, s.roundTripTime);
    } else if (s.type === "candidate-pair" && (s.nominated || s.selected) && s.state === "succeeded") {
      if (s.currentRoundTripTime !== undefined) rtt = Math.max(rtt ?? 0, s.currentRoundTripTime);
    }
  }
  if (!found) return undefined;
  return { at, packetsReceived: received, packetsLost: lost, jitter, roundTripTime: rtt, framesPerSecond: fps };
}

/** Loss over the interval between two samples (cumulative counters), or the last one for SFU reports. */
export function lossBetween(previous: StreamSample | undefined, current: StreamSample): number {
  const received = current.packetsReceived - (previous?.packetsReceived ?? 0);
  const lost = current.packetsLost - (previous?.packetsLost ?? 0);
  const total = received + lost;
  if (total <= 0) return 0;
  return Math.max(0, lost) / total;
}

/**
 * Good: what a call feels like on a healthy line. Fair: noticeable (some loss, late audio).
 * Poor: frozen or choppy. Thresholds follow common VoIP guidance (loss 2 % / 8 %,
 * round trip 300 ms / 600 ms, jitter 30 ms / 80 ms).
 */
export function qualityOf(loss: number, sample: Pick<StreamSample, "jitter" | "roundTripTime">): Quality {
  const rttMs = (sample.roundTripTime ?? 0) * 1000;
  const jitterMs = (sample.jitter ?? 0) * 1000;
  if (loss >= 0.08 || rttMs >= 600 || jitterMs >= 80) return "poor";
  if (loss >= 0.02 || rttMs >= 300 || jitterMs >= 30) return "fair";
  return "good";
}

/** Tracks one stream's samples and answers its quality; "unknown" until two samples exist. */
export class QualityMeter {
  #previous: StreamSample | undefined;

  update(sample: StreamSample | undefined, relative = true): Quality {
    if (!sample) return "unknown";
    const previous = this.#previous;
    this.#previous = sample;
    if (!previous && relative) return "unknown";
    return qualityOf(lossBetween(relative ? previous : undefined, sample), sample);
  }
}

export type Layer = 0 | 1 | 2;

/**
 * The highest simulcast layer our downlink carries well, judged from the streams we
 * receive: when most of them suffer at once, the trouble is ours, not their senders', and
 * asking for smaller layers is what helps. Lowered at once, raised one layer at a time
 * after `raiseAfter` healthy samples in a row, so it does not swing.
 */
export class DownlinkBudget {
  readonly #raiseAfter: number;
  #cap: Layer = 2;
  #healthy = 0;

  constructor(raiseAfter = 3) {
    this.#raiseAfter = raiseAfter;
  }

  get cap(): Layer {
    return this.#cap;
  }

  update(qualities: readonly Quality[]): Layer {
    const known = qualities.filter((q) => q !== "unknown");
    if (known.length === 0) return this.#cap;
    const share = (pred: (q: Quality) => boolean) => known.filter(pred).length / known.length;
    const wanted: Layer = share((q) => q === "poor") >= 0.5 ? 0 : share((q) => q !== "good") >= 0.5 ? 1 : 2;
    if (wanted < this.#cap) {
      this.#cap = wanted;
      this.#healthy = 0;
    } else if (wanted > this.#cap && ++this.#healthy >= this.#raiseAfter) {
      this.#cap = (this.#cap + 1) as Layer;
      this.#healthy = 0;
    } else if (wanted === this.#cap) this.#healthy = 0;
    return this.#cap;
  }
}
