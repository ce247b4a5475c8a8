import {
  ProtocolError,
  RpcCaller,
  decodeFrame,
  parseEvent,
  roomEvents,
  roomMethods,
  type EventData,
  type MethodName,
  type ParamsOf,
  type ResultOf,
  type RoomEvents,
  type RoomMethods,
} from "@meridian/protocol";

type EventKey = keyof RoomEvents & string;

/**
 * A scripted participant: speaks the room protocol over a real WebSocket (the same
 * RpcCaller the web app uses), without a browser. For signalling tests that need no media.
 */
export class RoomClient {
  readonly #socket: WebSocket;
  readonly #caller: RpcCaller<RoomMethods>;
  readonly #events: Array<{ event: string; data: unknown }> = [];
  readonly #waiters: Array<{ event: string; resolve: (data: unknown) => void }> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    this.#caller = new RpcCaller(roomMethods, (text) => socket.send(text), { timeoutMs: 15_000 });
    socket.addEventListener("message", (message) => {
      const decoded = decodeFrame(String(message.data), 1 << 20);
      if (!decoded.ok) throw new Error(`bad frame from room: ${decoded.error.message}`);
      const frame = decoded.frame;
      if (frame.kind === "res") this.#caller.handleResponse(frame);
      else if (frame.kind === "evt") {
        const { event, data } = parseEvent(roomEvents, frame);
        const waiter = this.#waiters.find((w) => w.event === event);
        if (waiter) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(data);
        } else this.#events.push({ event, data });
      }
    });
    this.closed = new Promise((resolve) =>
      socket.addEventListener("close", (event) => {
        this.#caller.failAll(new ProtocolError("closed", "socket closed"));
        resolve({ code: event.code, reason: event.reason });
      }),
    );
  }

  static connect(baseUrl: string, roomId: string): Promise<RoomClient> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/api/rooms/${roomId}/ws`);
    return new Promise((resolve, reject) => {
      socket.addEventListener("open", () => resolve(new RoomClient(socket)), { once: true });
      socket.addEventListener("error", () => reject(new Error(`cannot open the room socket for ${roomId}`)), { once: true });
    });
  }

  request<K extends MethodName<RoomMethods>>(method: K, params: ParamsOf<RoomMethods, K>): Promise<ResultOf<RoomMethods, K>> {
    return this.#caller.call(method, params);
  }

  /** The next `event` (already received or still to come), within the timeout. */
  nextEvent<K extends EventKey>(event: K, timeoutMs = 10_000): Promise<EventData<RoomEvents, K>> {
    const seen = this.#events.find((e) => e.event === event);
    if (seen) {
      this.#events.splice(this.#events.indexOf(seen), 1);
      return Promise.resolve(seen.data as EventData<RoomEvents, K>);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), timeoutMs);
      this.#waiters.push({
        event,
        resolve: (data) => {
          clearTimeout(timer);
          resolve(data as EventData<RoomEvents, K>);
        },
      });
    });
  }

  close(): void {
    this.#socket.close(1000, "bye");
  }
}

export async function createRoom(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/rooms`, { method: "POST" });
  if (response.status !== 201) throw new Error(`create room: HTTP ${response.status}`);
  return ((await response.json()) as { roomId: string }).roomId;
}
