import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { crc32 } from "node:zlib";

/**
 * The slice of STUN (RFC 8489) and TURN (RFC 8656) Meridian speaks itself: the agent's
 * health probes (a Binding request; an authenticated Allocate and its release) and the
 * tests' TURN client. Messages are encoded and decoded here; sockets live with the callers.
 */

export const MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;

export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
} as const;

export const Class = { Request: 0b00, Indication: 0b01, Success: 0b10, Error: 0b11 } as const;
export type StunClass = (typeof Class)[keyof typeof Class];

export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedTransport: 0x0019,
  XorMappedAddress: 0x0020,
  Software: 0x8022,
  Fingerprint: 0x8028,
} as const;

export interface StunAttribute {
  readonly type: number;
  readonly value: Buffer;
}

export interface StunMessage {
  readonly method: number;
  readonly cls: StunClass;
  readonly transactionId: Buffer;
  readonly attributes: readonly StunAttribute[];
  /** The raw bytes, kept to check MESSAGE-INTEGRITY and FINGERPRINT. */
  readonly raw: Buffer;
}

export interface TransportAddress {
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
}

export function newTransactionId(): Buffer {
  return randomBytes(12);
}

function messageType(method: number, cls: StunClass): number {
  // The class bits sit between method bits (RFC 8489 §5): M11..M7 C1 M6..M4 C0 M3..M0.
  return ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) | ((cls & 0b10) << 7) | ((cls & 0b01) << 4);
}

function splitType(type: number): { method: number; cls: StunClass } {
  const method = ((type & 0x3e00) >> 2) | ((type & 0x00e0) >> 1) | (type & 0x000f);
  const cls = (((type & 0x0100) >> 7) | ((type & 0x0010) >> 4)) as StunClass;
  return { method, cls };
}

function attributeBytes(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

export interface EncodeOptions {
  readonly method: number;
  readonly cls: StunClass;
  readonly transactionId?: Buffer;
  readonly attributes?: readonly StunAttribute[];
  /** The long-term or short-term key: appends MESSAGE-INTEGRITY. */
  readonly integrityKey?: Buffer;
  readonly fingerprint?: boolean;
}

export function encodeMessage(options: EncodeOptions): Buffer {
  const transactionId = options.transactionId ?? newTransactionId();
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(messageType(options.method, options.cls), 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  let message = Buffer.concat([header, ...(options.attributes ?? []).map((a) => attributeBytes(a.type, a.value))]);
  // Each trailer is computed over the message with its length already counting the trailer.
  if (options.integrityKey) {
    message.writeUInt16BE(message.length - HEADER_BYTES + 24, 2);
    const mac = createHmac("sha1", options.integrityKey).update(message).digest();
    message = Buffer.concat([message, attributeBytes(Attr.MessageIntegrity, mac)]);
  }
  if (options.fingerprint) {
    message.writeUInt16BE(message.length - HEADER_BYTES + 8, 2);
    const value = Buffer.alloc(4);
    value.writeUInt32BE((crc32(message) ^ 0x5354554e) >>> 0);
    message = Buffer.concat([message, attributeBytes(Attr.Fingerprint, value)]);
  }
  message.writeUInt16BE(message.length - HEADER_BYTES, 2);
  return message;
}

/** Parses one STUN message; undefined for anything else (ChannelData, junk, truncation). */
export function decodeMessage(raw: Buffer): StunMessage | undefined {
  if (raw.length < HEADER_BYTES || (raw[0]! & 0xc0) !== 0 || raw.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  const length = raw.readUInt16BE(2);
  if (length % 4 !== 0 || raw.length < HEADER_BYTES + length) return undefined;
  const attributes: StunAttribute[] = [];
  let offset = HEADER_BYTES;
  while (offset + 4 <= HEADER_BYTES + length) {
    const type = raw.readUInt16BE(offset);
    const size = raw.readUInt16BE(offset + 2);
    if (offset + 4 + size > HEADER_BYTES + length) return undefined;
    attributes.push({ type, value: raw.subarray(offset + 4, offset + 4 + size) });
    offset += 4 + Math.ceil(size / 4) * 4;
  }
  return { ...splitType(raw.readUInt16BE(0)), transactionId: raw.subarray(8, 20), attributes, raw: raw.subarray(0, HEADER_BYTES + length) };
}

/** Total length of the STUN message at the start of a stream buffer, once its header is in. */
export function framedLength(buffer: Buffer): number | undefined {
  return buffer.length < 4 ? undefined : HEADER_BYTES + buffer.readUInt16BE(2);
}

export function getAttribute(message: StunMessage, type: number): Buffer | undefined {
  return message.attributes.find((a) => a.type === type)?.value;
}

export function errorCode(message: StunMessage): { code: number; reason: string } | undefined {
  const value = getAttribute(message, Attr.ErrorCode);
  if (!value || value.length < 4) return undefined;
  return { code: (value[2]! & 0x7) * 100 + value[3]!, reason: value.subarray(4).toString("utf8") };
}

/** MD5(username ":" realm ":" password): the long-term credential key (RFC 8489 §9.2.2). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash("md5").update(`${username}:${realm}:${password}`).digest();
}

/** Checks the MESSAGE-INTEGRITY of a received message against a key. */
export function verifyIntegrity(message: StunMessage, key: Buffer): boolean {
  let offset = HEADER_BYTES;
  for (const attribute of message.attributes) {
    if (attribute.type === Attr.MessageIntegrity) {
      const covered = Buffer.from(message.raw.subarray(0, offset));
      covered.writeUInt16BE(offset - HEADER_BYTES + 24, 2);
      const expected = createHmac("sha1", key).update(covered).digest();
      return attribute.value.length === 20 && timingSafeEqual(expected, attribute.value);
    }
    offset += 4 + Math.ceil(attribute.value.length / 4) * 4;
  }
  return false;
}

export function encodeXorAddress(address: TransportAddress, transactionId: Buffer): Buffer {
  const value = Buffer.alloc(address.family === 4 ? 8 : 20);
  value.writeUInt8(address.family === 4 ? 0x01 : 0x02, 1);
  value.writeUInt16BE(address.port ^ (MAGIC_COOKIE >>> 16), 2);
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
  const bytes = addressBytes(address);
  for (let i = 0; i < bytes.length; i++) value[4 + i] = bytes[i]! ^ mask[i]!;
  return value;
}

export function decodeXorAddress(value: Buffer, transactionId: Buffer): TransportAddress {
  const family = value[1] === 0x01 ? 4 : 6;
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
  const bytes = Buffer.alloc(family === 4 ? 4 : 16);
  for (let i = 0; i < bytes.length; i++) bytes[i] = value[4 + i]! ^ mask[i]!;
  const address =
    family === 4
      ? [...bytes].join(".")
      : Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16)).join(":");
  return { family, address, port };
}

function addressBytes(address: TransportAddress): Buffer {
  if (address.family === 4) return Buffer.from(address.address.split(".").map(Number));
  const [head, tail] = address.address.split("::") as [string, string | undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const groups = [...headGroups, ...new Array<string>(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

/** A Binding request: what the health probe sends and what browsers send for srflx candidates. */
export function bindingRequest(transactionId = newTransactionId()): Buffer {
  return encodeMessage({ method: Method.Binding, cls: Class.Request, transactionId, fingerprint: true });
}

/** REQUESTED-TRANSPORT UDP (17): the only relay Meridian's coturn offers (`no-tcp-relay`). */
export const REQUESTED_TRANSPORT_UDP: StunAttribute = { type: Attr.RequestedTransport, value: Buffer.from([17, 0, 0, 0]) };

export function lifetimeAttribute(seconds: number): StunAttribute {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(seconds);
  return { type: Attr.Lifetime, value };
}

/** What a client keeps from the server's 401 challenge to sign its requests (RFC 8489 §9.2). */
export interface LongTermAuth {
  readonly username: string;
  readonly realm: string;
  /** Replaced when the server answers 438 (stale nonce) with a fresh one. */
  nonce: Buffer;
  readonly key: Buffer;
}

/** The long-term credential for a 401 challenge; undefined when it lacks REALM or NONCE. */
export function answerChallenge(challenge: StunMessage, username: string, password: string): LongTermAuth | undefined {
  const realm = getAttribute(challenge, Attr.Realm)?.toString("utf8");
  const nonce = getAttribute(challenge, Attr.Nonce);
  if (!realm || !nonce) return undefined;
  return { username, realm, nonce: Buffer.from(nonce), key: longTermKey(username, realm, password) };
}

/** USERNAME, REALM, NONCE: the attributes an authenticated request carries before its MESSAGE-INTEGRITY. */
export function credentialAttributes(auth: LongTermAuth): StunAttribute[] {
  return [
    { type: Attr.Username, value: Buffer.from(auth.username) },
    { type: Attr.Realm, value: Buffer.from(auth.realm) },
    { type: Attr.Nonce, value: auth.nonce },
  ];
}
