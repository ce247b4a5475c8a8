import { spawn, type ChildProcess } from "node:child_process";
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { types } from "mediasoup";
import type { Logger, MediaSource } from "@meridian/protocol";
import type { RecordingPorts } from "./ports.ts";
import { containerFor, trackSdp } from "./sdp.ts";

/** Who and what a track is, for the manifest. */
export interface TrackInfo {
  readonly producerId: string;
  readonly participantId: string;
  readonly kind: types.MediaKind;
  readonly source: MediaSource;
}

/** A finished track: its file and when it ran (ms since the epoch). */
export interface RecordedTrack extends TrackInfo {
  readonly file: string;
  readonly codec: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly bytes: number;
}

/** What ffmpeg reports while it writes (`-progress`). */
export interface TrackProgress {
  readonly frames: number;
  readonly outTimeMs: number;
  readonly bytes: number;
}

export interface TrackRecorderOptions {
  readonly router: types.Router;
  readonly producer: types.Producer;
  readonly info: TrackInfo;
  readonly dir: string;
  readonly ports: RecordingPorts;
  readonly ffmpeg: string;
  readonly log: Logger;
  /** The track ended by itself (its producer closed, ffmpeg exited). */
  readonly onEnded?: (track: RecordedTrack) => void;
}

const LOOPBACK = "127.0.0.1";
/** A video track asks for a keyframe this often until ffmpeg has written a frame: it cannot start without one. */
const KEYFRAME_EVERY_MS = 500;
const KEYFRAME_FOR_MS = 10_000;
/**
 * A track ends when its packets stop: ffmpeg's RTP input gives up 5 s after the last one
 * and finishes the file (its index, its duration). A signal would not do: waiting for
 * packets, ffmpeg does not act on one, and a second makes it quit without finishing (nor
 * does it take an RTCP BYE from another port). One still running at STOP_TIMEOUT_MS is
 * killed; clusters of at most CLUSTER_MS are on disk by then, so the file still plays up
 * to its last second.
 */
const STOP_TIMEOUT_MS = 15_000;
const CLUSTER_MS = 1_000;

/**
 * One producer recorded to a file without re-encoding: a consumer on a plain transport
 * sends the stream (the best simulcast layer) over loopback to an ffmpeg that copies it
 * into WebM (VP8, VP9, Opus) or Matroska (H.264). The track's start and end times go in
 * the recording's manifest, which is what lines tracks up later.
 */
export class TrackRecorder {
  readonly info: TrackInfo;
  readonly file: string;
  readonly codec: string;
  readonly startedAt: number;
  #progress: TrackProgress = { frames: 0, outTimeMs: 0, bytes: 0 };
  readonly #options: TrackRecorderOptions;
  readonly #transport: types.PlainTransport;
  readonly #consumer: types.Consumer;
  readonly #ffmpeg: ChildProcess;
  readonly #port: number;
  readonly #exited: Promise<number | null>;
  #stopping: Promise<RecordedTrack> | undefined;
  #keyframes: ReturnType<typeof setInterval> | undefined;
  #stderr = "";

  private constructor(
    options: TrackRecorderOptions,
    parts: { transport: types.PlainTransport; consumer: types.Consumer; ffmpeg: ChildProcess; port: number; file: string },
  ) {
    this.#options = options;
    this.info = options.info;
    this.#transport = parts.transport;
    this.#consumer = parts.consumer;
    this.#ffmpeg = parts.ffmpeg;
    this.#port = parts.port;
    this.file = parts.file;
    this.codec = parts.consumer.rtpParameters.codecs[0]!.mimeType;
    this.startedAt = Date.now();
    this.#exited = new Promise((resolve) => parts.ffmpeg.once("exit", (code) => resolve(code)));
    parts.ffmpeg.stdout?.setEncoding("utf8").on("data", (chunk: string) => this.#readProgress(chunk));
    parts.ffmpeg.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      // Kept short: the reason ffmpeg gives when it fails.
      this.#stderr = (this.#stderr + chunk).slice(-2000);
    });
    parts.consumer.on("producerclose", () => void this.stop().then((track) => options.onEnded?.(track)));
    void this.#exited.then((code) => {
      if (!this.#stopping) {
        options.log.warn("recording: ffmpeg exited on its own", { producerId: options.info.producerId, code, stderr: this.#stderr });
        void this.stop().then((track) => options.onEnded?.(track));
      }
    });
  }

  static async start(options: TrackRecorderOptions): Promise<TrackRecorder> {
    const { router, producer, info, dir, ports } = options;
    const port = await ports.allocate(LOOPBACK);
    let transport: types.PlainTransport | undefined;
    try {
      transport = await router.createPlainTransport({ listenInfo: { protocol: "udp", ip: LOOPBACK }, rtcpMux: false, comedia: false });
      await transport.connect({ ip: LOOPBACK, port, rtcpPort: port + 1 });
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: true });
      const { format, extension } = containerFor(consumer.rtpParameters.codecs[0]!.mimeType);
      const file = join(dir, `${info.producerId}.${extension}`);
      const sdpFile = join(dir, `${info.producerId}.sdp`);
      await writeFile(sdpFile, trackSdp(consumer.kind, consumer.rtpParameters, { ip: LOOPBACK, port }));
      const ffmpeg = spawn(
        options.ffmpeg,
        [
          ...["-nostdin", "-hide_banner", "-loglevel", "error"],
          ...["-protocol_whitelist", "file,udp,rtp", "-fflags", "+genpts", "-f", "sdp", "-i", sdpFile],
          ...["-map", "0", "-c", "copy", "-cluster_time_limit", String(CLUSTER_MS), "-flush_packets", "1", "-f", format, "-y", file],
          ...["-progress", "pipe:1", "-stats_period", "0.5"],
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      const recorder = new TrackRecorder(options, { transport, consumer, ffmpeg, port, file });
      await consumer.resume();
      if (consumer.kind === "video") recorder.#askForKeyframes();
      options.log.debug("recording: track started", { producerId: info.producerId, codec: recorder.codec, file });
      return recorder;
    } catch (error) {
      transport?.close();
      ports.release(port);
      throw error;
    }
  }

  get progress(): TrackProgress {
    return this.#progress;
  }

  /** Ends the track: the stream closes; ffmpeg notices, writes the file's index and exits. */
  stop(): Promise<RecordedTrack> {
    this.#stopping ??= (async () => {
      const endedAt = Date.now();
      clearInterval(this.#keyframes);
      this.#consumer.close();
      this.#transport.close();
      const killer = setTimeout(() => this.#ffmpeg.kill("SIGKILL"), STOP_TIMEOUT_MS);
      const code = await this.#exited;
      clearTimeout(killer);
      this.#options.ports.release(this.#port);
      const bytes = await stat(this.file).then((s) => s.size, () => 0);
      if (code !== 0) this.#options.log.warn("recording: ffmpeg failed", { producerId: this.info.producerId, code, stderr: this.#stderr });
      return { ...this.info, file: this.file, codec: this.codec, startedAt: this.startedAt, endedAt, bytes };
    })();
    return this.#stopping;
  }

  /** A copy cannot start mid-picture: keyframes until ffmpeg has written one. */
  #askForKeyframes(): void {
    const until = Date.now() + KEYFRAME_FOR_MS;
    const ask = () => {
      if (this.#progress.frames > 0 || Date.now() > until || this.#consumer.closed) {
        clearInterval(this.#keyframes);
        return;
      }
      void this.#consumer.requestKeyFrame().catch(() => undefined);
    };
    ask();
    this.#keyframes = setInterval(ask, KEYFRAME_EVERY_MS);
  }

  #readProgress(chunk: string): void {
    let { frames, outTimeMs, bytes } = this.#progress;
    for (const line of chunk.split("\n")) {
      const [key, value] = line.split("=");
      if (key === "frame") frames = Number(value) || frames;
      else if (key === "out_time_us") outTimeMs = Math.max(outTimeMs, Math.floor((Number(value) || 0) / 1000));
      else if (key === "total_size") bytes = Number(value) || bytes;
    }
    this.#progress = { frames, outTimeMs, bytes };
  }
}

