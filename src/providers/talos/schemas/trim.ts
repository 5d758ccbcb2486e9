/**
 * Regenerates the bundled Talos config schemas from the reference copies: the same JSON Schema
 * with the documentation-only keywords removed (description, markdownDescription,
 * x-intellij-html-description, title, examples), which leaves validation unchanged.
 *
 *   bun src/providers/talos/schemas/trim.ts /work/shared/reference/talos/schemas
 * @module
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const DOC_KEYS = new Set(["description", "markdownDescription", "x-intellij-html-description", "title", "examples"]);

function trim(v: unknown, inProperties = false): unknown {
  if (Array.isArray(v)) return v.map((x) => trim(x));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // under "properties"/"$defs" the keys are names, not keywords
      if (!inProperties && DOC_KEYS.has(k)) continue;
      out[k] = trim(x, k === "properties" || k === "$defs" || k === "patternProperties");
    }
    return out;
  }
  return v;
}

if (import.meta.main) {
  const from = process.argv[2];
  if (!from) throw new Error("usage: trim.ts <dir with config.schema.v*.json>");
  for (const f of readdirSync(from).filter((n) => /^config\.schema\.v[\d.]+(-[\w.]+)?\.json$/.test(n))) {
    const schema = JSON.parse(readFileSync(join(from, f), "utf8")) as unknown;
    writeFileSync(join(import.meta.dir, f), JSON.stringify(trim(schema)) + "\n");
  }
}
