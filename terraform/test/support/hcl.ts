import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * HCL -> JSON with @cdktf/hcl2json (HashiCorp's HCL parser compiled to WebAssembly; no
 * provider and no network needed). Resolved from the root node_modules, or from
 * .tools/hcl2json where scripts/check-infra.sh installs it until it is a root devDependency.
 */

type Parse = (filename: string, contents: string) => Promise<Record<string, unknown>>;

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export async function loadHclParser(): Promise<Parse | undefined> {
  for (const base of [import.meta.url, join(ROOT, ".tools/hcl2json/")]) {
    try {
      const require = createRequire(base);
      return (require(require.resolve("@cdktf/hcl2json")) as { parse: Parse }).parse;
    } catch {
      // try the next place
    }
  }
  return undefined;
}

/** A module's blocks merged across its *.tf files: { resource: { type: { name: [body] } }, variable: {...}, ... }. */
export type HclModule = Record<string, Record<string, unknown>>;

export async function parseModule(parse: Parse, dir: string): Promise<HclModule> {
  const merged: HclModule = {};
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".tf")).sort()) {
    const json = await parse(file, await readFile(join(dir, file), "utf8"));
    for (const [kind, blocks] of Object.entries(json)) {
      const target = (merged[kind] ??= {});
      if (Array.isArray(blocks)) {
        // locals and terraform blocks come as lists of bodies
        const list = ((target as { list?: unknown[] }).list ??= []);
        list.push(...blocks);
      } else {
        for (const [name, value] of Object.entries(blocks as Record<string, unknown>)) {
          if (kind === "resource" || kind === "data") {
            const byType = ((target[name] as Record<string, unknown>) ??= {});
            Object.assign(byType, value);
          } else {
            const previous = target[name];
            target[name] = Array.isArray(previous) && Array.isArray(value) ? [...previous, ...value] : value;
          }
        }
      }
    }
  }
  return merged;
}

export function hclAvailable(parse: Parse | undefined): parse is Parse {
  if (parse) return true;
  const reason = "@cdktf/hcl2json is not installed (scripts/check-infra.sh installs it into .tools/hcl2json)";
  if (process.env.CI === "true") throw new Error(reason);
  console.warn(`skipping HCL invariant tests: ${reason}`);
  return false;
}
