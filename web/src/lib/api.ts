/** The edge's HTTP API, as the web app uses it. */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, init);
  const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!response.ok) {
    throw new ApiError(response.status, body.error?.code ?? "internal", body.error?.message ?? response.statusText);
  }
  return body as T;
}

export function createRoom(): Promise<{ roomId: string }> {
  return request("/api/rooms", { method: "POST" });
}

export function getRoom(roomId: string): Promise<{ roomId: string; participants: number }> {
  return request(`/api/rooms/${encodeURIComponent(roomId)}`);
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
