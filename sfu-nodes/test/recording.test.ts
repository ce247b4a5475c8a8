import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { types } from "mediasoup";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "@meridian/node-agent";
import { MediaService } from "../src/media/media-service.ts";
import { WorkerPool } from "../src/media/worker-pool.ts";
import { RecordingPorts } from "../src/recording/ports.ts";
import { trackSdp } from "../src/recording/sdp.ts";
import { TrackRecorder, type RecordedTrack } from "../src/recording/track-recorder.ts";
import { requireFfmpeg } from "./support/ffmpeg.ts";
import { requireWorkerBinary } from "./support/worker.ts";

/**
 * Recording on real mediasoup with real ffmpeg: a camera (VP8) and a microphone (Opus),
 * encoded by ffmpeg as a browser would send them, produced on a router, and recorded
 * track by track without re-encoding. The files must play: right codec, right length,
 * decoded end to end without an error.
 */
const workerBin = requireWorkerBinary();
const ffmpeg = requireFfmpeg();
const log = createLogger("test", (process.env.TEST_LOG as "debug" | undefined) ?? "silent");

interface Probe {
  streams: Array<{ codec_type: string; codec_name: string; width?: number }>;
  format: { duration?: string };
}

function probe(file: string): Probe {
  const out = spawnSync(ffmpeg!.ffprobe, ["-v", "error", "-show_streams", "-show_format", "-of", "json", file], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`ffprobe ${file}: ${out.stderr}`);
  return JSON.parse(out.stdout) as Probe;
}

/** Decodes the whole file; ffmpeg's complaints, if any. */
function decodeErrors(file: string): string {
  const out = spawnSync(ffmpeg!.ffmpeg, ["-v", "error", "-i", file, "-f", "null", "-"], { encoding: "utf8" });
  return `${out.status === 0 ? "" : `exit ${out.status}: `}${out.stderr}`.trim();
}

async function until<T>(read: () => T, ok: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!workerBin || !ffmpeg)("recording tracks", () => {
  let pool: WorkerPool;
  let media: MediaService;
  const routers = new Map<string, types.Router>();
  const senders: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "meridian-recording-"));

  beforeAll(async () => {
    pool = new WorkerPool({ numWorkers: 1, workerBin: workerBin!, listenIp: "127.0.0.1", announcedAddress: undefined, rtcPortBase: 30900, logLevel: "warn" }, log);
    await pool.start();
    for (const { worker } of pool.workers) {
      worker.observer.on("newrouter", (router) => void routers.set(router.id, router));
    }
    media = new MediaService(pool, { consumersPerWorker: 500, pipes: { ip: "127.0.0.1", portRange: { min: 30910, max: 30919 }, maxPipes: 2, maxPipedProducers: 2 } }, log);
  });

  afterAll(async () => {
    for (const sender of senders) sender.kill("SIGKILL");
    pool?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A producer fed by ffmpeg over a plain transport: a VP8 test pattern or an Opus tone,
   * for `seconds`. ffmpeg sends RTCP from a port of its own, so the transport learns the
   * two tuples apart (no RTCP mux).
   */
  async function produced(routerId: string, kind: "audio" | "video", seconds: number): Promise<types.Producer> {
    const router = routers.get(routerId)!;
    const plain = await router.createPlainTransport({ listenInfo: { protocol: "udp", ip: "127.0.0.1" }, rtcpMux: false, comedia: true });
    const ssrc = kind === "video" ? 1111 : 2222;
    const pt = kind === "video" ? 101 : 100;
    const codec = kind === "video" ? { mimeType: "video/VP8", payloadType: pt, clockRate: 90000 } : { mimeType: "audio/opus", payloadType: pt, clockRate: 48000, channels: 2 };
    const producer = await plain.produce({ kind, rtpParameters: { codecs: [codec], encodings: [{ ssrc }] } });
    const { localAddress: ip, localPort: port } = plain.tuple;
    const rtcpPort = plain.rtcpTuple!.localPort;
    const input = kind === "video" ? ["-f", "lavfi", "-i", `testsrc=size=320x240:rate=30`] : ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"];
    const encode =
      kind === "video"
        ? ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k", "-g", "30", "-pix_fmt", "yuv420p"]
        : ["-c:a", "libopus", "-ac", "2", "-ar", "48000", "-b:a", "48k"];
    const sender = spawn(
      ffmpeg!.ffmpeg,
      ["-nostdin", "-v", "error", "-re", ...input, "-t", String(seconds), ...encode, "-ssrc", String(ssrc), "-payload_type", String(pt), "-f", "rtp", `rtp://${ip}:${port}?rtcpport=${rtcpPort}&pkt_size=1200`],
      { stdio: "ignore" },
    );
    senders.push(sender);
    return producer;
  }

  it("records a camera and a microphone to WebM, copied: right codecs, right length, decodable", async () => {
    const { routerId } = await media.createRouter({ roomId: "room-rec-1" });
    const router = routers.get(routerId)!;
    const [camera, mic] = await Promise.all([produced(routerId, "video", 30), produced(routerId, "audio", 30)]);
    const ports = new RecordingPorts({ min: 30920, max: 30939 });
    const record = (producer: types.Producer, source: "camera" | "mic") =>
      TrackRecorder.start({ router, producer, info: { producerId: producer.id, participantId: "alice", kind: producer.kind, source }, dir, ports, ffmpeg: ffmpeg!.ffmpeg, log });
    const recorders = await Promise.all([record(camera, "camera"), record(mic, "mic")]);
    expect(ports.inUse).toBe(2);

    // About four seconds of media written, as ffmpeg itself reports it.
    await until(() => recorders.map((r) => r.progress.outTimeMs), (t) => t.every((ms) => ms >= 4000), "4 s written on both tracks");
    const tracks: RecordedTrack[] = await Promise.all(recorders.map((r) => r.stop()));
    expect(ports.inUse).toBe(0);

    const [video, audio] = tracks as [RecordedTrack, RecordedTrack];
    expect(video).toMatchObject({ kind: "video", source: "camera", codec: "video/VP8", participantId: "alice" });
    expect(audio).toMatchObject({ kind: "audio", source: "mic", codec: "audio/opus" });
    for (const track of tracks) {
      expect(track.file.endsWith(".webm")).toBe(true);
      expect(track.bytes).toBeGreaterThan(1000);
      expect(track.endedAt - track.startedAt).toBeGreaterThanOrEqual(4000);
      const info = probe(track.file);
      expect(info.streams).toHaveLength(1);
      expect(info.streams[0]!.codec_name).toBe(track.kind === "video" ? "vp8" : "opus");
      const seconds = Number(info.format.duration);
      // What was written, within a second of what the track's wall clock says.
      expect(Math.abs(seconds - (track.endedAt - track.startedAt) / 1000)).toBeLessThan(1.5);
      expect(seconds).toBeGreaterThan(3.5);
      expect(decodeErrors(track.file)).toBe("");
    }
    expect(probe(video.file).streams[0]!.width).toBe(320);
  }, 60_000);

  it("ends a track by itself when its producer closes, with a playable file", async () => {
    const { routerId } = await media.createRouter({ roomId: "room-rec-2" });
    const router = routers.get(routerId)!;
    const camera = await produced(routerId, "video", 30);
    const ports = new RecordingPorts({ min: 30940, max: 30949 });
    let ended: RecordedTrack | undefined;
    const recorder = await TrackRecorder.start({
      router,
      producer: camera,
      info: { producerId: camera.id, participantId: "alice", kind: "video", source: "camera" },
      dir,
      ports,
      ffmpeg: ffmpeg!.ffmpeg,
      log,
      onEnded: (track) => void (ended = track),
    });
    await until(() => recorder.progress.outTimeMs, (ms) => ms >= 2000, "2 s written");
    camera.close();
    const track = await until(() => ended, (t) => t !== undefined, "the track to end");
    expect(ports.inUse).toBe(0);
    expect(decodeErrors(track!.file)).toBe("");
    expect(Number(probe(track!.file).format.duration)).toBeGreaterThan(1.5);
  }, 60_000);

  it("describes one track for ffmpeg: codec, payload type, parameters, where to listen", () => {
    const sdp = trackSdp(
      "audio",
      { codecs: [{ mimeType: "audio/opus", payloadType: 100, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } }], encodings: [{ ssrc: 1 }] },
      { ip: "127.0.0.1", port: 40000 },
    ).split("\r\n");
    expect(sdp).toContain("m=audio 40000 RTP/AVP 100");
    expect(sdp).toContain("a=rtpmap:100 opus/48000/2");
    expect(sdp).toContain("a=fmtp:100 useinbandfec=1");
    expect(sdp).toContain("c=IN IP4 127.0.0.1");
  });
});
