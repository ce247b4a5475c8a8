import { MAX_CLIENT_FRAME_BYTES, PROTOCOL_VERSION, type EventFrame, type Frame } from "@meridian/protocol";
import { describe, expect, it } from "vitest";
import { prng } from "../../bench/lib/prng.ts";
import { TYPED, corrupt, mutate, pick, randomBytes, randomText } from "./support/fuzz.ts";
import { TestSocket, createRoom, guestToken, participant } from "./support/socket.ts";

/**
 * Fuzzing sockets that have not said hello yet: the frames a stranger can send before the
 * room knows who they are. Hello and resume are seeded with values that pass validation
 * but are wrong (other protocol versions, unknown participants, resume tokens that are
 * close but not right, someone else's participant), so the fuzz reaches the room's
 * lookups, not only the schema checks.
 */

const FRAMES = 3000;
/** Below the per-socket burst (120), so no frame is rate limited. */
const PER_SOCKET = 100;
/** Sockets per room before a fresh one (the room refuses sockets beyond its capacity). */
const SOCKETS_PER_ROOM = 12;

const PROTOCOLS = [PROTOCOL_VERSION, PROTOCOL_VERSION, PROTOCOL_VERSION + 1, PROTOCOL_VERSION - 1, 0, -1, 1.5, 2 ** 31, Number.MAX_SAFE_INTEGER];

interface Victim {
  participantId: string;
  resumeToken: string;
  /** The victim's join token: a socket opened with it is the same person, so a right resume succeeds. */
  jwt: string;
}

/** Resume tokens that are nearly the victim's: each must be refused as firmly as a random one. */
function nearTokens(token: string, random: () => number): string[] {
  const flip = (i: number) => token.slice(0, i) + (token[i] === "A" ? "B" : "A") + token.slice(i + 1);
  return [
    token.slice(1),
    token.slice(0, -1),
    `${token}A`,
    flip(0),
    flip(token.length - 1),
    flip(Math.floor(random() * token.length)),
    token.toUpperCase(),
    "",
    "x".repeat(128),
  ];
}

function helloOrResume(random: () => number, id: number, victim: Victim, elsewhere: Victim): string {
  if (random() < 0.3) return JSON.stringify({ kind: "req", id, method: "hello", params: { protocol: pick(PROTOCOLS, random) } });
  const participantId = pick([victim.participantId, victim.participantId, elsewhere.participantId, crypto.randomUUID(), "x", "p".repeat(64)], random);
  const resumeToken = random() < 0.4 ? pick([victim.resumeToken, elsewhere.resumeToken], random) : pick(nearTokens(victim.resumeToken, random), random);
  const lastSeq = pick([0, 0, 1, 7, 10 ** 9], random);
  const protocol = random() < 0.75 ? PROTOCOL_VERSION : pick(PROTOCOLS, random);
  return JSON.stringify({ kind: "req", id, method: "resume", params: { protocol, participantId, resumeToken, lastSeq } });
}

/** Requests a stranger may try before hello, with the victim's real ids among the seeds. */
function seeds(victim: Victim): Array<[string, unknown]> {
  return [
    ["hello", { protocol: PROTOCOL_VERSION }],
    ["resume", { protocol: PROTOCOL_VERSION, participantId: victim.participantId, resumeToken: victim.resumeToken, lastSeq: 0 }],
    ["join", { displayName: "Early" }],
    ["leave", {}],
    ["routerCapabilities", {}],
    ["iceServers", {}],
    ["createTransport", { direction: "send" }],
    ["restartIce", { transportId: "t" }],
    ["sendChat", { clientId: "c", text: "hi" }],
    ["mute", { participantId: victim.participantId }],
    ["kick", { participantId: victim.participantId }],
    ["endRoom", {}],
  ];
}

function frame(random: () => number, id: number, victim: Victim, elsewhere: Victim): string | ArrayBuffer {
  const r = random();
  const list = seeds(victim);
  const [method, params] = pick(list, random);
  if (r < 0.4) return helloOrResume(random, id, victim, elsewhere);
  if (r < 0.7) return JSON.stringify({ kind: "req", id, method, params: mutate(params, random) });
  if (r < 0.82) return JSON.stringify(mutate({ kind: "req", id, method, params }, random));
  if (r < 0.9) return corrupt(JSON.stringify({ kind: "req", id, method, params }), random);
  if (r < 0.94) return randomBytes(random);
  if (r < 0.95) return JSON.stringify({ kind: "req", id, method, params: { pad: "x".repeat(MAX_CLIENT_FRAME_BYTES) } });
  return randomText(random);
}

/** A participant in the call whose socket dropped: the one the fuzzed resumes aim at. */
async function dropped(roomId: string, jwt: string): Promise<Victim> {
  const p = await participant(roomId, jwt);
  p.socket.close(1001, "network gone");
  await p.socket.closed;
  return { participantId: p.participantId, resumeToken: p.resumeToken, jwt };
}

describe("fuzzing sockets that have not said hello", () => {
  it("answers 3,000 random, mutated and nearly-right hello/resume frames with typed errors, and the room keeps serving", async () => {
    const random = prng(20261125);
    // Someone in another room: their ids are real, just not here.
    const other = await createRoom();
    const elsewhere = await dropped(other.roomId, await guestToken(other.roomId));

    const codes = new Map<string, number>();
    const resumeRefusals = new Set<string>();
    let sent = 0;
    let hellos = 0;
    let resumes = 0;
    let sockets = 0;
    let room: { roomId: string; victim: Victim } | undefined;
    while (sent < FRAMES) {
      if (!room || sockets % SOCKETS_PER_ROOM === 0) {
        const { roomId } = await createRoom();
        room = { roomId, victim: await dropped(roomId, await guestToken(roomId)) };
      }
      sockets++;
      // Half the strangers hold the victim's own join token, so a right resume can succeed.
      const jwt = random() < 0.5 ? room.victim.jwt : await guestToken(room.roomId);
      const socket = await TestSocket.room(room.roomId, jwt);
      let fresh = true;
      let became: "hello" | "resume" | undefined;
      for (let n = 0; n < PER_SOCKET && fresh && sent < FRAMES; n++, sent++) {
        const id = 1000 + n;
        const answer = socket.next((f) => f.kind === "res" || (f.kind === "evt" && f.event === "error"), 5000, `answer to frame ${sent}`);
        const raw = frame(random, id, room.victim, elsewhere);
        socket.sendRaw(raw);
        const got: Frame = await answer.catch((e: Error) => {
          throw new Error(`${e.message}: ${typeof raw === "string" ? raw.slice(0, 300) : "binary"}`);
        });
        if (got.kind === "res" && !got.error) {
          // Only hello and a right resume succeed before hello; either ends the socket's freshness.
          const result = got.result as Record<string, unknown>;
          if ("resumeToken" in result) became = "hello";
          else if ("missed" in result) became = "resume";
          else expect.fail(`frame ${sent}: a stranger's request succeeded: ${JSON.stringify(got)} for ${String(raw).slice(0, 300)}`);
          // And only when everything was right: no near token, no one else's participant, no other protocol.
          const params = (JSON.parse(raw as string) as { params: Record<string, unknown> }).params;
          expect(params.protocol, `frame ${sent}`).toBe(PROTOCOL_VERSION);
          if (became === "resume") {
            expect({ ...params, jwt }, `frame ${sent}`).toMatchObject({ participantId: room.victim.participantId, resumeToken: room.victim.resumeToken, jwt: room.victim.jwt });
          }
          if (became === "hello") hellos++;
          else resumes++;
          fresh = false;
          continue;
        }
        const error = got.kind === "res" ? got.error : ((got as EventFrame).data as { code: string; message: string });
        expect(TYPED.has(error!.code), `frame ${sent}: untyped ${JSON.stringify(got)}`).toBe(true);
        expect(error!.code, `frame ${sent}: ${String(raw).slice(0, 300)}`).not.toBe("internal");
        expect(error!.code, `frame ${sent}: rate limited`).not.toBe("rate_limited");
        codes.set(error!.code, (codes.get(error!.code) ?? 0) + 1);
        if (error!.code === "resume_failed") resumeRefusals.add(error!.message.replace(/^cannot resume: /, "").replace(/; join again$/, ""));
      }
      // The socket still serves: a stranger can still say hello properly; one that said hello is
      // on the pre-join page; one that resumed is the victim, back in the call.
      if (fresh) expect(await socket.ok("hello", { protocol: PROTOCOL_VERSION })).toMatchObject({ participantId: expect.any(String) });
      else if (became === "hello") expect((await socket.request("chatHistory", {})).error?.code).toBe("not_joined");
      else expect(await socket.ok("chatHistory", {})).toMatchObject({ messages: expect.any(Array) });
      socket.close();
      await socket.closed;
    }

    expect(sent).toBe(FRAMES);
    // The seeds reached the lookups behind the schema, not only the validation.
    expect(codes.get("protocol_mismatch") ?? 0).toBeGreaterThan(100);
    expect(codes.get("resume_failed") ?? 0).toBeGreaterThan(200);
    expect(codes.get("not_joined") ?? 0).toBeGreaterThan(50);
    expect(codes.get("invalid_params") ?? 0).toBeGreaterThan(50);
    expect(codes.get("bad_frame") ?? 0).toBeGreaterThan(50);
    expect([...resumeRefusals].sort()).toEqual(["the token is for someone else", "unknown participant or resume token"]);
    expect(hellos).toBeGreaterThan(30);
    expect(resumes).toBeGreaterThan(5);
    expect(codes.has("already_joined")).toBe(false);
  }, 300_000);
});
