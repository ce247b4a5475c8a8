import * as v from "valibot";
import { sha256Hex } from "../lib/encoding.ts";
import { secretsEqual } from "../lib/secrets.ts";

/**
 * Integrator API keys. The `API_KEYS` secret holds only hashes:
 * `[{ "id": "acme", "sha256": "<hex of sha256(key)>" }]`. A key looks like
 * `mk_<id>_<random>`; its id picks the entry, its hash must match.
 */
const ApiKeyEntry = v.object({
  id: v.pipe(v.string(), v.regex(/^[a-zA-Z0-9-]{1,32}$/)),
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  name: v.optional(v.string()),
});
const ApiKeyList = v.array(ApiKeyEntry);

export interface ApiKeyIdentity {
  readonly id: string;
  readonly name: string;
}

/** The key's owner, or undefined when the key is unknown or wrong. */
export async function verifyApiKey(config: string | undefined, presented: string | undefined): Promise<ApiKeyIdentity | undefined> {
  const id = presented?.match(/^mk_([a-zA-Z0-9-]{1,32})_[A-Za-z0-9_-]{16,128}$/)?.[1];
  if (!config || !presented || !id) return undefined;
  let entries: v.InferOutput<typeof ApiKeyList>;
  try {
    entries = v.parse(ApiKeyList, JSON.parse(config));
  } catch {
    return undefined;
  }
  const entry = entries.find((e) => e.id === id);
  if (!entry) return undefined;
  return (await secretsEqual(await sha256Hex(presented), entry.sha256)) ? { id: entry.id, name: entry.name ?? entry.id } : undefined;
}
