import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** docs/sitemap.md and docs/wireframes/ stay in step: every page has both widths, nothing dangles. */
const docs = fileURLToPath(new URL("../../docs/", import.meta.url));

describe("sitemap", () => {
  const sitemap = readFileSync(`${docs}sitemap.md`, "utf8");
  const referenced = [...sitemap.matchAll(/src="wireframes\/([^"]+\.png)"/g)].map((m) => m[1]!);

  it("shows every page at desktop and phone width", () => {
    const pages = new Set(referenced.map((file) => file.replace(/-(desktop|phone)\.png$/, "")));
    expect(pages.size).toBeGreaterThanOrEqual(15);
    for (const page of pages) {
      expect(referenced).toContain(`${page}-desktop.png`);
      expect(referenced).toContain(`${page}-phone.png`);
    }
  });

  it("refers only to committed wireframes, and every committed one is in it", () => {
    for (const file of referenced) expect(existsSync(`${docs}wireframes/${file}`), file).toBe(true);
    const committed = readdirSync(`${docs}wireframes`).filter((f) => f.endsWith(".png"));
    expect(committed.sort()).toEqual([...new Set(referenced)].sort());
  });
});
