import * as v from "valibot";
import { ErrorBody, ProtocolError } from "./errors.ts";

/**
 * The envelope shared by both wires (browser <-> room DO, SFU node <-> node DO):
 * requests carry an id, responses echo it, events carry none.
 */
export const RequestId = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));

export const RequestFrame = v.object({
  kind: v.literal("req"),
  id: RequestId,
  method: v.pipe(v.string(), v.maxLength(64)),
  params: v.optional(v.unknown()),
});
export type RequestFrame = v.InferOutput<typeof RequestFrame>;

export const ResponseFrame = v.object({
  kind: v.literal("res"),
  id: RequestId,
  result: v.optional(v.unknown()),
  error: v.optional(ErrorBody),
});
export type ResponseFrame = v.InferOutput<typeof ResponseFrame>;

export const EventFrame = v.object({
  kind: v.literal("evt"),
  event: v.pipe(v.string(), v.maxLength(64)),
  data: v.optional(v.unknown()),
  /** Position in the room's event log, for events a resumed socket may need again. */
  seq: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
});
export type EventFrame = v.InferOutput<typeof EventFrame>;

export const Frame = v.variant("kind", [RequestFrame, ResponseFrame, EventFrame]);
export type Frame = v.InferOutput<typeof Frame>;

export type DecodeResult =
  | { ok: true; frame: Frame }
  | { ok: false; error: ProtocolError; id?: number };

const utf8 = new TextEncoder();

/**
 * True when the UTF-8 form of `raw` is longer than `maxBytes`. A UTF-16 unit takes 1 to 3
 * bytes, so most frames are decided from `length` alone without encoding them.
 */
export function exceedsBytes(raw: string, maxBytes: number): boolean {
  if (raw.length > maxBytes) return true;
  if (raw.length * 3 <= maxBytes) return false;
  return utf8.encode(raw).byteLength > maxBytes;
}

/**
 * Parses one text frame. Never throws: a frame that is too large, not JSON or not an
 * envelope becomes a typed error, with the request id when one could be read so the
 * sender can match the error to its call.
 */
export function decodeFrame(raw: string | ArrayBuffer | ArrayBufferView, maxBytes: number): DecodeResult {
  if (typeof raw !== "string") {
    return { ok: false, error: new ProtocolError("bad_frame", "binary frames are not accepted; send JSON text") };
  }
  if (exceedsBytes(raw, maxBytes)) {
    // Not parsed (that is the work the limit saves), but the id is usually near the start.
    const id = peekId(raw);
    return { ok: false, error: new ProtocolError("frame_too_large", `frame exceeds the ${maxBytes}-byte limit`), ...(id === undefined ? {} : { id }) };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    const id = peekId(raw);
    return { ok: false, error: new ProtocolError("bad_frame", "frame is not valid JSON"), ...(id === undefined ? {} : { id }) };
  }
  if (!nestsWithin(json, MAX_FRAME_DEPTH)) {
    // Refused before any schema or handler walks it: recursive code (validation, structured
    // clone between Durable Objects, mediasoup) would overflow its stack on deep input.
    const id = readId(json);
    return {
      ok: false,
      error: new ProtocolError("invalid_params", `frame nests deeper than ${MAX_FRAME_DEPTH} levels`),
      ...(id === undefined ? {} : { id }),
    };
  }
  const parsed = v.safeParse(Frame, json);
  if (parsed.success) return { ok: true, frame: parsed.output };
  const id = readId(json);
  return {
    ok: false,
    error: new ProtocolError("bad_frame", `not a valid frame: ${summarizeIssues(parsed.issues)}`),
    ...(id === undefined ? {} : { id }),
  };
}

/** The deepest nesting a frame of either wire needs (mediasoup's RTP parameters reach 7). */
export const MAX_FRAME_DEPTH = 16;

/** Whether no array or object in `value` sits deeper than `max` levels; iterative, so any input is safe. */
export function nestsWithin(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (depth > max) return false;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return true;
}

/** How far into an unparsed frame the id of a request is looked for. */
const PEEK_CHARS = 256;

/**
 * The request id of a frame that cannot be parsed whole (too large, or broken after its
 * start), read from its first characters as every client of ours writes them:
 * `{"kind":"req","id":N,…`. Undefined when it is not there.
 */
function peekId(raw: string): number | undefined {
  const id = /^\s*\{\s*"kind"\s*:\s*"req"\s*,\s*"id"\s*:\s*(\d{1,16})\s*[,}]/.exec(raw.slice(0, PEEK_CHARS))?.[1];
  return id === undefined ? undefined : readId({ id: Number(id) });
}

function readId(json: unknown): number | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const id = (json as { id?: unknown }).id;
  return v.is(RequestId, id) ? id : undefined;
}

/** One short line describing why validation failed, safe to send back. */
export function summarizeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path?.map((p) => String(p.key)).join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ")
    .slice(0, 300);
}

export function encodeRequest(id: number, method: string, params: unknown): string {
  return JSON.stringify({ kind: "req", id, method, params } satisfies RequestFrame);
}

export function encodeResult(id: number, result: unknown): string {
  return JSON.stringify({ kind: "res", id, result } satisfies ResponseFrame);
}

export function encodeError(id: number | undefined, error: ErrorBody): string {
  // An error that cannot be matched to a request (no readable id) goes out as an `error` event.
  if (id === undefined) return JSON.stringify({ kind: "evt", event: "error", data: error } satisfies EventFrame);
  return JSON.stringify({ kind: "res", id, error } satisfies ResponseFrame);
}

export function encodeEvent(event: string, data: unknown, seq?: number): string {
  return JSON.stringify((seq === undefined ? { kind: "evt", event, data } : { kind: "evt", event, data, seq }) satisfies EventFrame);
}
