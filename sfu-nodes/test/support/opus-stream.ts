import { createSocket } from "node:dgram";
import type { RtpParameters } from "@meridian/protocol";

export const AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const AUDIO_LEVEL_ID = 1;
const OPUS_PT = 111;

/** An Opus microphone as sent over a plain transport, with the RFC 6464 audio level on every packet. */
export function opusWithLevel(ssrc: number): RtpParameters {
  return {
    codecs: [{ mimeType: "audio/opus", payloadType: OPUS_PT, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }],
    headerExtensions: [{ uri: AUDIO_LEVEL_URI, id: AUDIO_LEVEL_ID, encrypt: false, parameters: {} }],
    encodings: [{ ssrc }],
    rtcp: { cname: `opus-${ssrc}`, reducedSize: true },
  };
}

/** RFC 6464: the level in -dBov (0 loudest, 127 silence) and the voice activity flag. */
export interface AudioLevel {
  readonly dBov: number;
  readonly voice: boolean;
}

export interface OpusStream {
  /** Packets sent so far. */
  sent(): number;
  stop(): void;
}

/**
 * A synthetic Opus source: one 20 ms packet every 20 ms (the pace the speaker detector
 * assumes), `levelAt(n)` in the audio-level header extension of packet n. The payload
 * is one TOC byte and filler: the SFU reads levels, it does not decode. Stops by itself
 * after `maxPackets` so a test that forgets it cannot send forever.
 */
export function startOpusStream(
  target: { ip: string; port: number },
  options: { ssrc: number; levelAt: (n: number) => AudioLevel; maxPackets: number },
): Promise<OpusStream> {
  const socket = createSocket("udp4");
  let n = 0;
  let seq = 1000;
  let timestamp = 48_000;
  // 12 header + 4 extension header + 4 (one element padded to a word) + 1 TOC + 39 filler.
  const packet = Buffer.alloc(12 + 4 + 4 + 40);
  packet[0] = 0x90; // V=2, X=1
  packet[1] = OPUS_PT;
  packet.writeUInt32BE(options.ssrc, 8);
  packet.writeUInt16BE(0xbede, 12); // one-byte header extensions
  packet.writeUInt16BE(1, 14); // one 32-bit word of them
  packet[16] = (AUDIO_LEVEL_ID << 4) | 0; // L=0: one byte of data
  packet[20] = 0xfc; // TOC: CELT fullband 20 ms, stereo, one frame
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };
  const send = () => {
    if (n >= options.maxPackets) return stop();
    const level = options.levelAt(n);
    packet.writeUInt16BE(seq, 2);
    packet.writeUInt32BE(timestamp >>> 0, 4);
    packet[17] = (level.voice ? 0x80 : 0) | (Math.min(127, Math.max(0, Math.round(level.dBov))) & 0x7f);
    socket.send(packet, target.port, target.ip);
    seq = (seq + 1) & 0xffff;
    timestamp += 960;
    n++;
  };
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      timer = setInterval(send, 20);
      resolve({
        sent: () => n,
        stop: () => {
          stop();
          socket.close();
        },
      });
    });
  });
}
