import { env, exports } from "cloudflare:workers";
import {
  KEEPALIVE_PONG,
  PROTOCOL_VERSION,
  ROOM_SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
  decodeFrame,
  type EventFrame,
  type Frame,
  type ResponseFrame,
} from "@meridian/protocol";

export const BASE = "http://meridian.test";
export const NODE_SECRET = "test-node-secret-0123456789";

/** Bindings only the tests have (see vitest.config.ts). */
export const testEnv = env as unknown as Env & {
  TEST_API_KEY: string;
  TEST_OLD_SIGNING_KEYS: string;
  TEST_RETIRED_SIGNING_KEYS: string;
  TEST_NODE_OPERATOR_KEY: string;
  WEBHOOK_RECEIVER: Fetcher;
};

/**
 * A WebSocket client for tests inside workerd: sends frames, and waits (with a timeout)
 * for the frames it expects instead of sleeping.
 */
export class TestSocket {
  readonly ws: WebSocket;
  readonly received: Frame[] = [];
  /** Seqs of every logged event that arrived, in arrival order (never trimmed). */
  readonly seqs: number[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** The protocol the server accepted in its 101 answer. */
  readonly protocol: string | null;
  #waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  #nextId = 1;

  constructor(ws: WebSocket, protocol: string | null = null) {
    this.ws = ws;
    this.protocol = protocol;
    ws.accept();
    ws.addEventListener("message", (event) => {
      if (event.data === KEEPALIVE_PONG) return;
      const decoded = decodeFrame(event.data as string, 1 << 22);
      if (!decoded.ok) throw new Error(`server sent a bad frame: ${decoded.error.message}`);
      this.received.push(decoded.frame);
      if (decoded.frame.kind === "evt" && decoded.frame.seq !== undefined) this.seqs.push(decoded.frame.seq);
      for (const waiter of [...this.#waiters]) {
        if (waiter.match(decoded.frame)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(decoded.frame);
        }
      }
    });
    this.closed = new Promise((resolve) =>
      ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })),
    );
  }

  /** Opens a socket through the Worker; throws with the HTTP answer if it is not upgraded. */
  /** `cf` stands in for Cloudflare's request.cf (where the client is). */
  static async open(path: string, headers: Record<string, string> = {}, cf?: Record<string, unknown>): Promise<TestSocket> {
    const response = await exports.default.fetch(`${BASE}${path}`, {
      headers: { upgrade: "websocket", "cf-connecting-ip": someAddress(), ...headers },
      ...(cf ? { cf } : {}),
    });
    if (!response.webSocket) throw new HttpRefusal(response.status, await response.text());
    return new TestSocket(response.webSocket, response.headers.get("sec-websocket-protocol"));
  }

  /** Opens a room socket with a token, the way browsers do (subprotocols). */
  static room(roomId: string, token: string, headers: Record<string, string> = {}, cf?: Record<string, unknown>): Promise<TestSocket> {
    return TestSocket.open(
      `/api/rooms/${roomId}/ws`,
      { "sec-websocket-protocol": `${ROOM_SUBPROTOCOL}, ${TOKEN_SUBPROTOCOL_PREFIX}${token}`, ...headers },
      cf,
    );
  }

  sendRaw(data: string | ArrayBuffer): void {
    this.ws.send(data);
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends a request and waits for the response with its id. */
  async request(method: string, params?: unknown, timeoutMs = 5000): Promise<ResponseFrame> {
    const id = this.#nextId++;
    const response = this.next((f) => f.kind === "res" && f.id === id, timeoutMs, `response to ${method}`);
    this.send({ kind: "req", id, method, params });
    return (await response) as ResponseFrame;
  }

  /** A request that must succeed: its result. */
  async ok<T = Record<string, unknown>>(method: string, params?: unknown): Promise<T> {
    const response = await this.request(method, params);
    if (response.error) throw new Error(`${method} failed: ${response.error.code} ${response.error.message}`);
    return response.result as T;
  }

  nextEvent(event: string, timeoutMs = 5000): Promise<EventFrame> {
    return this.next((f) => f.kind === "evt" && f.event === event, timeoutMs, `event ${event}`) as Promise<EventFrame>;
  }

  /** The first frame (already received or still to come) that matches. */
  next(match: (f: Frame) => boolean, timeoutMs: number, what = "frame"): Promise<Frame> {
    const seen = this.received.find(match);
    if (seen) {
      this.received.splice(this.received.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.#waiters.push({
        match,
        resolve: (f) => {
          clearTimeout(timer);
          this.received.splice(this.received.indexOf(f), 1);
          resolve(f);
        },
      });
    });
  }

  /** Events received so far (and not yet taken by `next`), optionally of one name. */
  events(name?: string): EventFrame[] {
    return this.received.filter((f): f is EventFrame => f.kind === "evt" && (name === undefined || f.event === name));
  }

  close(code = 1000, reason = "bye"): void {
    this.ws.close(code, reason);
  }
}

export class HttpRefusal extends Error {
  readonly status: number;
  readonly body: string;

  constructor(status: number, body: string) {
    super(`no upgrade: ${status} ${body}`);
    this.status = status;
    this.body = body;
  }
}

/**
 * A client address of its own for each request or socket unless a test names one, as
 * Cloudflare's CF-Connecting-IP would give for separate people: per-address limits then
 * only meet the tests that are about them.
 */
export function someAddress(): string {
  const [a, b] = crypto.getRandomValues(new Uint8Array(2));
  return `198.18.${a}.${b}`;
}

/** A request to the Worker; a body goes as JSON unless the test says otherwise (as the web app's client does). */
export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  if (!headers.has("cf-connecting-ip")) headers.set("cf-connecting-ip", someAddress());
  return exports.default.fetch(`${BASE}${path}`, { ...init, headers });
}

/** Creates an open room; returns its id and the creator's host token. */
export async function createRoom(body: Record<string, unknown> = {}): Promise<{ roomId: string; token: string }> {
  const response = await api("/api/rooms", { method: "POST", body: JSON.stringify(body) });
  if (response.status !== 201) throw new Error(`create room: ${response.status} ${await response.text()}`);
  return (await response.json()) as { roomId: string; token: string };
}

export async function guestToken(roomId: string, displayName?: string): Promise<string> {
  const response = await api(`/api/rooms/${roomId}/join`, { method: "POST", body: JSON.stringify(displayName ? { displayName } : {}) });
  if (response.status !== 201) throw new Error(`guest token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

/** A room made through the integrator API (open to guest links unless told otherwise), with a host token. */
export async function createIntegratorRoom(body: Record<string, unknown> = {}): Promise<{ roomId: string; token: string }> {
  const response = await api("/api/v1/rooms", {
    method: "POST",
    headers: { authorization: `Bearer ${testEnv.TEST_API_KEY}` },
    body: JSON.stringify({ open: true, ...body }),
  });
  if (response.status !== 201) throw new Error(`create integrator room: ${response.status} ${await response.text()}`);
  const { roomId } = (await response.json()) as { roomId: string };
  return { roomId, token: await mintToken(roomId, { subject: "host", role: "host", name: "Host" }) };
}

/** A token from the integrator API, for any identity and role (rooms that key created only). */
export async function mintToken(roomId: string, body: { subject: string; role?: string; name?: string; ttlSeconds?: number }): Promise<string> {
  const response = await api(`/api/v1/rooms/${roomId}/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${testEnv.TEST_API_KEY}` },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`mint token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

export interface Participant {
  socket: TestSocket;
  participantId: string;
  resumeToken: string;
  lastSeq: number;
}

/** Opens a socket and says hello (and joins, unless `join: false`). */
export async function participant(roomId: string, token: string, options: { join?: boolean; name?: string; cf?: Record<string, unknown> } = {}): Promise<Participant> {
  const socket = await TestSocket.room(roomId, token, {}, options.cf);
  const hello = await socket.ok<{ participantId: string; resumeToken: string }>("hello", { protocol: PROTOCOL_VERSION });
  let lastSeq = 0;
  if (options.join !== false) {
    const joined = await socket.ok<{ status: string; lastSeq?: number }>("join", options.name ? { displayName: options.name } : {});
    lastSeq = joined.lastSeq ?? 0;
  }
  return { socket, participantId: hello.participantId, resumeToken: hello.resumeToken, lastSeq };
}

export function nodeHeaders(nodeId: string, secret = NODE_SECRET): Record<string, string> {
  return { authorization: `Bearer ${secret}`, "x-meridian-node-id": nodeId };
}

/** The highest event seq a socket has seen (received events, taken or not). */
export function seenSeq(socket: TestSocket, floor = 0): number {
  return Math.max(floor, ...socket.seqs);
}

export interface Resumed {
  socket: TestSocket;
  missed: EventFrame[];
  result: Record<string, unknown>;
}

/** Opens a new socket and resumes `participant` from `lastSeq`. */
export async function resume(roomId: string, token: string, p: { participantId: string; resumeToken: string }, lastSeq: number): Promise<Resumed> {
  const socket = await TestSocket.room(roomId, token);
  const result = await socket.ok<{ missed: EventFrame[] } & Record<string, unknown>>("resume", {
    protocol: PROTOCOL_VERSION,
    participantId: p.participantId,
    resumeToken: p.resumeToken,
    lastSeq,
  });
  return { socket, missed: result.missed, result };
}
