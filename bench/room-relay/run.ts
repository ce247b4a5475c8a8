import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PROTOCOL_VERSION, ROOM_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from "@meridian/protocol";
import { ROOT, freePort, startStack } from "../../scripts/lib/stack.ts";
import { progress, summary } from "../lib/stats.ts";

/**
 * bench/room-relay: fan-out latency of one message to N participants — a chat message
 * through Meridian's room DO (validated, stored, logged for resume, delivered) against a
 * bare hibernating-WebSocket broadcast DO relaying a frame of the same size, in the same
 * workerd. A second baseline adds one durable SQLite write per message before the bare
 * DO's broadcast, which the output gate then holds until the commit: what storing chat
 * would cost if the room fanned out after its write (it fans out before; the sender's
 * answer waits). Latency = send until the last of the N sockets has it.
 * Also holds 1,000 sockets in one room.
 */

const SIZES = (process.env.BENCH_SIZES ?? "2,10,100").split(",").map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const HELD = Number(process.env.BENCH_HELD ?? 1000);
const TARGET_RATIO = 1.2;

// Storage on tmpfs, for both: the comparison is about the code path, not the disk.
const state = mkdtempSync(join(process.env.BENCH_TMP ?? "/dev/shm", "meridian-bench-relay-"));
const stack = await startStack({
  config: join(ROOT, "bench/room-relay/wrangler.toml"),
  port: await freePort(),
  nodeSecret: "bench-node-secret-0123456789",
  persistTo: join(state, "edge"),
  nodes: [],
  logs: { dir: join(ROOT, "bench/results/room-relay") },
  edgeLogLevel: "error",
});
const wsBase = stack.url.replace(/^http/, "ws");

/** A socket that counts arrivals of a marker and reports when all N have it. */
function open(url: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.addEventListener("open", () => resolve(ws), { once: true });
    ws.addEventListener("error", () => reject(new Error(`cannot open ${url}`)), { once: true });
  });
}

/** Sends one request on a Meridian socket and waits for its response. */
function request(ws: WebSocket, id: number, method: string, params: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (event: MessageEvent) => {
      const frame = JSON.parse(String(event.data)) as { kind: string; id?: number; result?: unknown; error?: { message: string } };
      if (frame.kind !== "res" || frame.id !== id) return;
      ws.removeEventListener("message", onMessage);
      if (frame.error) reject(new Error(`${method}: ${frame.error.message}`));
      else resolve(frame.result);
    };
    ws.addEventListener("message", onMessage);
    ws.send(JSON.stringify({ kind: "req", id, method, params }));
  });
}

async function meridianRoom(size: number): Promise<WebSocket[]> {
  const created = (await (await fetch(`${stack.url}/api/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ capacity: 1000 }) })).json()) as { roomId: string; token: string };
  const sockets: WebSocket[] = [];
  for (let i = 0; i < size; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, size - i) }, async (_, j) => {
        const token = i + j === 0 ? created.token : ((await (await fetch(`${stack.url}/api/rooms/${created.roomId}/join`, { method: "POST" })).json()) as { token: string }).token;
        const ws = await open(`${wsBase}/api/rooms/${created.roomId}/ws`, [ROOM_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`]);
        await request(ws, 1, "hello", { protocol: PROTOCOL_VERSION });
        await request(ws, 2, "join", { displayName: `p${i + j}` });
        return ws;
      }),
    );
    sockets.push(...batch);
  }
  return sockets;
}

async function bareRoom(size: number, kind: "bare" | "stored"): Promise<WebSocket[]> {
  const name = `${kind}-${size}-${Date.now()}`;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < size; i += 50) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, size - i) }, () => open(`${wsBase}/bench/${kind}/${name}`)))));
  }
  return sockets;
}

/** ms from send until every socket received a frame containing `marker`. */
function fanOut(sockets: WebSocket[], send: () => void, marker: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let waiting = sockets.length;
    const start = performance.now();
    const timer = setTimeout(() => reject(new Error(`fan-out of ${marker} incomplete: ${waiting} missing`)), 30_000);
    for (const ws of sockets) {
      const onMessage = (event: MessageEvent) => {
        if (!String(event.data).includes(marker)) return;
        ws.removeEventListener("message", onMessage);
        if (--waiting === 0) {
          clearTimeout(timer);
          resolve(performance.now() - start);
        }
      };
      ws.addEventListener("message", onMessage);
    }
    send();
  });
}

/**
 * What the bare room relays: a frame the size and shape of the chat event Meridian
 * delivers, so both sides move the same bytes and only the room's work differs.
 */
function bareFrame(marker: string, round: number): string {
  const message = { seq: 1000 + round, from: crypto.randomUUID(), name: "p1", text: marker, sentAt: Date.now(), clientId: marker };
  return JSON.stringify({ kind: "evt", event: "chat", data: { message }, seq: 1000 + round });
}

/**
 * Both rooms are open at once and the rounds alternate between them, so warm-up, GC and
 * the other process on the two cores weigh on both the same.
 */
const KINDS = ["meridian", "bare", "stored"] as const;
type Kind = (typeof KINDS)[number];

async function measure(size: number): Promise<Record<Kind, number[]>> {
  const rooms = { meridian: await meridianRoom(size), bare: await bareRoom(size, "bare"), stored: await bareRoom(size, "stored") };
  const samples = { meridian: [] as number[], bare: [] as number[], stored: [] as number[] };
  for (let round = 0; round <= ROUNDS; round++) {
    // Rotate the order each round so no kind always goes first.
    const order = [...KINDS.slice(round % 3), ...KINDS.slice(0, round % 3)];
    for (const kind of order) {
      const sockets = rooms[kind];
      const marker = `m-${kind}-${size}-${round}-${Math.random().toString(36).slice(2)}`;
      // Rotate the sender so no participant's rate limit shapes the result.
      const sender = sockets[round % sockets.length]!;
      const ms = await fanOut(
        sockets,
        () =>
          kind === "meridian"
            ? sender.send(JSON.stringify({ kind: "req", id: 1000 + round, method: "sendChat", params: { clientId: marker, text: marker } }))
            : sender.send(bareFrame(marker, round)),
        marker,
      );
      if (round > 0) samples[kind].push(ms); // round 0 warms the path
    }
  }
  for (const ws of [...rooms.meridian, ...rooms.bare, ...rooms.stored]) ws.close();
  return samples;
}

const results: Record<string, unknown> = {};
const ratios: number[] = [];
try {
  for (const size of SIZES) {
    const samples = await measure(size);
    const bare = summary(samples.bare);
    const stored = summary(samples.stored);
    const room = summary(samples.meridian);
    const ratio = Math.round((room.median / bare.median) * 100) / 100;
    const ratioStored = Math.round((room.median / stored.median) * 100) / 100;
    ratios.push(ratio);
    results[`n${size}`] = {
      meridian: { median: room.median, p95: room.p95 },
      bare: { median: bare.median, p95: bare.p95 },
      bareWithDurableWrite: { median: stored.median, p95: stored.p95 },
      ratio,
      ratioToDurableBaseline: ratioStored,
    };
    progress(`N=${size}: meridian ${room.median} ms, bare ${bare.median} ms, bare+write ${stored.median} ms, ratio ${ratio} (${ratioStored} to bare+write)`);
  }
  progress(`holding ${HELD} sockets in one room`);
  const held = await meridianRoom(HELD);
  const heldFanOut = await fanOut(
    held,
    () => held[0]!.send(JSON.stringify({ kind: "req", id: 9, method: "sendChat", params: { clientId: "held", text: "held-all" } })),
    "held-all",
  );
  for (const ws of held) ws.close();
  process.stdout.write(
    JSON.stringify({
      bench: "room-relay",
      unit: "ms",
      rounds: ROUNDS,
      what: "send -> last of N sockets received (meridian: chat through the room DO; bare: hibernating broadcast DO; bareWithDurableWrite: bare + one SQLite insert per message)",
      ...results,
      ratio: Math.max(...ratios),
      held: { sockets: HELD, fanOutMs: Math.round(heldFanOut * 10) / 10 },
      target: { ratio_max: TARGET_RATIO, held_sockets: 1000 },
      pass: Math.max(...ratios) <= TARGET_RATIO && HELD >= 1000,
    }) + "\n",
  );
} finally {
  await stack.stop();
  rmSync(state, { recursive: true, force: true });
}
