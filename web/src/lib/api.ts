/** The edge's HTTP API, as the web app uses it, and where the app keeps its tokens. */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface RoomToken {
  readonly token: string;
  /** Unix seconds. */
  readonly expiresAt: number;
}

const TOKEN_KEY = (roomId: string) => `meridian.token.${roomId}`;
/** The newest token of any room: presenting it keeps this browser's identity (and profile). */
const IDENTITY_KEY = "meridian.identity";

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const identity = storedToken(IDENTITY_KEY);
  const headers = new Headers(init.headers);
  if (identity && !headers.has("authorization")) headers.set("authorization", `Bearer ${identity.token}`);
  if (init.body) headers.set("content-type", "application/json");
  const response = await fetch(path, { ...init, headers });
  const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!response.ok) {
    throw new ApiError(response.status, body.error?.code ?? "internal", body.error?.message ?? response.statusText);
  }
  return body as T;
}

function storedToken(key: string): RoomToken | undefined {
  try {
    const value = JSON.parse(localStorage.getItem(key) ?? "null") as RoomToken | null;
    // A token that expires within a minute is as good as expired: the socket would outlive it.
    return value && value.expiresAt * 1000 > Date.now() + 60_000 ? value : undefined;
  } catch {
    return undefined;
  }
}

function keep(roomId: string, token: RoomToken): RoomToken {
  const value = JSON.stringify({ token: token.token, expiresAt: token.expiresAt });
  localStorage.setItem(TOKEN_KEY(roomId), value);
  localStorage.setItem(IDENTITY_KEY, value);
  return token;
}

/** Creates a room; its host token is kept for it. */
export async function createRoom(): Promise<{ roomId: string }> {
  const created = await request<{ roomId: string } & RoomToken>("/api/rooms", { method: "POST" });
  keep(created.roomId, created);
  return { roomId: created.roomId };
}

export function getRoom(roomId: string): Promise<{ roomId: string; open: boolean; lobby: boolean; participants: number; ended: boolean }> {
  return request(`/api/rooms/${encodeURIComponent(roomId)}`);
}

/** The token to enter a room: the kept one, or a new guest token (open rooms). */
export async function roomToken(roomId: string): Promise<RoomToken> {
  const kept = storedToken(TOKEN_KEY(roomId));
  if (kept) return kept;
  const issued = await request<RoomToken>(`/api/rooms/${encodeURIComponent(roomId)}/join`, { method: "POST", body: "{}" });
  return keep(roomId, issued);
}

/** The profile behind this browser's identity; undefined before it has one (first visit). */
export interface Profile {
  displayName?: string;
  avatar?: { color: string; initials: string };
  preferences?: {
    joinWithCamera?: boolean;
    joinWithMic?: boolean;
    cameraId?: string;
    micId?: string;
    speakerId?: string;
    hideAddress?: boolean;
  };
}

export function hasIdentity(): boolean {
  return storedToken(IDENTITY_KEY) !== undefined;
}

export async function getProfile(): Promise<Profile | undefined> {
  if (!hasIdentity()) return undefined;
  return request<Profile>("/api/profile");
}

/** Replaces the given fields of the profile. */
export async function updateProfile(patch: Profile): Promise<Profile | undefined> {
  if (!hasIdentity()) return undefined;
  return request<Profile>("/api/profile", { method: "PUT", body: JSON.stringify(patch) });
}

export function roomSocketUrl(roomId: string): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/rooms/${encodeURIComponent(roomId)}/ws`;
}

/** Accepts a bare code or a pasted link and returns the room id, if it looks like one. */
export function parseRoomInput(input: string): string | undefined {
  const match = input.trim().toLowerCase().match(/([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})(?:[/?#]|$)/);
  return match?.[1];
}
