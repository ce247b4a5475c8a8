import {
  MAX_NODE_FRAME_BYTES,
  NODE_PROTOCOL_VERSION,
  decodeFrame,
  nodeToEdgeEvents,
  parseEvent,
  type EventFrame,
  type Frame,
  type NodeRegistration,
} from "@meridian/protocol";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { NodeDO } from "../src/nodes/node-do.ts";
import { prng } from "../../bench/lib/prng.ts";
import { nodeLoad } from "./support/fixtures.ts";
import { nodeDo, registry } from "./support/fake-node.ts";
import { TYPED, corrupt, mutate, pick, randomBytes, randomText } from "./support/fuzz.ts";
import { TestSocket, nodeHeaders } from "./support/socket.ts";

/**
 * Fuzzing a node's control socket (authenticated: the fuzz is what a buggy or compromised
 * node could send). Every request frame the node DO can read gets a response with its id;
 * a frame it cannot read, or an event it cannot parse, gets an `error` event; responses
 * and good events get nothing back. Nothing is `internal`, the socket stays open, and the
 * node DO still registers the node and relays rooms' calls afterwards.
 */

const NODE_ID = "fuzz-node-1";
const BEFORE_REGISTER = 1000;
const AFTER_REGISTER = 2000;

function registration(): NodeRegistration {
  return {
    protocol: NODE_PROTOCOL_VERSION,
    nodeId: NODE_ID,
    kind: "sfu",
    version: "fuzz",
    region: "fuzz-region",
    lat: 10,
    lon: 20,
    load: nodeLoad({ utilization: 0.2 }),
    carrying: [{ roomId: "fuzz-room", routerId: "fuzz-router" }],
    // Long, so the registry's real alarm never hangs up on the node during the run.
    reportIntervalMs: 60_000,
  };
}

const SEEDS: Frame[] = [
  { kind: "req", id: 1, method: "register", params: registration() },
  { kind: "req", id: 1, method: "createRouter", params: { roomId: "r" } },
  { kind: "req", id: 1, method: "closeRouter", params: { routerId: "r" } },
  { kind: "evt", event: "load", data: nodeLoad({ utilization: 0.5, consumers: 3 }) },
  { kind: "evt", event: "activeSpeaker", data: { roomId: "fuzz-room", routerId: "fuzz-router", participantId: "p" } },
  { kind: "evt", event: "routersLost", data: { rooms: [{ roomId: "fuzz-room", routerId: "fuzz-router" }], reason: "worker died" } },
  { kind: "evt", event: "error", data: { code: "media_error", message: "worker died" } },
  { kind: "evt", event: "register", data: {} },
  { kind: "res", id: 999_999, result: {} },
  { kind: "res", id: 999_999, error: { code: "not_found", message: "no router" } },
];

/** Registrations that pass validation but are wrong for this socket, or change what the node is. */
const WRONG: Array<Partial<NodeRegistration>> = [
  { protocol: NODE_PROTOCOL_VERSION + 1 },
  { protocol: 0 },
  { nodeId: "other-node" },
  { nodeId: NODE_ID.toUpperCase() },
  { nodeId: `${NODE_ID}0` },
  { kind: "turn", urls: ["turn:192.0.2.1:3478?transport=udp"] },
  { carrying: [] },
  { carrying: [{ roomId: "fuzz-room-2", routerId: "fuzz-router-2" }] },
  { load: nodeLoad({ state: "draining", utilization: 1 }) },
];

/** Whether the edge may accept this registration on this socket. */
const acceptable = (reg: Record<string, unknown>) => reg.protocol === NODE_PROTOCOL_VERSION && reg.nodeId === NODE_ID;

function frame(random: () => number, id: number): string | ArrayBuffer {
  const r = random();
  if (r < 0.1) return JSON.stringify({ kind: "req", id, method: "register", params: { ...registration(), ...pick(WRONG, random) } });
  const seed = structuredClone(pick(SEEDS, random));
  if (seed.kind === "req") seed.id = id;
  const body = seed.kind === "req" ? "params" : seed.kind === "evt" ? "data" : "result";
  if (r < 0.5) return JSON.stringify({ ...seed, [body]: mutate((seed as Record<string, unknown>)[body], random) });
  if (r < 0.7) return JSON.stringify(mutate(seed, random));
  if (r < 0.8) return JSON.stringify(seed);
  if (r < 0.9) return corrupt(JSON.stringify(seed), random);
  if (r < 0.94) return randomBytes(random);
  if (r < 0.95) return JSON.stringify({ ...seed, [body]: { pad: "x".repeat(MAX_NODE_FRAME_BYTES) } });
  return randomText(random);
}

type Expected = { answer: "response"; id: number } | { answer: "error event" } | { answer: "none" };

/** What the wire contract promises for a frame (frames.ts, node.ts): requests are answered, unreadable frames and bad events get an error. */
function expected(raw: string | ArrayBuffer): Expected {
  if (typeof raw !== "string") return { answer: "error event" };
  const decoded = decodeFrame(raw, MAX_NODE_FRAME_BYTES);
  if (!decoded.ok) return decoded.id === undefined ? { answer: "error event" } : { answer: "response", id: decoded.id };
  if (decoded.frame.kind === "req") return { answer: "response", id: decoded.frame.id };
  if (decoded.frame.kind === "res") return { answer: "none" };
  try {
    parseEvent(nodeToEdgeEvents, decoded.frame);
    return { answer: "none" };
  } catch {
    return { answer: "error event" };
  }
}

const isAnswer = (f: Frame) => f.kind === "res" || (f.kind === "evt" && f.event === "error");

describe("fuzzing a node's control socket", () => {
  it("answers 3,000 random and mutated frames as the wire promises, with typed errors, and keeps serving the node", async () => {
    const random = prng(20261126);
    const socket = await TestSocket.open("/api/nodes/connect", nodeHeaders(NODE_ID));
    let closedEarly: { code: number; reason: string } | undefined;
    void socket.closed.then((c) => (closedEarly = c));
    // The edge's own calls on this socket (closeRouter while reconciling `carrying`) are answered like a node would.
    const edgeCalls: string[] = [];
    socket.ws.addEventListener("message", (event) => {
      const decoded = decodeFrame(event.data as string, 1 << 22);
      if (decoded.ok && decoded.frame.kind === "req") {
        edgeCalls.push(decoded.frame.method);
        socket.send({ kind: "res", id: decoded.frame.id, result: {} });
      }
    });
    // Frames that get no answer could fail silently inside the DO: every message it handles is watched for a throw.
    const crashes: string[] = [];
    const handled = { started: 0, settled: 0 };
    await runInDurableObject(nodeDo(NODE_ID), (instance: NodeDO) => {
      const original = instance.webSocketMessage.bind(instance);
      instance.webSocketMessage = async (ws, message) => {
        handled.started++;
        try {
          await original(ws, message);
        } catch (error) {
          crashes.push(`${String(error)} on ${typeof message === "string" ? message.slice(0, 300) : "binary"}`);
          throw error;
        } finally {
          handled.settled++;
        }
      };
    });
    const register = async () => expect(await socket.ok("register", registration())).toEqual({ nodeId: NODE_ID });

    const codes = new Map<string, number>();
    const tally = { response: 0, "error event": 0, none: 0, registered: 0 };
    let sent = 0;
    const fuzz = async (count: number) => {
      for (let n = 0; n < count; n++, sent++) {
        const raw = frame(random, 10_000 + sent);
        const want = expected(raw);
        tally[want.answer]++;
        const match = want.answer === "response" ? (f: Frame) => f.kind === "res" && f.id === want.id : (f: Frame) => f.kind === "evt" && f.event === "error";
        const answer = want.answer === "none" ? undefined : socket.next(match, 5000, `${want.answer} for frame ${sent}`);
        socket.sendRaw(raw);
        const got = await answer?.catch((e: Error) => {
          throw new Error(`${e.message}: ${typeof raw === "string" ? raw.slice(0, 300) : "binary"}`);
        });
        if (got?.kind === "res" && !got.error) {
          // Only a register may succeed; put back the registration the run relies on (its report interval).
          const request = JSON.parse(raw as string) as { method: string; params: Record<string, unknown> };
          expect(request.method, `frame ${sent}`).toBe("register");
          expect(acceptable(request.params), `frame ${sent}: accepted ${String(raw).slice(0, 300)}`).toBe(true);
          tally.registered++;
          await register();
        } else if (got) {
          const error = got.kind === "res" ? got.error! : ((got as EventFrame).data as { code: string });
          expect(TYPED.has(error.code), `frame ${sent}: untyped ${JSON.stringify(got)}`).toBe(true);
          expect(error.code, `frame ${sent}: ${String(raw).slice(0, 300)}`).not.toBe("internal");
          codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
        }
        // Nothing else was answered: frames that get no answer got none, and none was answered twice.
        expect(socket.received.filter(isAnswer), `frame ${sent}: ${String(raw).slice(0, 300)}`).toEqual([]);
        expect(closedEarly, `frame ${sent}`).toBeUndefined();
      }
    };

    // Before the node has registered, then while it is registered (events act then).
    await fuzz(BEFORE_REGISTER);
    await register();
    await fuzz(AFTER_REGISTER);

    expect(sent).toBe(BEFORE_REGISTER + AFTER_REGISTER);
    expect(tally.response).toBeGreaterThan(300);
    expect(tally["error event"]).toBeGreaterThan(300);
    expect(tally.none).toBeGreaterThan(300);
    expect(tally.registered).toBeGreaterThan(5);
    for (const code of ["bad_frame", "invalid_params", "unknown_method", "frame_too_large", "protocol_mismatch", "forbidden"]) {
      expect(codes.get(code) ?? 0, code).toBeGreaterThan(5);
    }
    expect(codes.has("internal")).toBe(false);

    // Still the node's control channel: registration works, the node is healthy, a room's call is relayed and answered.
    await register();
    expect(await registry().isHealthy(NODE_ID)).toBe(true);
    const before = edgeCalls.length;
    expect(await nodeDo(NODE_ID).closeRouter({ routerId: "after-fuzz" }, 5000)).toEqual({ ok: true, result: {} });
    expect(edgeCalls.slice(before)).toEqual(["closeRouter"]);
    expect(closedEarly).toBeUndefined();
    // Every frame went through the watched handler (the DO was never replaced), and none threw.
    expect(handled.started).toBeGreaterThan(sent);
    await expect.poll(() => handled.settled, { timeout: 10_000 }).toBe(handled.started);
    expect(crashes).toEqual([]);
    socket.close();
    await socket.closed;
  }, 300_000);
});
