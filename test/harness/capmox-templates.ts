/**
 * CAPMOX cluster templates as `clusterctl generate cluster` fills them in: `${VAR}` and
 * `${ VAR }` take the variable's value, `${VAR:=default}` the value unless unset or empty,
 * `${VAR=default}` the value unless unset, `$$` is a literal `$`. Values come from
 * test/fixtures/capmox/values.env (lab values), then the overrides; a variable without a value
 * and without a default is an error, as in clusterctl.
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const CAPMOX_VALUES_FILE = join(import.meta.dir, "../fixtures/capmox/values.env");

/** KEY=VALUE lines (values verbatim, `#` comments and blank lines skipped). */
export function readValues(path = CAPMOX_VALUES_FILE): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (/^\s*(#|$)/.test(line)) continue;
    const eq = line.indexOf("=");
    if (eq < 1) throw new Error(`${path}: not KEY=VALUE: ${line}`);
    values.set(line.slice(0, eq).trim(), line.slice(eq + 1));
  }
  return values;
}

/** Substitutes `text`; returns the result and the variables that had neither value nor default. */
export function substitute(text: string, values: Map<string, string>): { text: string; missing: string[] } {
  const missing: string[] = [];
  const out = text.replace(/\$\$|\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:(:?=)([^}]*))?\}/g, (m, name?: string, op?: string, def?: string) => {
    if (m === "$$") return "$";
    const value = values.get(name!);
    if (value !== undefined && (value !== "" || op !== ":=")) return value;
    if (op !== undefined) return def ?? "";
    missing.push(name!);
    return m;
  });
  return { text: out, missing: [...new Set(missing)] };
}

/** The template file with the lab values and `overrides` filled in; throws naming missing variables. */
export function substituteTemplate(file: string, overrides: Record<string, string> = {}): string {
  const values = readValues();
  for (const [k, v] of Object.entries(overrides)) values.set(k, v);
  const { text, missing } = substitute(readFileSync(file, "utf8"), values);
  if (missing.length) throw new Error(`${file}: no value for ${missing.join(", ")}`);
  return text;
}
