import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { mintTurnCredential } from "./credentials.ts";
import {
  Attr,
  Class,
  Method,
  REQUESTED_TRANSPORT_UDP,
  answerChallenge,
  bindingRequest,
  credentialAttributes,
  decodeMessage,
  decodeXorAddress,
  encodeMessage,
  errorCode,
  getAttribute,
  lifetimeAttribute,
  newTransactionId,
  verifyIntegrity,
  type LongTermAuth,
  type StunAttribute,
  type StunMessage,
  type TransportAddress,
} from "./stun.ts";

export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
}

// RFC 8489 starts retransmitting at 500 ms for paths across the Internet; coturn sits on
// the same host or network, so half that still leaves room for two resends within the
// one-second budget a probe has, and one lost datagram no longer costs a whole probe.
const FIRST_RETRANSMIT_MS = 250;

/** One probe's UDP socket: answers matched to requests by transaction id, requests resent until a deadline. */
class StunUdp {
  readonly #socket: Socket;
  readonly #target: ProbeTarget;
  readonly #waiting = new Map<string, (answer: StunMessage | undefined) => void>();
  #broken = false;
  #closed = false;

  constructor(target: ProbeTarget) {
    this.#target = target;
    this.#socket = createSocket(isIPv6(target.host) ? "udp6" : "udp4");
    this.#socket.on("error", () => {
      this.#broken = true;
      for (const settle of [...this.#waiting.values()]) settle(undefined);
    });
    this.#socket.on("message", (data) => {
      const message = decodeMessage(data);
      if (message) this.#waiting.get(message.transactionId.toString("hex"))?.(message);
    });
  }

  /** The answer to `message`, or undefined when none came before `deadline` (ms since the epoch). */
  request(message: Buffer, transactionId: Buffer, deadline: number): Promise<StunMessage | undefined> {
    return new Promise((resolve) => {
      const id = transactionId.toString("hex");
      let timer: NodeJS.Timeout | undefined;
      let rto = FIRST_RETRANSMIT_MS;
      const settle = (answer: StunMessage | undefined) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve(answer);
      };
      // Resends carry the same transaction id, so coturn treats them as one request.
      const send = () => {
        const left = deadline - Date.now();
        if (left <= 0 || this.#broken || this.#closed) return settle(undefined);
        this.#socket.send(message, this.#target.port, this.#target.host, (error) => {
          if (error) settle(undefined);
        });
        timer = setTimeout(send, Math.min(rto, left));
        rto *= 2;
      };
      this.#waiting.set(id, settle);
      send();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const settle of [...this.#waiting.values()]) settle(undefined);
    this.#socket.close();
  }
}

/**
 * One STUN Binding request over UDP: true when coturn answers it with a success carrying
 * a mapped address before the timeout. Cheap enough to run every few seconds, and it
 * checks the path clients use rather than a process list.
 */
export async function probeStun(target: ProbeTarget, timeoutMs = 1000): Promise<boolean> {
  const udp = new StunUdp(target);
  try {
    const transactionId = newTransactionId();
    const answer = await udp.request(bindingRequest(transactionId), transactionId, Date.now() + timeoutMs);
    return answer?.method === Method.Binding && answer.cls === Class.Success && getAttribute(answer, Attr.XorMappedAddress) !== undefined;
  } finally {
    udp.close();
  }
}

export interface AllocateProbeOptions {
  /** The secret the edge mints browsers' credentials with (its current TURN_SECRET). */
  readonly secret: string;
  /** The credential's user id: it names the prober in coturn's log and quota. */
  readonly userId: string;
  /** For the Allocate exchange; the release has the same again. */
  readonly timeoutMs?: number;
}

export type AllocateProbeResult =
  | {
      readonly ok: true;
      readonly relayed: TransportAddress;
      /** coturn confirmed the Refresh with LIFETIME 0: the relay is free again. */
      readonly released: boolean;
    }
  | { readonly ok: false; readonly reason: string; readonly code?: number };

export const REFUSED_SECRET_REASON = "coturn refuses the edge's TURN secret";

// The credential outlives one probe by a wide margin and nothing else: coturn checks the
// expiry only when it creates the allocation, on the agent's own clock.
const CREDENTIAL_TTL_S = 60;

/**
 * What a browser does with the credential the edge gives it, over UDP (RFC 8656): an
 * Allocate, answered with a 401 carrying REALM and NONCE, then the same Allocate signed
 * with a credential minted from the edge's secret. A success means browsers' credentials
 * work here; the allocation is then released with a Refresh of LIFETIME 0 so probes hold
 * no relays. A STUN Binding cannot tell this: coturn answers it whatever its secret.
 */
export async function probeAllocate(target: ProbeTarget, options: AllocateProbeOptions): Promise<AllocateProbeResult> {
  const timeoutMs = options.timeoutMs ?? 1000;
  const { username, credential } = await mintTurnCredential({ secret: options.secret, userId: options.userId, ttlSeconds: CREDENTIAL_TTL_S });
  const udp = new StunUdp(target);
  try {
    const deadline = Date.now() + timeoutMs;
    // No LIFETIME: coturn (like RFC 8656) raises anything shorter to its 10-minute default.
    const allocate = [REQUESTED_TRANSPORT_UDP];
    const challenge = await transact(udp, Method.Allocate, allocate, undefined, deadline);
    if (!challenge) return { ok: false, reason: "coturn does not answer a TURN Allocate" };
    const challengeError = errorCode(challenge);
    if (!challengeError) {
      await release(udp, undefined, Date.now() + timeoutMs);
      return { ok: false, reason: "coturn allocates relays without authentication" };
    }
    if (challengeError.code !== 401) {
      return { ok: false, code: challengeError.code, reason: `coturn answers an unauthenticated Allocate with ${challengeError.code} ${challengeError.reason}` };
    }
    const auth = answerChallenge(challenge, username, credential);
    if (!auth) return { ok: false, code: 401, reason: "coturn's 401 challenge carries no REALM or NONCE" };

    const answer = await transact(udp, Method.Allocate, allocate, auth, deadline);
    if (!answer) return { ok: false, reason: "coturn does not answer an authenticated TURN Allocate" };
    const failure = errorCode(answer);
    if (failure?.code === 401) return { ok: false, code: 401, reason: `${REFUSED_SECRET_REASON} (401 to an Allocate signed with a fresh credential)` };
    if (failure) return { ok: false, code: failure.code, reason: `coturn refuses a TURN Allocate: ${failure.code} ${failure.reason}` };
    const relayed = getAttribute(answer, Attr.XorRelayedAddress);
    const released = await release(udp, auth, Date.now() + timeoutMs);
    // Only a server holding the same secret can sign with the key derived from it.
    if (!verifyIntegrity(answer, auth.key)) return { ok: false, reason: "coturn's Allocate success is not signed with the edge's credential" };
    if (!relayed) return { ok: false, reason: "coturn's Allocate success has no XOR-RELAYED-ADDRESS" };
    return { ok: true, relayed: decodeXorAddress(relayed, answer.transactionId), released };
  } finally {
    udp.close();
  }
}

/** Refresh with LIFETIME 0 (RFC 8656 §7): true once coturn confirms the allocation is gone. */
async function release(udp: StunUdp, auth: LongTermAuth | undefined, deadline: number): Promise<boolean> {
  const answer = await transact(udp, Method.Refresh, [lifetimeAttribute(0)], auth, deadline);
  if (!answer) return false;
  // 437: no allocation on this 5-tuple, which is what a resent Refresh meets when the
  // first copy was applied and only its answer was lost.
  const failure = errorCode(answer);
  return failure ? failure.code === 437 : answer.cls === Class.Success;
}

/** One request (signed when `auth` is given) and its answer; a stale nonce (438) is retried once with the fresh one. */
async function transact(
  udp: StunUdp,
  method: number,
  attributes: StunAttribute[],
  auth: LongTermAuth | undefined,
  deadline: number,
  retried = false,
): Promise<StunMessage | undefined> {
  const transactionId = newTransactionId();
  const message = encodeMessage({
    method,
    cls: Class.Request,
    transactionId,
    attributes: auth ? [...attributes, ...credentialAttributes(auth)] : attributes,
    fingerprint: true,
    ...(auth ? { integrityKey: auth.key } : {}),
  });
  const answer = await udp.request(message, transactionId, deadline);
  if (!answer || answer.method !== method) return undefined;
  const fresh = getAttribute(answer, Attr.Nonce);
  if (auth && !retried && errorCode(answer)?.code === 438 && fresh) {
    auth.nonce = Buffer.from(fresh);
    return transact(udp, method, attributes, auth, deadline, true);
  }
  return answer;
}
