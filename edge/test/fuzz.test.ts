import { MAX_CLIENT_FRAME_BYTES, PROTOCOL_VERSION } from "@meridian/protocol";
import { describe, expect, it } from "vitest";
import { TYPED, corrupt, mutate, randomBytes, randomText } from "./support/fuzz.ts";
import { TestSocket, createRoom, guestToken } from "./support/socket.ts";
import { prng } from "../../bench/lib/prng.ts";

/**
 * ≥ 10,000 random and mutated frames at the room socket: every one gets a typed answer
 * (a response, or an `error` event when no request id could be read), the room never
 * crashes, and a valid request still works afterwards.
 */


const SEEDS: Array<[string, unknown]> = [
  ["sendChat", { clientId: "c", text: "hello" }],
  ["chatHistory", { limit: 5 }],
  ["createTransport", { direction: "recv", rtpCapabilities: { codecs: [] } }],
  ["connectTransport", { transportId: "t", dtlsParameters: { role: "client", fingerprints: [{ algorithm: "sha-256", value: "AA" }] } }],
  ["produce", { transportId: "t", kind: "video", source: "camera", rtpParameters: { codecs: [{ mimeType: "video/VP8", payloadType: 96, clockRate: 90000 }] } }],
  ["consume", { transportId: "t", producerId: "p" }],
  ["resumeConsumer", { consumerId: "c" }],
  ["setProducerPaused", { producerId: "p", paused: true }],
  ["closeProducer", { producerId: "p" }],
  ["kick", { participantId: "x" }],
  ["mute", { participantId: "x" }],
  ["admit", { participantId: "x" }],
  ["updateSettings", { locked: true }],
  ["resume", { protocol: PROTOCOL_VERSION, participantId: "x", resumeToken: "y", lastSeq: 0 }],
  ["join", { displayName: "Fuzz" }],
  ["hello", { protocol: PROTOCOL_VERSION }],
];

/** One fuzzed frame: a mutated request, a mutated envelope, or plain noise. */
function frame(random: () => number, id: number): string | ArrayBuffer {
  const r = random();
  const [method, params] = SEEDS[Math.floor(random() * SEEDS.length)]!;
  if (r < 0.55) return JSON.stringify({ kind: "req", id, method, params: mutate(params, random) });
  if (r < 0.75) return JSON.stringify(mutate({ kind: "req", id, method, params }, random));
  if (r < 0.85) return corrupt(JSON.stringify({ kind: "req", id, method, params }), random);
  if (r < 0.9) return randomBytes(random);
  if (r < 0.93) return JSON.stringify({ kind: "req", id, method, params: { pad: "x".repeat(MAX_CLIENT_FRAME_BYTES) } });
  return randomText(random);
}

describe("fuzzing the room socket", () => {
  it("answers 10,000 random and mutated frames with typed errors and never crashes", async () => {
    const random = prng(20261124);
    const FRAMES = 10_000;
    // Each participant sends a batch within its rate limit; several rooms keep under capacity.
    const PER_SOCKET = 100;
    let sent = 0;
    let answeredWithResult = 0;
    let typedErrors = 0;
    let room: { roomId: string; token: string } | undefined;
    while (sent < FRAMES) {
      if (!room || sent % (PER_SOCKET * 20) === 0) room = await createRoom();
      const socket = await TestSocket.room(room.roomId, await guestToken(room.roomId));
      await socket.ok("hello", { protocol: PROTOCOL_VERSION });
      await socket.ok("join", { displayName: "Fuzzer" });
      for (let n = 0; n < PER_SOCKET && sent < FRAMES; n++, sent++) {
        const id = 1000 + n;
        // One frame in flight at a time, so the next response (whatever id a mutation left
        // in it) or error event is this frame's answer.
        const answer = socket.next((f) => f.kind === "res" || (f.kind === "evt" && f.event === "error"), 5000, `answer to frame ${sent}`);
        const raw = frame(random, id);
        socket.sendRaw(raw);
        const got = await answer.catch((e: Error) => {
          throw new Error(`${e.message}: ${typeof raw === "string" ? raw.slice(0, 300) : "binary"}`);
        });
        if (got.kind === "res" && !got.error) {
          answeredWithResult++;
          continue;
        }
        const error = got.kind === "res" ? got.error : got.kind === "evt" ? (got.data as { code: string }) : undefined;
        expect(TYPED.has(error!.code), `frame ${sent}: untyped ${JSON.stringify(got)}`).toBe(true);
        expect(error!.code, `frame ${sent}`).not.toBe("internal");
        typedErrors++;
      }
      // The participant's socket is still open and serving.
      expect(await socket.ok("chatHistory", { limit: 1 })).toMatchObject({ messages: expect.any(Array) });
      socket.close();
    }
    expect(sent).toBe(FRAMES);
    expect(typedErrors + answeredWithResult).toBe(FRAMES);
    expect(typedErrors).toBeGreaterThan(FRAMES * 0.9);
  }, 300_000);
});
