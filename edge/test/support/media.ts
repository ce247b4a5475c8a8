import type { Participant } from "./socket.ts";

/** A browser's side of the media calls, as tests make them through the room socket. */

export const DTLS = { role: "client", fingerprints: [{ algorithm: "sha-256", value: "AA:BB" }] };
export const RECV_CAPS = {
  codecs: [
    { kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2 },
    { kind: "video", mimeType: "video/VP8", clockRate: 90000 },
  ],
};
export const RTP = {
  mic: { codecs: [{ mimeType: "audio/opus", payloadType: 100, clockRate: 48000, channels: 2 }] },
  camera: { codecs: [{ mimeType: "video/VP8", payloadType: 96, clockRate: 90000 }] },
};

/** A connected transport; returns its id. */
export async function transport(p: Participant, direction: "send" | "recv"): Promise<string> {
  const { id } = await p.socket.ok<{ id: string }>("createTransport", direction === "recv" ? { direction, rtpCapabilities: RECV_CAPS } : { direction });
  await p.socket.ok("connectTransport", { transportId: id, dtlsParameters: DTLS });
  return id;
}

export async function produce(p: Participant, transportId: string, source: "mic" | "camera"): Promise<string> {
  const kind = source === "mic" ? "audio" : "video";
  const { producerId } = await p.socket.ok<{ producerId: string }>("produce", { transportId, kind, source, rtpParameters: RTP[source] });
  return producerId;
}

export async function consume(p: Participant, transportId: string, producerId: string): Promise<string> {
  const { consumerId } = await p.socket.ok<{ consumerId: string }>("consume", { transportId, producerId });
  return consumerId;
}
