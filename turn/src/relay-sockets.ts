import { readFile } from "node:fs/promises";

/** coturn's relay range (its min-port..max-port), inclusive. */
export interface PortRange {
  readonly min: number;
  readonly max: number;
}

export interface SocketTable {
  readonly path: string;
  /** A kernel without IPv6 has no udp6 table: missing, it counts as no sockets. */
  readonly optional: boolean;
}

export const PROC_NET_UDP: readonly SocketTable[] = [
  { path: "/proc/net/udp", optional: false },
  { path: "/proc/net/udp6", optional: true },
];

/**
 * How many sockets in a /proc/net/udp or /proc/net/udp6 table are bound to a local port
 * inside `range`. Each row after the header is one socket:
 * `sl local_address rem_address st …`, the local address as `HEXADDR:HEXPORT` (32 hex
 * digits of address for udp6). Rows that do not parse are skipped rather than guessed at.
 */
export function countSocketsInRange(table: string, range: PortRange): number {
  let count = 0;
  for (const line of table.split("\n").slice(1)) {
    const local = line.trim().split(/\s+/)[1];
    const match = local && /^[0-9A-Fa-f]+:([0-9A-Fa-f]{4})$/.exec(local);
    if (!match) continue;
    const port = Number.parseInt(match[1]!, 16);
    if (port >= range.min && port <= range.max) count++;
  }
  return count;
}

/**
 * Live TURN allocations on this host, approximated from the kernel: coturn binds one UDP
 * relay socket per allocation (no-tcp-relay), on a port of its relay range, and closes it
 * when the allocation ends, so the sockets bound inside the range are the allocations.
 * It counts whatever process holds such a port; nodes reserve the range from the kernel's
 * ephemeral ports (net.ipv4.ip_local_reserved_ports) so that client sockets do not land
 * there. The tables list the sockets of the reader's network namespace: the agent must
 * share coturn's.
 */
export async function countRelaySockets(range: PortRange, tables: readonly SocketTable[] = PROC_NET_UDP): Promise<number> {
  let total = 0;
  for (const { path, optional } of tables) {
    let table: string;
    try {
      table = await readFile(path, "utf8");
    } catch (error) {
      if (optional && (error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    total += countSocketsInRange(table, range);
  }
  return total;
}
