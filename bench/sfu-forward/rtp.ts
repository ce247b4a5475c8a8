import { createSocket, type Socket } from "node:dgram";

/**
 * A synthetic VP8 video source: one RTP packet per frame at `fps`, a keyframe every
 * `keyEvery` frames, with the VP8 payload descriptor mediasoup reads (picture id,
 * keyframe bit). The payload is filler: an SFU forwards without decoding.
 */
export interface RtpStream {
  readonly ssrc: number;
  readonly payloadType: number;
  /** Stops sending and keeps the socket: a comedia transport stays locked to its address. */
  pause(): void;
  resume(): void;
  stop(): void;
}

/** `stamp`: the last 8 bytes of each payload carry its send time (performance.now(), a double), for latency. */
export function startVp8Stream(
  target: { ip: string; port: number },
  options: { ssrc: number; payloadType: number; fps: number; bytes: number; keyEvery: number; stamp?: boolean },
): Promise<RtpStream> {
  const socket: Socket = createSocket("udp4");
  let seq = Math.floor(Math.random() * 65535);
  let timestamp = Math.floor(Math.random() * 2 ** 31);
  let pictureId = 0;
  let frame = 0;
  const packet = Buffer.alloc(12 + 4 + options.bytes);
  const send = () => {
    const key = frame % options.keyEvery === 0;
    packet[0] = 0x80; // V=2
    packet[1] = 0x80 | options.payloadType; // marker: one packet per frame
    packet.writeUInt16BE(seq, 2);
    packet.writeUInt32BE(timestamp >>> 0, 4);
    packet.writeUInt32BE(options.ssrc, 8);
    // VP8 payload descriptor: X=1, S=1, PID=0; I=1; 15-bit picture id.
    packet[12] = 0x90;
    packet[13] = 0x80;
    packet.writeUInt16BE(0x8000 | (pictureId & 0x7fff), 14);
    // VP8 payload header: bit 0 clear means keyframe.
    packet[16] = key ? 0x00 : 0x01;
    if (options.stamp) packet.writeDoubleBE(performance.now(), packet.length - 8);
    socket.send(packet, target.port, target.ip);
    seq = (seq + 1) & 0xffff;
    timestamp += Math.round(90000 / options.fps);
    pictureId++;
    frame++;
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  const resume = () => {
    // A paused stream comes back with a keyframe, as a real encoder would after a PLI.
    frame = 0;
    timer ??= setInterval(send, 1000 / options.fps);
  };
  const pause = () => {
    clearInterval(timer);
    timer = undefined;
  };
  return new Promise((resolve) => {
    socket.bind(0, "127.0.0.1", () => {
      resume();
      resolve({
        ssrc: options.ssrc,
        payloadType: options.payloadType,
        pause,
        resume,
        stop: () => {
          pause();
          socket.close();
        },
      });
    });
  });
}

/** Where consumers send: counts what arrives and drops it. */
export function startSink(): Promise<{ port: number; packets: () => number; close: () => void }> {
  const socket = createSocket({ type: "udp4", recvBufferSize: 8 * 1024 * 1024 });
  let packets = 0;
  socket.on("message", () => packets++);
  return new Promise((resolve) => {
    socket.bind(0, "127.0.0.1", () => resolve({ port: socket.address().port, packets: () => packets, close: () => socket.close() }));
  });
}

export const VP8_PRODUCE = (ssrc: number) => ({
  codecs: [{ mimeType: "video/VP8", payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [] }],
  encodings: [{ ssrc }],
  headerExtensions: [],
  rtcp: { cname: `bench-${ssrc}`, reducedSize: true },
});
