import { isIP } from "node:net";

/**
 * coturn's denied-peer-ip / allowed-peer-ip take an address or a "first-last" range,
 * not CIDR; operators and Terraform think in CIDR. Converts one to the other.
 */
export function cidrToRange(cidr: string): string {
  const [address, prefixText, ...rest] = cidr.split("/");
  const family = isIP(address ?? "");
  const bits = family === 4 ? 32 : family === 6 ? 128 : 0;
  const prefix = Number(prefixText);
  if (!bits || rest.length || prefixText === undefined || !/^\d+$/.test(prefixText) || prefix > bits) {
    throw new Error(`not a CIDR block: ${cidr}`);
  }
  const value = family === 4 ? ipv4ToBigInt(address!) : ipv6ToBigInt(address!);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  const first = value & ~hostMask & ((1n << BigInt(bits)) - 1n);
  const last = first | hostMask;
  const format = family === 4 ? bigIntToIpv4 : bigIntToIpv6;
  return `${format(first)}-${format(last)}`;
}

export function ipv4ToBigInt(address: string): bigint {
  return address.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

export function ipv6ToBigInt(address: string): bigint {
  let text = address;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToBigInt(v4[1]!);
    text = text.slice(0, -v4[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? [] : new Array<string>(8 - headGroups.length - tailGroups.length).fill("0");
  const groups = [...headGroups, ...zeros, ...tailGroups];
  if (groups.length !== 8) throw new Error(`not an IPv6 address: ${address}`);
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function bigIntToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join(".");
}

function bigIntToIpv6(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return groups.join(":");
}

/** The numeric bounds of an address or "first-last" range, for coverage checks. */
export function rangeBounds(range: string): { family: 4 | 6; first: bigint; last: bigint } {
  const [firstText, lastText = firstText] = range.split("-") as [string, string | undefined];
  const family = isIP(firstText);
  if (family === 0 || isIP(lastText!) !== family) throw new Error(`not an address range: ${range}`);
  const toInt = family === 4 ? ipv4ToBigInt : ipv6ToBigInt;
  return { family: family as 4 | 6, first: toInt(firstText), last: toInt(lastText!) };
}
