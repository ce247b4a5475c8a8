import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket as ServerSocket } from "ws";
import { testFakeParameters } from "mediasoup-client";
import type { ChatMessage, MediaMode, MediaSource, PeerInfo, ProducerInfo } from "@meridian/protocol";

/**
 * A scripted room on loopback that speaks the browser <-> room protocol well enough for
 * the call session: hello/resume, join, transports (mediasoup-client's fake parameters),
 * produce/consume, chat with clientId idempotency, an event log with seqs for resume. A
 * test pushes events and inspects every request the client made.
 */

type Handler = (params: Record<string, unknown>, socket: ServerSocket) => unknown;

interface Request {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly socket: ServerSocket;
}

interface LoggedEvent {
  readonly seq: number;
  readonly event: string;
  readonly data: unknown;
}

export class RoomError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const AVATAR = { color: "#36e2b4", initials: "T" };

export class FakeRoom {
  readonly requests: Request[] = [];
  readonly sockets: ServerSocket[] = [];
  readonly log: LoggedEvent[] = [];
  readonly chat: ChatMessage[] = [];
  /** Other participants and what they send. */
  readonly peers = new Map<string, PeerInfo>();
  readonly handlers: Record<string, Handler> = {};
  role: "host" | "guest" = "host";
  lobby = false;
  /** What hello and join say about how the call's media flows. */
  mediaMode: MediaMode = "sfu";
  readonly #server: WebSocketServer;
  readonly #waiters: Array<{ method: string; match: (p: Record<string, unknown>) => boolean; resolve: (p: Record<string, unknown>) => void }> = [];
  #transports = 0;
  #producers = 0;
  #seq = 0;

  private constructor(server: WebSocketServer) {
    this.#server = server;
    Object.assign(this.handlers, this.#defaults());
    server.on("connection", (socket) => {
      this.sockets.push(socket);
      socket.on("message", (raw) => {
        const text = String(raw);
        if (text === "ping") return socket.send("pong");
        const frame = JSON.parse(text) as { kind: string; id: number; method: string; params: Record<string, unknown> };
        if (frame.kind === "req") void this.#answer(socket, frame);
      });
    });
  }

  static async start(): Promise<FakeRoom> {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await once(server, "listening");
    return new FakeRoom(server);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#server.address() as AddressInfo).port}/`;
  }

  /** The endpoint the session connects through. */
  get endpoint() {
    return { socketUrl: () => this.url, token: async () => "test-token" };
  }

  get socket(): ServerSocket {
    const open = this.sockets.filter((s) => s.readyState === s.OPEN);
    return open[open.length - 1]!;
  }

  calls(method: string): Array<Record<string, unknown>> {
    return this.requests.filter((r) => r.method === method).map((r) => r.params);
  }

  /** The next request of `method` (matching), or one already made after `from` requests. */
  next(method: string, match: (params: Record<string, unknown>) => boolean = () => true, from = 0): Promise<Record<string, unknown>> {
    const seen = this.requests.slice(from).find((r) => r.method === method && match(r.params));
    if (seen) return Promise.resolve(seen.params);
    return new Promise((resolve) => this.#waiters.push({ method, match, resolve }));
  }

  /** A logged event (with a seq, replayed on resume) to the client's current socket. */
  emit(event: string, data: unknown, options: { logged?: boolean; socket?: ServerSocket } = {}): number | undefined {
    const logged = options.logged ?? true;
    const seq = logged ? ++this.#seq : undefined;
    if (seq !== undefined) this.log.push({ seq, event, data });
    const socket = options.socket ?? this.socket;
    if (socket?.readyState === socket?.OPEN) socket.send(JSON.stringify({ kind: "evt", event, data, ...(seq === undefined ? {} : { seq }) }));
    return seq;
  }

  /** Records an event in the log without sending it (the client "missed" it). */
  miss(event: string, data: unknown): number {
    const seq = ++this.#seq;
    this.log.push({ seq, event, data });
    return seq;
  }

  addPeer(id: string, name: string, producers: Array<{ source: MediaSource; paused?: boolean }> = []): PeerInfo {
    const peer: PeerInfo = {
      id,
      displayName: name,
      role: "guest",
      avatar: AVATAR,
      presence: "connected",
      producers: producers.map((p) => this.producerInfo(p.source, p.paused)),
    };
    this.peers.set(id, peer);
    return peer;
  }

  producerInfo(source: MediaSource, paused = false): ProducerInfo {
    return { id: `remote-${source}-${++this.#producers}`, kind: source === "mic" || source === "screen-audio" ? "audio" : "video", source, paused };
  }

  /** Forgets every producer (as a failed node does) and tells the client to rebuild. */
  resetMedia(reason = "worker died"): void {
    for (const peer of this.peers.values()) peer.producers.length = 0;
    this.emit("mediaReset", { routerRtpCapabilities: testFakeParameters.generateRouterRtpCapabilities(), reason });
  }

  /** A chat message from someone else: stored, logged, and sent unless the client is to miss it. */
  say(from: string, text: string, options: { missed?: boolean } = {}): ChatMessage {
    const seq = ++this.#seq;
    const message: ChatMessage = { seq, from, name: this.peers.get(from)?.displayName ?? from, text, sentAt: Date.now(), clientId: `${from}-${seq}` };
    this.chat.push(message);
    this.log.push({ seq, event: "chat", data: { message } });
    if (!options.missed) this.socket?.send(JSON.stringify({ kind: "evt", event: "chat", data: { message }, seq }));
    return message;
  }

  /** Cuts every socket without a close handshake, like a network drop. */
  drop(): void {
    for (const socket of this.sockets) socket.terminate();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  async #answer(socket: ServerSocket, frame: { id: number; method: string; params: Record<string, unknown> }): Promise<void> {
    this.requests.push({ method: frame.method, params: frame.params, socket });
    for (const waiter of [...this.#waiters]) {
      if (waiter.method === frame.method && waiter.match(frame.params)) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(frame.params);
      }
    }
    const handler = this.handlers[frame.method];
    try {
      if (!handler) throw new RoomError("unknown_method", `no ${frame.method}`);
      const result = await handler(frame.params, socket);
      socket.send(JSON.stringify({ kind: "res", id: frame.id, result }));
    } catch (error) {
      const code = error instanceof RoomError ? error.code : "internal";
      socket.send(JSON.stringify({ kind: "res", id: frame.id, error: { code, message: (error as Error).message } }));
    }
  }

  #producer(producerId: string): { peer: PeerInfo; producer: ProducerInfo } | undefined {
    for (const peer of this.peers.values()) {
      const producer = peer.producers.find((p) => p.id === producerId);
      if (producer) return { peer, producer };
    }
    return undefined;
  }

  #defaults(): Record<string, Handler> {
    const settings = () => ({ open: true, lobby: this.lobby, locked: false, capacity: 100 });
    const iceServers = [{ urls: "turn:127.0.0.1:3478?transport=udp", username: "1700000000:me", credential: "secret" }];
    return {
      hello: () => ({
        roomId: "abcd-efgh-ijkl",
        participantId: "me",
        role: this.role,
        displayName: "Guest",
        avatar: AVATAR,
        settings: settings(),
        resumeToken: "resume-token",
        routerRtpCapabilities: testFakeParameters.generateRouterRtpCapabilities(),
        mediaMode: this.mediaMode,
      }),
      resume: ({ lastSeq }) => ({
        roomId: "abcd-efgh-ijkl",
        role: this.role,
        settings: settings(),
        state: "joined",
        peers: [...this.peers.values()],
        missed: this.log.filter((e) => e.seq > (lastSeq as number)).map((e) => ({ kind: "evt", event: e.event, data: e.data, seq: e.seq })),
        iceServers,
      }),
      iceServers: () => ({ iceServers: [{ urls: "turn:127.0.0.1:3478", username: "fresh", credential: "fresh" }] }),
      join: () => (this.lobby && this.role === "guest" ? { status: "lobby" } : { status: "joined", peers: [...this.peers.values()], lastSeq: this.#seq, iceServers, mediaMode: this.mediaMode }),
      leave: () => ({}),
      closeTransport: () => ({}),
      createTransport: () => {
        const options = testFakeParameters.generateTransportRemoteParameters();
        return { id: `transport-${++this.#transports}`, iceParameters: options.iceParameters, iceCandidates: options.iceCandidates, dtlsParameters: options.dtlsParameters };
      },
      connectTransport: () => ({}),
      produce: () => ({ producerId: `mine-${++this.#producers}` }),
      closeProducer: () => ({}),
      setProducerPaused: () => ({}),
      consume: ({ producerId }) => {
        const found = this.#producer(producerId as string);
        if (!found) throw new RoomError("not_found", `no producer ${String(producerId)}`);
        const parameters = testFakeParameters.generateConsumerRemoteParameters({ codecMimeType: found.producer.kind === "audio" ? "audio/opus" : "video/VP8" });
        return {
          consumerId: `consumer-${producerId as string}-${this.requests.length}`,
          producerId,
          peerId: found.peer.id,
          kind: found.producer.kind,
          source: found.producer.source,
          producerPaused: found.producer.paused,
          rtpParameters: parameters.rtpParameters,
        };
      },
      resumeConsumer: () => ({}),
      setPreferredLayers: () => ({}),
      restartIce: () => ({ iceParameters: { usernameFragment: "fresh-ufrag", password: "fresh-password-0123456789", iceLite: true } }),
      transportStats: () => ({ stats: [] }),
      sendChat: ({ clientId, text }) => {
        const existing = this.chat.find((m) => m.clientId === clientId);
        if (existing) return { seq: existing.seq, sentAt: existing.sentAt };
        const seq = ++this.#seq;
        const message: ChatMessage = { seq, from: "me", name: "Me", text: text as string, sentAt: Date.now(), clientId: clientId as string };
        this.chat.push(message);
        this.log.push({ seq, event: "chat", data: { message } });
        this.socket?.send(JSON.stringify({ kind: "evt", event: "chat", data: { message }, seq }));
        return { seq, sentAt: message.sentAt };
      },
      chatHistory: ({ before, limit }) => {
        const older = this.chat.filter((m) => before === undefined || m.seq < (before as number));
        const page = older.slice(-((limit as number) ?? 50));
        return { messages: page, hasMore: older.length > page.length };
      },
      admit: () => ({}),
      deny: () => ({}),
      kick: () => ({}),
      mute: () => ({}),
      updateSettings: (patch) => ({ ...settings(), ...patch }),
      endRoom: () => ({}),
    };
  }
}
