/**
 * TURN REST API credentials (the scheme coturn's `use-auth-secret` checks):
 * username = "<unix-expiry-seconds>:<user-id>", credential = base64(HMAC-SHA1(secret, username)).
 * Web Crypto only: the edge (a Worker) mints these, and Node uses the same file in tests.
 */

export interface TurnCredential {
  readonly username: string;
  readonly credential: string;
  /** Unix seconds after which coturn refuses new allocations with it. */
  readonly expiresAt: number;
}

export interface MintOptions {
  readonly secret: string;
  /** The participant the credential is for; becomes part of the username. */
  readonly userId: string;
  readonly ttlSeconds: number;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: number;
}

export async function mintTurnCredential(options: MintOptions): Promise<TurnCredential> {
  const { secret, userId, ttlSeconds } = options;
  if (!secret) throw new Error("TURN secret is empty");
  // ':' is coturn's separator between expiry and user id; a second one would move the split.
  if (!/^[^:\s]{1,128}$/.test(userId)) throw new Error("TURN user id: 1-128 characters, no ':' or spaces");
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error("TURN credential ttl must be a positive integer");
  const expiresAt = Math.floor((options.now ?? Date.now()) / 1000) + ttlSeconds;
  const username = `${expiresAt}:${userId}`;
  return { username, credential: await turnPassword(secret, username), expiresAt };
}

/** base64(HMAC-SHA1(secret, username)): what coturn computes to check a REST API username. */
export async function turnPassword(secret: string, username: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(username)));
  let binary = "";
  for (const byte of mac) binary += String.fromCharCode(byte);
  return btoa(binary);
}
