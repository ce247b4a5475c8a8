import { createSocket, type Socket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { countRelaySockets, countSocketsInRange, type PortRange } from "../src/relay-sockets.ts";
import { findFreePortBlock } from "./support/coturn.ts";

/** The relay-socket count behind meridian_turn_relay_allocations, on fixture tables and on the kernel's own. */

const RELAY: PortRange = { min: 49160, max: 49999 };

// Shaped like a TURN node's table: coturn's listener on 3478 (0x0D96), relay sockets on
// the range's edges (0xC008 = 49160, 0xC34F = 49999) and inside it, neighbours just outside
// (0xC007, 0xC350), a connected client whose *remote* port is in the range, and the
// trailing spaces and line feed the kernel writes.
const UDP4 = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops             
  101: 0A01280A:0D96 00000000:0000 07 00000000:00000000 00:00000000 00000000   108        0 31001 2 0000000000000000 0        
  102: 0A01280A:C008 00000000:0000 07 00000000:00000000 00:00000000 00000000   108        0 31002 2 0000000000000000 0        
  103: 0A01280A:C34F 00000000:0000 07 00000000:00000000 00:00000000 00000000   108        0 31003 2 0000000000000000 0        
  104: 0A01280A:C1F4 00000000:0000 07 00000000:00000000 00:00000000 00000000   108        0 31004 2 0000000000000000 12       
  105: 0A01280A:C007 00000000:0000 07 00000000:00000000 00:00000000 00000000   108        0 31005 2 0000000000000000 0        
  106: 0A01280A:C350 00000000:0000 07 00000000:00000000 00:00000000 00000000   108        0 31006 2 0000000000000000 0        
  107: 0A01280A:8A2E 0B00A8C6:C100 01 00000000:00000000 00:00000000 00000000     0        0 31007 2 0000000000000000 0        
`;

const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  201: 00000000000000000000000001000000:C010 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   108        0 32001 2 0000000000000000 0
  202: 00000000000000000000000000000000:0D96 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   108        0 32002 2 0000000000000000 0
`;

describe("countSocketsInRange (a /proc/net/udp table)", () => {
  it("counts the sockets whose local port is inside the range, bounds included", () => {
    expect(countSocketsInRange(UDP4, RELAY)).toBe(3);
    expect(countSocketsInRange(UDP4, { min: 49160, max: 49160 })).toBe(1);
    expect(countSocketsInRange(UDP4, { min: 3478, max: 3478 })).toBe(1);
  });

  it("reads the local port, not the remote one", () => {
    // Row 107's remote port 0xC100 = 49408 is in the range; its local 0x8A2E = 35374 is not.
    expect(countSocketsInRange(UDP4, { min: 35374, max: 35374 })).toBe(1);
    expect(countSocketsInRange(UDP4, { min: 49408, max: 49408 })).toBe(0);
  });

  it("reads IPv6 tables (32 hex digits of address)", () => {
    expect(countSocketsInRange(UDP6, RELAY)).toBe(1);
    expect(countSocketsInRange(UDP6, { min: 3478, max: 3478 })).toBe(1);
  });

  it("takes the first line for the header and skips rows it cannot read", () => {
    const header = UDP4.split("\n")[0]!;
    expect(countSocketsInRange(`${header}\n`, RELAY)).toBe(0);
    expect(countSocketsInRange("", RELAY)).toBe(0);
    const odd = [header, "  108: 0A01280A 00000000:0000 07", "  109: zz01280A:C008 00000000:0000 07", "garbage", "  110: 0A01280A:C00 00000000:0000 07", ""].join("\n");
    expect(countSocketsInRange(odd, RELAY)).toBe(0);
  });
});

describe("countRelaySockets", () => {
  const dirs: string[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  async function tables(files: Record<string, string>): Promise<Record<string, string>> {
    const dir = await mkdtemp(join(tmpdir(), "meridian-udp-"));
    dirs.push(dir);
    const paths: Record<string, string> = {};
    for (const [name, text] of Object.entries(files)) await writeFile((paths[name] = join(dir, name)), text);
    return { ...paths, dir };
  }

  it("adds the IPv4 and IPv6 tables; a missing optional one counts as none, a missing required one fails", async () => {
    const t = await tables({ udp: UDP4, udp6: UDP6 });
    expect(await countRelaySockets(RELAY, [{ path: t.udp!, optional: false }, { path: t.udp6!, optional: true }])).toBe(4);
    const missing = join(t.dir!, "absent");
    expect(await countRelaySockets(RELAY, [{ path: t.udp!, optional: false }, { path: missing, optional: true }])).toBe(3);
    await expect(countRelaySockets(RELAY, [{ path: missing, optional: false }])).rejects.toThrow(/ENOENT/);
  });

  it("sees a socket the kernel has bound in the range, and stops seeing it once closed", async () => {
    const port = await findFreePortBlock(1);
    const range = { min: port, max: port };
    expect(await countRelaySockets(range)).toBe(0);
    const socket = createSocket("udp4");
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.bind(port, "127.0.0.1", () => resolve()));
    expect(await countRelaySockets(range)).toBe(1);
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    sockets.splice(sockets.indexOf(socket), 1);
    expect(await countRelaySockets(range)).toBe(0);
  });
});
