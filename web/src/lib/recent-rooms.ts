/** Rooms this browser was in, newest first, for the landing page. Kept in localStorage only. */

export interface RecentRoom {
  readonly roomId: string;
  readonly lastJoinedAt: number;
  readonly role: "host" | "moderator" | "guest";
}

const KEY = "meridian.recentRooms";
const MAX = 8;

type StorageLike = Pick<Storage, "getItem" | "setItem">;

const defaultStorage = (): StorageLike | undefined => globalThis.localStorage;

export function recentRooms(storage: StorageLike | undefined = defaultStorage()): RecentRoom[] {
  try {
    const list = JSON.parse(storage?.getItem(KEY) ?? "[]") as RecentRoom[];
    return Array.isArray(list) ? list.filter((r) => typeof r.roomId === "string").slice(0, MAX) : [];
  } catch {
    return [];
  }
}

export function rememberRoom(room: Omit<RecentRoom, "lastJoinedAt">, now = Date.now(), storage: StorageLike | undefined = defaultStorage()): void {
  const rest = recentRooms(storage).filter((r) => r.roomId !== room.roomId);
  write([{ ...room, lastJoinedAt: now }, ...rest].slice(0, MAX), storage);
}

export function forgetRoom(roomId: string, storage: StorageLike | undefined = defaultStorage()): RecentRoom[] {
  const rest = recentRooms(storage).filter((r) => r.roomId !== roomId);
  write(rest, storage);
  return rest;
}

function write(list: RecentRoom[], storage: StorageLike | undefined): void {
  try {
    storage?.setItem(KEY, JSON.stringify(list));
  } catch {
    // Storage unavailable: the list is just not kept.
  }
}

/** "just now", "5 min ago", "yesterday", or a date. */
export function whenText(then: number, now = Date.now()): string {
  const minutes = Math.floor((now - then) / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  if (hours < 48) return "yesterday";
  return new Date(then).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}
