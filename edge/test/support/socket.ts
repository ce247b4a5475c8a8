import { exports } from "cloudflare:workers";
import { decodeFrame, type EventFrame, type Frame, type ResponseFrame } from "@meridian/protocol";

export const BASE = "http://meridian.test";
export const NODE_SECRET = "test-node-secret-0123456789";

/**
 * A WebSocket client for tests inside workerd: sends frames, and waits (with a timeout)
 * for the frames it expects instead of sleeping.
 */
export class TestSocket {
  readonly ws: WebSocket;
  readonly received: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  #nextId = 1;

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.accept();
    ws.addEventListener("message", (event) => {
      const decoded = decodeFrame(event.data as string, 1 << 22);
      if (!decoded.ok) throw new Error(`server sent a bad frame: ${decoded.error.message}`);
      this.received.push(decoded.frame);
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
  static async open(path: string, headers: Record<string, string> = {}): Promise<TestSocket> {
    const response = await exports.default.fetch(`${BASE}${path}`, { headers: { upgrade: "websocket", ...headers } });
    if (!response.webSocket) throw new Error(`no upgrade: ${response.status} ${await response.text()}`);
    return new TestSocket(response.webSocket);
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

  close(code = 1000, reason = "bye"): void {
    this.ws.close(code, reason);
  }
}

export async function createRoom(): Promise<string> {
  const response = await exports.default.fetch(`${BASE}/api/rooms`, { method: "POST" });
  if (response.status !== 201) throw new Error(`create room: ${response.status}`);
  return ((await response.json()) as { roomId: string }).roomId;
}

export function nodeHeaders(nodeId: string, secret = NODE_SECRET): Record<string, string> {
  return { authorization: `Bearer ${secret}`, "x-meridian-node-id": nodeId };
}
