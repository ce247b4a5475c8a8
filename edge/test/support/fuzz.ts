import { ERROR_CODES } from "@meridian/protocol";

/** Shared pieces of the fuzz tests: hostile values, a mutator, and the codes that count as typed. */

export const NASTY: unknown[] = [
  null, true, -1, 0, 1.5, 2 ** 53, -(2 ** 60), Number.MAX_VALUE, "", " ", "\u0000", "\ud800", "😀".repeat(50),
  "x".repeat(5000), [], [[[[[]]]]], {}, { __proto__: { polluted: true } }, { constructor: { prototype: 1 } },
  { toString: 1 }, "NaN", "Infinity", "<script>", "' OR 1=1 --", "../../etc/passwd",
];

export const TYPED = new Set<string>(ERROR_CODES);

export function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length)]!;
}

/** A copy of `value` with keys dropped or renamed, values swapped for hostile ones, and hostile keys added. */
export function mutate(value: unknown, random: () => number, depth = 0): unknown {
  if (depth > 4 || random() < 0.25) return pick(NASTY, random);
  if (Array.isArray(value)) return value.map((v) => mutate(v, random, depth + 1));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = random();
      if (r < 0.15) continue; // drop a key
      out[r < 0.25 ? `${k}_` : k] = r < 0.6 ? mutate(v, random, depth + 1) : v;
    }
    if (random() < 0.2) out[pick(["extra", "__proto__", "constructor", "kind", "id"], random)] = pick(NASTY, random);
    return out;
  }
  return random() < 0.5 ? pick(NASTY, random) : value;
}

/** `text` with one character replaced by a random ASCII one. */
export function corrupt(text: string, random: () => number): string {
  const cut = Math.floor(random() * text.length);
  return text.slice(0, cut) + String.fromCharCode(Math.floor(random() * 128)) + text.slice(cut + 1);
}

export function randomBytes(random: () => number, max = 64): ArrayBuffer {
  return new Uint8Array(Array.from({ length: 1 + Math.floor(random() * max) }, () => Math.floor(random() * 256))).buffer;
}

export function randomText(random: () => number, max = 200): string {
  return Array.from({ length: 1 + Math.floor(random() * max) }, () => String.fromCharCode(32 + Math.floor(random() * 95))).join("");
}
