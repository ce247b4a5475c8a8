import { EventEmitter } from "node:events";
import WebSocket from "ws";
import {
  DEFAULT_BACKOFF,
  MAX_NODE_FRAME_BYTES,
  ProtocolError,
  RpcCaller,
  backoffDelay,
  decodeFrame,
  encodeError,
  encodeEvent,
  errorFields,
  nodeToEdgeMethods,
  serveRequest,
  type BackoffOptions,
  type Handlers,
  type Logger,
  type MethodTable,
  type NodeLoad,
  type NodeRegistration,
} from "@meridian/protocol";

export interface EdgeLinkOptions<M extends MethodTable> {
  /** Full ws(s) URL of the edge's node endpoint (see `edgeConnectUrl`). */
  readonly url: string;
  readonly nodeId: string;
  readonly secret: string;
  readonly registration: () => NodeRegistration;
  /** Samples the current load; called before every report. */
  readonly load: () => Promise<NodeLoad>;
  /**
   * The calls this kind of node answers (an SFU node: `edgeToNodeMethods`; a TURN node:
   * none). Any other method gets a typed `unknown_method` error.
   */
  readonly methods: M;
  readonly handlers: Handlers<M, unknown>;
  readonly loadIntervalMs: number;
  readonly log: Logger;
  readonly backoff?: BackoffOptions;
  /** Ping period; a socket that misses one pong is dropped as half-open. */
  readonly heartbeatMs?: number;
  readonly callTimeoutMs?: number;
}

export interface EdgeLinkEvents {
  registered: [];
  disconnected: [info: { code: number; reason: string }];
  refused: [info: { status: number }];
}

/**
 * A node's only control path: one WebSocket it dials out to its node Durable Object.
 * It registers, reports load on a timer, answers the edge's calls, and redials with
 * jittered exponential backoff whenever the socket drops. No port is opened for it.
 */
export class EdgeLink<M extends MethodTable> extends EventEmitter<EdgeLinkEvents> {
  readonly #o: EdgeLinkOptions<M>;
  #socket: WebSocket | undefined;
  #registered = false;
  #stopped = true;
  #attempt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #loadTimer: NodeJS.Timeout | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(options: EdgeLinkOptions<M>) {
    super();
    this.#o = options;
  }

  get registered(): boolean {
    return this.#registered;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  /** Sends an event to the edge if the link is up; events while down are dropped (the edge reconciles on register). */
  sendEvent(event: string, data: unknown): boolean {
    const socket = this.#socket;
    if (!this.#registered || !socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(encodeEvent(event, data));
    return true;
  }

  /** Sends a load report now (e.g. on a state change) instead of at the next tick. */
  async reportLoad(): Promise<void> {
    const socket = this.#socket;
    if (!this.#registered || !socket || socket.readyState !== WebSocket.OPEN) return;
    try {
      const load = await this.#o.load();
      socket.send(encodeEvent("load", load));
    } catch (error) {
      this.#o.log.warn("load report failed", errorFields(error));
    }
  }

  /** Closes the socket for good: no reconnect. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    const socket = this.#socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      else socket.close(1001, "node shutting down");
      setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2000).unref();
    });
  }

  #connect(): void {
    const { url, nodeId, secret, log } = this.#o;
    log.debug("dialing edge", { url, attempt: this.#attempt });
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${secret}`, "x-meridian-node-id": nodeId },
      maxPayload: MAX_NODE_FRAME_BYTES,
      handshakeTimeout: 10_000,
      perMessageDeflate: false,
    });
    this.#socket = socket;
    const caller = new RpcCaller(nodeToEdgeMethods, (text) => socket.send(text), {
      timeoutMs: this.#o.callTimeoutMs ?? 10_000,
    });

    socket.on("unexpected-response", (_req, res) => {
      const status = res.statusCode ?? 0;
      const hint = status === 401 ? " (check NODE_SECRET)" : "";
      log.error(`edge refused the node connection: HTTP ${status}${hint}`, { status });
      this.emit("refused", { status });
      res.resume();
      socket.terminate();
    });
    socket.on("error", (error) => log.debug("edge socket error", errorFields(error)));
    socket.on("open", () => void this.#register(socket, caller));
    socket.on("message", (data, isBinary) => this.#onMessage(socket, caller, isBinary ? data : data.toString()));
    socket.on("pong", () => ((socket as WebSocket & { alive?: boolean }).alive = true));
    socket.on("close", (code, reasonBuffer) => {
      const reason = reasonBuffer.toString();
      const wasRegistered = this.#registered;
      this.#registered = false;
      clearInterval(this.#loadTimer);
      clearInterval(this.#heartbeatTimer);
      caller.failAll(new ProtocolError("closed", "edge connection closed"));
      if (wasRegistered && !this.#stopped) log.warn("edge connection lost", { code, reason });
      this.emit("disconnected", { code, reason });
      this.#scheduleReconnect();
    });
  }

  async #register(socket: WebSocket, caller: RpcCaller<typeof nodeToEdgeMethods>): Promise<void> {
    try {
      await caller.call("register", this.#o.registration());
    } catch (error) {
      this.#o.log.error("edge refused registration", errorFields(error));
      socket.close(1008, "registration failed");
      return;
    }
    if (socket !== this.#socket) return;
    this.#registered = true;
    this.#attempt = 0;
    this.#o.log.info("registered with edge", { nodeId: this.#o.nodeId });
    this.#loadTimer = setInterval(() => void this.reportLoad(), this.#o.loadIntervalMs);
    this.#startHeartbeat(socket);
    this.emit("registered");
  }

  #startHeartbeat(socket: WebSocket): void {
    const tracked = socket as WebSocket & { alive?: boolean };
    tracked.alive = true;
    this.#heartbeatTimer = setInterval(() => {
      if (!tracked.alive) {
        this.#o.log.warn("edge missed a heartbeat; dropping the socket");
        socket.terminate();
        return;
      }
      tracked.alive = false;
      socket.ping();
    }, this.#o.heartbeatMs ?? 15_000);
  }

  #onMessage(socket: WebSocket, caller: RpcCaller<typeof nodeToEdgeMethods>, raw: string | WebSocket.RawData): void {
    const decoded = decodeFrame(typeof raw === "string" ? raw : new Uint8Array(0), MAX_NODE_FRAME_BYTES);
    if (!decoded.ok) {
      this.#o.log.warn("bad frame from edge", { code: decoded.error.code, message: decoded.error.message });
      socket.send(encodeError(decoded.id, decoded.error.toBody()));
      return;
    }
    const frame = decoded.frame;
    if (frame.kind === "res") {
      caller.handleResponse(frame);
    } else if (frame.kind === "req") {
      void serveRequest(this.#o.methods, this.#o.handlers, frame, undefined, (error, method) =>
        this.#o.log.error("control call failed unexpectedly", { method, ...errorFields(error) }),
      ).then((response) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(response);
      });
    } else {
      this.#o.log.debug("event from edge", { event: frame.event });
    }
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const delay = backoffDelay(this.#attempt++, this.#o.backoff ?? DEFAULT_BACKOFF);
    this.#o.log.debug("reconnecting to edge", { inMs: delay, attempt: this.#attempt });
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }
}
