import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";

/** Secrets for a Meridian edge: used by `npm start`, the test stack and `npm run keys`. */

/** A JWK Set with one new private ES256 key, as the edge's SIGNING_KEYS secret expects. */
export function newSigningKeys(kid = `k${new Date().toISOString().slice(0, 10).replaceAll("-", "")}-${randomBytes(3).toString("hex")}`): string {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = privateKey.export({ format: "jwk" });
  return JSON.stringify({ keys: [{ ...jwk, kid, alg: "ES256", use: "sig" }] });
}

/** An integrator API key and the API_KEYS entry (only its hash) that admits it. */
export function newApiKey(id: string): { key: string; entry: { id: string; sha256: string } } {
  const key = `mk_${id}_${randomBytes(24).toString("base64url")}`;
  return { key, entry: { id, sha256: createHash("sha256").update(key).digest("hex") } };
}

export function newSecret(bytes = 24): string {
  return randomBytes(bytes).toString("base64url");
}

/** The secrets an edge needs, all fresh. */
export function newEdgeSecrets(): Record<"NODE_SECRET" | "SIGNING_KEYS" | "API_KEYS" | "WEBHOOK_SECRET" | "TURN_SECRET", string> {
  return { NODE_SECRET: newSecret(), SIGNING_KEYS: newSigningKeys(), API_KEYS: "[]", WEBHOOK_SECRET: newSecret(), TURN_SECRET: newSecret() };
}

/**
 * KEY='value' lines for an env file (.dev.vars or wrangler's --env-file). Single quotes
 * keep JSON values literal (dotenv does not unescape \" inside double quotes).
 */
export function envFile(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => {
      if (v.includes("'") || v.includes("\n")) throw new Error(`${k}: env file values cannot hold ' or newlines`);
      return `${k}='${v}'`;
    })
    .join("\n") + "\n";
}

/** Reads KEY='value' / KEY="value" / KEY=value lines back. */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = line.match(/^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*)\s*$/);
    if (!match) continue;
    const raw = match[2]!;
    values[match[1]!] = /^'.*'$|^".*"$/.test(raw) ? raw.slice(1, -1) : raw;
  }
  return values;
}
