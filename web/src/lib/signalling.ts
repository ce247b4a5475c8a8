import {
  KEEPALIVE_PING,
  KEEPALIVE_PONG,
  ProtocolError,
  ROOM_SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
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
type Listener<K extends EventKey> = (data: EventData<RoomEvents, K>) => void;

const MAX_SERVER_FRAME_BYTES = 1024 * 1024;
/** Keepalive period: the room drops a socket silent for 45 s. */
const KEEPALIVE_MS = 15_000;

/**
 * The browser's one WebSocket to its room: typed requests with ids and timeouts, typed
 * events (with their log seq), keepalive pings, and a close callback. The join token
 * travels as a subprotocol, never in the URL. Every frame from the server is validated.
 */
export class SignallingClient {
  readonly #url: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #listeners = new Map<string, Set<(data: unknown) => void>>();
  readonly #anyListeners = new Set<(event: EventKey, data: unknown, seq: number | undefined) => void>();
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #socket: WebSocket | undefined;
  #caller: RpcCaller<RoomMethods> | undefined;
  #onClose: ((event: { code: number; reason: string }) => void) | undefined;

  constructor(url: string, token: string, options: { timeoutMs?: number } = {}) {
    this.#url = url;
    this.#token = token;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.#url, [ROOM_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${this.#token}`]);
      this.#socket = socket;
      const caller = new RpcCaller(roomMethods, (text) => {
        if (socket.readyState !== WebSocket.OPEN) throw new Error("socket is not open");
        socket.send(text);
      }, { timeoutMs: this.#timeoutMs });
      this.#caller = caller;
      let opened = false;
      socket.onopen = () => {
        opened = true;
        this.#keepalive = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send(KEEPALIVE_PING), KEEPALIVE_MS);
        resolve();
      };
      socket.onmessage = (message) => this.#onMessage(caller, message.data);
      socket.onclose = (event) => {
        clearInterval(this.#keepalive);
        caller.failAll(new ProtocolError("closed", "connection to the room closed"));
        if (!opened) reject(new ProtocolError("closed", "could not connect to the room"));
        else this.#onClose?.({ code: event.code, reason: event.reason });
      };
    });
  }

  request<K extends MethodName<RoomMethods>>(method: K, params: ParamsOf<RoomMethods, K>): Promise<ResultOf<RoomMethods, K>> {
    if (!this.#caller) return Promise.reject(new ProtocolError("closed", "not connected"));
    return this.#caller.call(method, params);
  }

  on<K extends EventKey>(event: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (data: unknown) => void);
    return () => set.delete(listener as (data: unknown) => void);
  }

  /** Every valid event, whatever its name, with its seq when the room logged it. */
  onAny(listener: (event: EventKey, data: unknown, seq: number | undefined) => void): () => void {
    this.#anyListeners.add(listener);
    return () => this.#anyListeners.delete(listener);
  }

  onClose(listener: (event: { code: number; reason: string }) => void): void {
    this.#onClose = listener;
  }

  get open(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.#onClose = undefined;
    clearInterval(this.#keepalive);
    this.#socket?.close(1000, "bye");
  }

  #onMessage(caller: RpcCaller<RoomMethods>, raw: unknown): void {
    if (raw === KEEPALIVE_PONG) return;
    const decoded = decodeFrame(typeof raw === "string" ? raw : new Uint8Array(), MAX_SERVER_FRAME_BYTES);
    if (!decoded.ok) {
      console.warn("meridian: bad frame from room", decoded.error.message);
      return;
    }
    const frame = decoded.frame;
    if (frame.kind === "res") {
      caller.handleResponse(frame);
      return;
    }
    if (frame.kind !== "evt") return;
    try {
      const { event, data } = parseEvent(roomEvents, frame);
      for (const listener of this.#listeners.get(event) ?? []) listener(data);
      for (const listener of this.#anyListeners) listener(event, data, frame.seq);
    } catch (error) {
      console.warn("meridian: bad event from room", (error as Error).message);
    }
  }
}
