import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { mintTurnCredential, turnPassword } from "../src/credentials.ts";

describe("TURN REST API credentials", () => {
  it("computes base64(HMAC-SHA1(secret, username)) like coturn", async () => {
    const username = "1700000000:alice";
    const expected = createHmac("sha1", "north").update(username).digest("base64");
    expect(await turnPassword("north", username)).toBe(expected);
  });

  it("puts the expiry first in the username and derives the password from it", async () => {
    const minted = await mintTurnCredential({ secret: "s3cret-s3cret", userId: "p-42", ttlSeconds: 600, now: 1_700_000_000_500 });
    expect(minted.username).toBe("1700000600:p-42");
    expect(minted.expiresAt).toBe(1_700_000_600);
    expect(minted.credential).toBe(createHmac("sha1", "s3cret-s3cret").update("1700000600:p-42").digest("base64"));
  });

  it("gives different passwords for different secrets (what rotation relies on)", async () => {
    const a = await turnPassword("secret-a", "1:u");
    const b = await turnPassword("secret-b", "1:u");
    expect(a).not.toBe(b);
  });

  it("refuses user ids that would move coturn's ':' split, and bad ttls", async () => {
    await expect(mintTurnCredential({ secret: "x", userId: "a:b", ttlSeconds: 60 })).rejects.toThrow(/user id/);
    await expect(mintTurnCredential({ secret: "x", userId: "", ttlSeconds: 60 })).rejects.toThrow(/user id/);
    await expect(mintTurnCredential({ secret: "x", userId: "a", ttlSeconds: 0 })).rejects.toThrow(/ttl/);
    await expect(mintTurnCredential({ secret: "", userId: "a", ttlSeconds: 60 })).rejects.toThrow(/secret/);
  });

  it("uses no Node-only API, so the Worker can import it", async () => {
    const { readFile } = await import("node:fs/promises");
    const source = await readFile(new URL("../src/credentials.ts", import.meta.url), "utf8");
    expect(source).not.toMatch(/from\s+["']node:|require\(|Buffer\b|process\./);
  });
});
