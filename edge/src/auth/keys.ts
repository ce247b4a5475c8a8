import { importJWK, type CryptoKey, type JWK } from "jose";

/**
 * The edge's token signing keys, from the `SIGNING_KEYS` secret: a JWK Set of private
 * ES256 keys, each with a `kid`. The first signs; every key verifies, so a rotation is
 * "add the new key first, wait out the old tokens, remove the old key".
 */
export const TOKEN_ALG = "ES256";

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export interface KeyRing {
  readonly active: SigningKey;
  readonly byKid: ReadonlyMap<string, SigningKey>;
  /** What `/.well-known/jwks.json` publishes. */
  readonly publicJwks: { keys: JWK[] };
}

export class KeyConfigError extends Error {
  override name = "KeyConfigError";
}

// Importing keys costs a few ms: keep the ring for as long as the secret is unchanged.
let cached: { source: string; ring: Promise<KeyRing> } | undefined;

export function keyRing(source: string | undefined): Promise<KeyRing> {
  if (!source) return Promise.reject(new KeyConfigError("SIGNING_KEYS is not configured"));
  if (cached?.source !== source) cached = { source, ring: buildRing(source) };
  return cached.ring;
}

async function buildRing(source: string): Promise<KeyRing> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    throw new KeyConfigError("SIGNING_KEYS is not JSON");
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new KeyConfigError("SIGNING_KEYS must be a JWK Set with at least one key");
  const ring: SigningKey[] = [];
  for (const jwk of keys as JWK[]) {
    if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.d || !jwk.kid) {
      throw new KeyConfigError("every SIGNING_KEYS entry must be a private P-256 (ES256) JWK with a kid");
    }
    const { d: _private, ...publicPart } = jwk;
    ring.push({
      kid: jwk.kid,
      privateKey: (await importJWK({ ...jwk, alg: TOKEN_ALG }, TOKEN_ALG)) as CryptoKey,
      publicJwk: { ...publicPart, alg: TOKEN_ALG, use: "sig" },
    });
  }
  if (new Set(ring.map((k) => k.kid)).size !== ring.length) throw new KeyConfigError("SIGNING_KEYS has duplicate kids");
  return {
    active: ring[0]!,
    byKid: new Map(ring.map((k) => [k.kid, k])),
    publicJwks: { keys: ring.map((k) => k.publicJwk) },
  };
}
