import { createLocalJWKSet, jwtVerify, type JWK } from "jose";
import { secretsEqual } from "../lib/secrets.ts";

/**
 * How a node proves itself: either one of the shared secrets in `NODE_SECRET` (several,
 * separated by whitespace or commas, so a rotation adds the new one, rolls the nodes,
 * then drops the old one), or a node token — a JWT with `sub` = node id, signed by an
 * operator key whose public JWK is listed in `NODE_TOKEN_KEYS` (a JWK Set; also
 * rotatable by kid). Returns whether the credential admits `nodeId`.
 */
export async function nodeCredentialAdmits(
  env: { NODE_SECRET?: string; NODE_TOKEN_KEYS?: string },
  credential: string,
  nodeId: string,
): Promise<boolean> {
  if (credential.split(".").length === 3 && env.NODE_TOKEN_KEYS) return nodeTokenAdmits(env.NODE_TOKEN_KEYS, credential, nodeId);
  const secrets = (env.NODE_SECRET ?? "").split(/[\s,]+/).filter((s) => s.length >= 16);
  let match = false;
  // Compare against every secret so timing does not tell which (or whether one) matched.
  for (const secret of secrets) match = (await secretsEqual(credential, secret)) || match;
  return match;
}

async function nodeTokenAdmits(keys: string, token: string, nodeId: string): Promise<boolean> {
  try {
    const jwks = JSON.parse(keys) as { keys: JWK[] };
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { audience: "meridian:node", subject: nodeId });
    return payload.sub === nodeId;
  } catch {
    return false;
  }
}
