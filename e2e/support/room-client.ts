import type { EventData, MethodName, ParamsOf, ResultOf, RoomEvents, RoomMethods } from "@meridian/protocol";
import { SignallingClient } from "@meridian/web/signalling";

type EventKey = keyof RoomEvents & string;

/**
 * A scripted participant: the web app's own signalling client over a real WebSocket,
 * plus a buffer so a test can wait for the next event of a kind. No browser, no media.
 */
export class RoomClient {
  readonly #client: SignallingClient;
  readonly #events: Array<{ event: string; data: unknown }> = [];
  readonly #waiters: Array<{ event: string; resolve: (data: unknown) => void }> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(client: SignallingClient) {
    this.#client = client;
    client.onAny((event, data) => {
      const waiter = this.#waiters.find((w) => w.event === event);
      if (!waiter) {
        this.#events.push({ event, data });
        return;
      }
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve(data);
    });
    this.closed = new Promise((resolve) => client.onClose(resolve));
  }

  /**
   * Connects with a token. `cf` stands in for Cloudflare's request.cf (latitude,
   * longitude, colo, country): wrangler dev takes it from the MF-CF-Blob header.
   */
  static async connect(baseUrl: string, roomId: string, token: string, options: { cf?: Record<string, string> } = {}): Promise<RoomClient> {
    const client = new SignallingClient(`${baseUrl.replace(/^http/, "ws")}/api/rooms/${roomId}/ws`, token);
    if (!options.cf) {
      await client.connect();
      return new RoomClient(client);
    }
    // The signalling client opens a browser-style WebSocket (no headers); Node's accepts
    // headers in its init argument, so swap in one that adds the header for this connect.
    const Native = globalThis.WebSocket;
    const headers = { "mf-cf-blob": JSON.stringify(options.cf) };
    globalThis.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, { protocols, headers } as unknown as string[]);
      }
    } as typeof WebSocket;
    try {
      await client.connect();
    } finally {
      globalThis.WebSocket = Native;
    }
    return new RoomClient(client);
  }

  request<K extends MethodName<RoomMethods>>(method: K, params: ParamsOf<RoomMethods, K>): Promise<ResultOf<RoomMethods, K>> {
    return this.#client.request(method, params);
  }

  /** The next `event` (already received or still to come), within the timeout. */
  nextEvent<K extends EventKey>(event: K, timeoutMs = 10_000): Promise<EventData<RoomEvents, K>> {
    const seen = this.#events.find((e) => e.event === event);
    if (seen) {
      this.#events.splice(this.#events.indexOf(seen), 1);
      return Promise.resolve(seen.data as EventData<RoomEvents, K>);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), timeoutMs);
      this.#waiters.push({
        event,
        resolve: (data) => {
          clearTimeout(timer);
          resolve(data as EventData<RoomEvents, K>);
        },
      });
    });
  }

  close(): void {
    this.#client.close();
  }
}

const JSON_BODY = { "content-type": "application/json" };

/** Creates a room; returns its id and the creator's host token. */
export async function createRoom(baseUrl: string, body: Record<string, unknown> = {}): Promise<{ roomId: string; token: string }> {
  const response = await fetch(`${baseUrl}/api/rooms`, { method: "POST", headers: JSON_BODY, body: JSON.stringify(body) });
  if (response.status !== 201) throw new Error(`create room: HTTP ${response.status}`);
  return (await response.json()) as { roomId: string; token: string };
}

/** A guest token for an open room. */
export async function guestToken(baseUrl: string, roomId: string, displayName?: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/rooms/${roomId}/join`, {
    method: "POST",
    headers: JSON_BODY,
    body: JSON.stringify(displayName ? { displayName } : {}),
  });
  if (response.status !== 201) throw new Error(`guest token: HTTP ${response.status}`);
  return ((await response.json()) as { token: string }).token;
}
