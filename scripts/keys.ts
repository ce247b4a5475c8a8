import { newApiKey, newSecret, newSigningKeys } from "./lib/secrets.ts";

/**
 * `npm run keys -- <what>`: fresh secrets for an edge, printed for `wrangler secret put`.
 *   signing-key [kid]  a JWK Set with one private ES256 key (SIGNING_KEYS; to rotate,
 *                      put the new key first in the existing set's "keys" array)
 *   api-key <id>       an integrator API key (give it to them) and its API_KEYS entry (store that)
 *   secret             a random secret (NODE_SECRET, WEBHOOK_SECRET)
 */
const [what, arg] = process.argv.slice(2);
switch (what) {
  case "signing-key":
    console.log(newSigningKeys(arg));
    break;
  case "api-key": {
    if (!arg || !/^[a-zA-Z0-9-]{1,32}$/.test(arg)) throw new Error("usage: api-key <id of 1-32 [a-zA-Z0-9-]>");
    const { key, entry } = newApiKey(arg);
    console.log(JSON.stringify({ key, apiKeysEntry: entry }, null, 2));
    break;
  }
  case "secret":
    console.log(newSecret(32));
    break;
  default:
    console.error("usage: npm run keys -- signing-key [kid] | api-key <id> | secret");
    process.exit(2);
}
