import { SignJWT, createLocalJWKSet, errors as joseErrors, jwtVerify } from "jose";
import * as v from "valibot";
import { Id, ProtocolError, Role, type Role as RoleType } from "@meridian/protocol";
import { TOKEN_ALG, keyRing } from "./keys.ts";

/** Join tokens: who may enter which room, as whom, with what role. */

const ISSUER = "meridian";
const AUDIENCE = "meridian:room";

export const JoinClaims = v.object({
  /** The room the token admits to. */
  room: Id,
  /** Stable user id (the integrator's, or a random guest id). */
  sub: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  name: v.pipe(v.string(), v.maxLength(64)),
  role: Role,
  exp: v.number(),
  iat: v.number(),
  jti: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
});
export type JoinClaims = v.InferOutput<typeof JoinClaims>;

export interface MintRequest {
  readonly room: string;
  readonly subject: string;
  readonly name: string;
  readonly role: RoleType;
  readonly ttlSeconds: number;
}

export async function mintJoinToken(signingKeys: string | undefined, request: MintRequest): Promise<{ token: string; claims: JoinClaims }> {
  const ring = await keyRing(signingKeys);
  const now = Math.floor(Date.now() / 1000);
  const claims: JoinClaims = {
    room: request.room,
    sub: request.subject,
    name: request.name,
    role: request.role,
    iat: now,
    exp: now + request.ttlSeconds,
    jti: crypto.randomUUID(),
  };
  const token = await new SignJWT({ room: claims.room, name: claims.name, role: claims.role })
    .setProtectedHeader({ alg: TOKEN_ALG, kid: ring.active.kid, typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(claims.sub)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .setJti(claims.jti)
    .sign(ring.active.privateKey);
  return { token, claims };
}

/**
 * Verifies signature (by kid, against every configured key), issuer, audience, expiry
 * and claim shapes; with `room`, also that the token is for that room. Any failure is
 * one `unauthorized` error with a reason safe to show.
 */
export async function verifyJoinToken(
  signingKeys: string | undefined,
  token: string,
  expect: { room?: string } = {},
): Promise<JoinClaims> {
  const ring = await keyRing(signingKeys);
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet(ring.publicJwks), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: [TOKEN_ALG],
    }));
  } catch (error) {
    throw new ProtocolError("unauthorized", describeJoseError(error));
  }
  const claims = v.safeParse(JoinClaims, payload);
  if (!claims.success) throw new ProtocolError("unauthorized", "token claims are malformed");
  if (expect.room !== undefined && claims.output.room !== expect.room) {
    throw new ProtocolError("unauthorized", "token is for another room");
  }
  return claims.output;
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "token has expired";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "token signature is invalid";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "token was signed with an unknown key";
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `token claim "${error.claim}" is invalid`;
  return "token is invalid";
}

/** `Authorization: Bearer <token>` → token. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = header?.match(/^Bearer ([^\s]+)$/);
  return match?.[1];
}
