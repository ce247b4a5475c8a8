import { SignJWT, base64url, importJWK, type JWK } from "jose";

/** Signs arbitrary claims with the first key of a JWK Set (JSON), for forging and rotation tests. */
export async function signWith(
  keySet: string,
  claims: Record<string, unknown>,
  options: { kid?: string; issuer?: string; audience?: string; expiresIn?: number; subject?: string } = {},
): Promise<string> {
  const jwk = (JSON.parse(keySet) as { keys?: JWK[] }).keys?.[0] ?? (JSON.parse(keySet) as JWK);
  const key = await importJWK({ ...jwk, alg: "ES256" }, "ES256");
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: options.kid ?? jwk.kid })
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 600))
    .setJti(crypto.randomUUID());
  if (options.issuer !== "") jwt = jwt.setIssuer(options.issuer ?? "meridian");
  if (options.audience !== "") jwt = jwt.setAudience(options.audience ?? "meridian:room");
  if (options.subject) jwt = jwt.setSubject(options.subject);
  return jwt.sign(key);
}

/** A join token's claims, for `signWith`. */
export function joinClaims(room: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { room, name: "Test", role: "guest", sub: "user-1", ...over };
}

/** Replaces a token's payload but keeps its signature: a forgery. */
export function tamper(token: string, patch: Record<string, unknown>): string {
  const [header, payload, signature] = token.split(".");
  const decoded = JSON.parse(new TextDecoder().decode(base64url.decode(payload!))) as Record<string, unknown>;
  const forged = base64url.encode(JSON.stringify({ ...decoded, ...patch }));
  return `${header}.${forged}.${signature}`;
}
