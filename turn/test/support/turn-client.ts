import { createSocket, type Socket } from "node:dgram";
import { connect as tlsConnect } from "node:tls";
import {
  Attr,
  Class,
  Method,
  REQUESTED_TRANSPORT_UDP,
  answerChallenge,
  credentialAttributes,
  decodeMessage,
  decodeXorAddress,
  encodeMessage,
  encodeXorAddress,
  errorCode,
  framedLength,
  getAttribute,
  lifetimeAttribute,
  newTransactionId,
  verifyIntegrity,
  bindingRequest,
  type LongTermAuth,
  type StunAttribute,
  type StunMessage,
  type TransportAddress,
} from "../../src/stun.ts";

/**
 * A minimal TURN client over UDP (RFC 8656): Allocate with the long-term credential
 * mechanism, CreatePermission, Send indications and Data indications. One client is one
 * 5-tuple, so one allocation; the tests open one client per allocation.
 */

export type TurnResult<T> = ({ ok: true } & T) | { ok: false; code: number; reason: string };

export class TurnClient {
  readonly #socket: Socket;
  readonly #server: { host: string; port: number };
  readonly #waiting = new Map<string, (message: StunMessage) => void>();
  readonly #data: Array<{ peer: TransportAddress; data: Buffer }> = [];
  readonly #dataWaiters: Array<() => void> = [];
  #auth: LongTermAuth | undefined;

  private constructor(socket: Socket, server: { host: string; port: number }) {
    this.#socket = socket;
    this.#server = server;
    socket.on("message", (raw) => this.#onMessage(raw));
  }

  static async open(server: { host: string; port: number }): Promise<TurnClient> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    return new TurnClient(socket, server);
  }

  close(): void {
    this.#socket.close();
  }

  /** Allocate a UDP relay; answers the 401 challenge with the given REST API credential. */
  async allocate(username: string, password: string): Promise<TurnResult<{ relayed: TransportAddress; integrityOk: boolean }>> {
    const challenge = await this.#request(Method.Allocate, [REQUESTED_TRANSPORT_UDP]);
    const challengeError = errorCode(challenge);
    if (challengeError?.code !== 401) throw new Error(`expected a 401 challenge, got ${JSON.stringify(challengeError ?? "success")}`);
    const auth = answerChallenge(challenge, username, password);
    if (!auth) throw new Error("the 401 challenge carries no REALM or NONCE");
    this.#auth = auth;
    const response = await this.#authenticated(Method.Allocate, [REQUESTED_TRANSPORT_UDP]);
    const failure = errorCode(response);
    if (failure) return { ok: false, ...failure };
    const relayed = getAttribute(response, Attr.XorRelayedAddress);
    if (!relayed) throw new Error("Allocate success without XOR-RELAYED-ADDRESS");
    return { ok: true, relayed: decodeXorAddress(relayed, response.transactionId), integrityOk: verifyIntegrity(response, auth.key) };
  }

  async createPermission(peerAddress: string): Promise<TurnResult<object>> {
    const transactionId = newTransactionId();
    const peer = encodeXorAddress({ family: 4, address: peerAddress, port: 0 }, transactionId);
    const response = await this.#authenticated(Method.CreatePermission, [{ type: Attr.XorPeerAddress, value: peer }], transactionId);
    const failure = errorCode(response);
    return failure ? { ok: false, ...failure } : { ok: true };
  }

  /** Refresh with LIFETIME 0 (RFC 8656 §7): ends the allocation; coturn frees its relay about a second later. */
  async release(): Promise<TurnResult<object>> {
    const response = await this.#authenticated(Method.Refresh, [lifetimeAttribute(0)]);
    const failure = errorCode(response);
    return failure ? { ok: false, ...failure } : { ok: true };
  }

  /** A Send indication: coturn relays `data` to the peer from the relayed address. */
  send(peer: TransportAddress, data: Buffer): void {
    const transactionId = newTransactionId();
    this.#socket.send(
      encodeMessage({
        method: Method.Send,
        cls: Class.Indication,
        transactionId,
        attributes: [
          { type: Attr.XorPeerAddress, value: encodeXorAddress(peer, transactionId) },
          { type: Attr.Data, value: data },
        ],
      }),
      this.#server.port,
      this.#server.host,
    );
  }

  /** The next Data indication (a peer's packet relayed back), within a deadline. */
  async nextData(timeoutMs = 3000): Promise<{ peer: TransportAddress; data: Buffer }> {
    const deadline = Date.now() + timeoutMs;
    while (this.#data.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no Data indication within the deadline");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#dataWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#data.shift()!;
  }

  async #authenticated(method: number, attributes: StunAttribute[], transactionId = newTransactionId(), retried = false): Promise<StunMessage> {
    const auth = this.#auth;
    if (!auth) throw new Error("allocate first");
    const response = await this.#request(
      method,
      [...attributes, ...credentialAttributes(auth)],
      auth.key,
      transactionId,
    );
    // A 438 (stale nonce) carries a fresh nonce: retry once with it, as RFC 8489 says.
    if (errorCode(response)?.code === 438 && !retried) {
      auth.nonce = getAttribute(response, Attr.Nonce) ?? auth.nonce;
      // IPv4 XOR addresses depend only on the magic cookie, so the attributes stay valid.
      return this.#authenticated(method, attributes, newTransactionId(), true);
    }
    return response;
  }

  #request(method: number, attributes: StunAttribute[], key?: Buffer, transactionId = newTransactionId(), timeoutMs = 3000): Promise<StunMessage> {
    const message = encodeMessage({
      method,
      cls: Class.Request,
      transactionId,
      attributes,
      fingerprint: true,
      ...(key ? { integrityKey: key } : {}),
    });
    return new Promise((resolve, reject) => {
      const id = transactionId.toString("hex");
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`no answer to STUN method 0x${method.toString(16)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, (response) => {
        clearTimeout(timer);
        resolve(response);
      });
      this.#socket.send(message, this.#server.port, this.#server.host);
    });
  }

  #onMessage(raw: Buffer): void {
    const message = decodeMessage(raw);
    if (!message) return;
    if (message.method === Method.Data && message.cls === Class.Indication) {
      const peer = getAttribute(message, Attr.XorPeerAddress);
      const data = getAttribute(message, Attr.Data);
      if (peer && data) this.#data.push({ peer: decodeXorAddress(peer, message.transactionId), data: Buffer.from(data) });
      for (const wake of this.#dataWaiters.splice(0)) wake();
      return;
    }
    const id = message.transactionId.toString("hex");
    const waiter = this.#waiting.get(id);
    if (waiter) {
      this.#waiting.delete(id);
      waiter(message);
    }
  }
}

/** A STUN Binding over TLS: proves the TLS listener, its certificate and protocol floor. */
export function tlsBinding(
  server: { host: string; port: number },
  ca: Buffer,
  timeoutMs = 3000,
): Promise<{ mapped: TransportAddress; protocol: string }> {
  return new Promise((resolve, reject) => {
    const transactionId = newTransactionId();
    const socket = tlsConnect({ host: server.host, port: server.port, ca, servername: "turn.test" });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no STUN answer over TLS in time"));
    }, timeoutMs);
    let buffer = Buffer.alloc(0);
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("secureConnect", () => socket.write(bindingRequest(transactionId)));
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const length = framedLength(buffer);
      if (length === undefined || buffer.length < length) return;
      const message = decodeMessage(buffer.subarray(0, length));
      const mapped = message && getAttribute(message, Attr.XorMappedAddress);
      clearTimeout(timer);
      const protocol = socket.getProtocol() ?? "unknown";
      socket.destroy();
      if (!message || !mapped || !message.transactionId.equals(transactionId)) reject(new Error("bad STUN answer over TLS"));
      else resolve({ mapped: decodeXorAddress(mapped, message.transactionId), protocol });
    });
  });
}
