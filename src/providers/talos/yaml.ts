/**
 * YAML for Talos machine configs, laid out as Talos' own encoder (Go yaml.v3, indent 4) writes
 * it, so generated configs are byte-identical to `talosctl gen config` output: documents joined by
 * `---`, 4-space indentation, block sequences indented under their key, the contents of a mapping
 * that is a sequence item indented 4 from the dash (its first key follows `- `), multi-line
 * strings (PEM) as literal blocks, empty collections as `{}` / `[]`, scalars quoted (double
 * quotes) only when plain style would change their meaning.
 * @module
 */
import { parseAllDocuments, stringify } from "yaml";

const sp = (n: number) => " ".repeat(n);
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
/** Literal style suits multi-line text that does not start with white space (that needs an indentation indicator). */
const isMultiline = (v: unknown): v is string => typeof v === "string" && v.includes("\n") && !/^\s/.test(v);

/**
 * A word of letters, digits and `_ - . / + =` that starts with a letter or digit: plain style
 * unless YAML 1.2's core schema would read it as something other than a string (null, a boolean,
 * a number). Everything else goes through the yaml library (a Document per scalar: slow, and a
 * secrets bundle or machine config has hundreds of scalars).
 */
const PLAIN_WORD = /^[A-Za-z0-9][A-Za-z0-9_./+=-]*$/;
const CORE_NON_STRING = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

export function libraryScalar(v: unknown): string {
  return stringify(v, { lineWidth: 0, minContentWidth: 0, singleQuote: false, defaultStringType: "PLAIN", defaultKeyType: "PLAIN" }).trimEnd();
}

export function scalar(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") {
    // Other multi-line text: one double-quoted line (a JSON string is a valid YAML double-quoted scalar).
    if (v.includes("\n")) return JSON.stringify(v);
    if (PLAIN_WORD.test(v) && !CORE_NON_STRING.test(v)) return v;
  } else if (typeof v === "boolean" || (typeof v === "number" && Number.isSafeInteger(v))) return String(v);
  const out = libraryScalar(v);
  // The library writes some one-line strings (one starting with `---`, say) as a block scalar
  // indented its own way, which would break our layout: single quotes, as Go's yaml.v3 does.
  if (typeof v === "string" && out.includes("\n")) return `'${v.replace(/'/g, "''")}'`;
  return out;
}

function literal(s: string, indent: number, out: string[], head: string): void {
  const body = s.replace(/\n+$/, "");
  const trailing = s.length - body.length;
  out.push(`${head}|${trailing === 0 ? "-" : trailing === 1 ? "" : "+"}`);
  for (const line of body.split("\n")) out.push(line === "" ? "" : sp(indent) + line);
  for (let i = 1; i < trailing; i++) out.push("");
}

/** A value after `head` (`key:` or `- `), its block contents at `childIndent`. */
function value(v: unknown, head: string, childIndent: number, out: string[], inSeq: boolean): void {
  const sep = inSeq ? "" : " ";
  if (isMultiline(v)) return literal(v, childIndent, out, head + sep);
  if (Array.isArray(v)) {
    if (!v.length) return void out.push(`${head}${sep}[]`);
    out.push(head.trimEnd());
    return sequence(v, childIndent, out);
  }
  if (isObj(v)) {
    if (!Object.keys(v).length) return void out.push(`${head}${sep}{}`);
    out.push(head.trimEnd());
    return mapping(v, childIndent, childIndent + 4, out);
  }
  out.push(`${head}${sep}${scalar(v)}`);
}

function mapping(obj: Record<string, unknown>, indent: number, childIndent: number, out: string[], firstPrefix?: string): void {
  let first = true;
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    const prefix = first && firstPrefix !== undefined ? firstPrefix : sp(indent);
    first = false;
    value(v, `${prefix}${scalar(k)}:`, childIndent, out, false);
  }
}

function sequence(arr: unknown[], dash: number, out: string[]): void {
  for (const item of arr) {
    if (isObj(item) && Object.keys(item).length) {
      mapping(item, dash + 2, dash + 4, out, `${sp(dash)}- `);
    } else if (Array.isArray(item) && item.length) {
      out.push(`${sp(dash)}-`);
      sequence(item, dash + 2, out);
    } else {
      value(item, `${sp(dash)}- `, dash + 2, out, true);
    }
  }
}

export function encodeDocument(doc: unknown): string {
  const out: string[] = [];
  if (isObj(doc)) {
    if (!Object.keys(doc).length) return "{}\n";
    mapping(doc, 0, 4, out);
  } else if (Array.isArray(doc)) {
    if (!doc.length) return "[]\n";
    sequence(doc, 0, out);
  } else if (isMultiline(doc)) {
    literal(doc, 4, out, "");
  } else {
    out.push(scalar(doc));
  }
  return out.join("\n") + "\n";
}

export function encodeDocuments(docs: unknown[]): string {
  return docs.map(encodeDocument).join("---\n");
}

export class YamlDocumentError extends Error {}

/** Parses a (possibly multi-document) YAML text into plain objects; empty documents are skipped. */
export function decodeDocuments(text: string, what = "YAML"): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length) throw new YamlDocumentError(`${what}: ${d.errors[0]!.message}`);
    const v = d.toJS({ maxAliasCount: 100 }) as unknown;
    if (v === null || v === undefined) continue;
    if (typeof v !== "object" || Array.isArray(v)) throw new YamlDocumentError(`${what}: each document must be a mapping`);
    out.push(v as Record<string, unknown>);
  }
  return out;
}
