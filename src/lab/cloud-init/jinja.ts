/**
 * cloud-init's `## template: jinja` user-data, rendered as cloud-init renders it
 * (cloudinit/handlers/jinja_template.py, cloudinit/templater.py):
 *
 * - variables come from instance-data: `ds` (the datasource's `meta_data`), `v1` (standard keys),
 *   every `v1` key also at top level (`{{ local_hostname }}`), and keys holding `-` or `.` also under
 *   an underscore alias (`ds.meta_data.instance_id` for meta-data's `instance-id`);
 * - an undefined variable renders as `CI_MISSING_JINJA_VAR/<name>` (cloud-init's DebugUndefined),
 *   with a warning; an attribute of an undefined variable is an UndefinedError: the whole part is
 *   ignored with a warning (render returns `undefined`);
 * - the header line is removed and a single trailing newline dropped (jinja2's default
 *   keep_trailing_newline=False); Python's `str()` of values: `None`, `True`, `False`.
 *
 * The lab renders `{{ expression }}` with dotted / subscript access, string and number literals
 * and the filters `default`/`d`, `lower`, `upper`, `string`, `trim`, `replace`; `{# comments #}`.
 * Statements (`{% … %}`) are outside the lab's subset: such a part is ignored as a template
 * cloud-init fails to render would be, and says so.
 * @module
 */
import { cloneData } from "../../lib/clone.ts";

export const MISSING_JINJA_PREFIX = "CI_MISSING_JINJA_VAR/";

export type Vars = Record<string, unknown>;

export interface RenderResult {
  /** The rendered payload (header removed), or undefined when the part is ignored. */
  text?: string;
  warnings: string[];
}

/** Marks a value jinja does not know; `name` is what DebugUndefined prints. */
class Undefined {
  constructor(readonly name: string) {}
}

class UndefinedError extends Error {}

/** Underscore aliases for keys with jinja operators, v1 keys copied to the top (convert_jinja_instance_data). */
export function jinjaVars(instanceData: Vars): Vars {
  const convert = (data: Vars): Vars => {
    const out: Vars = {};
    for (const key of Object.keys(data).sort()) {
      let value = data[key];
      if (value && typeof value === "object" && !Array.isArray(value)) {
        value = convert(value as Vars);
        if (/^v\d+$/.test(key)) for (const [k, v] of Object.entries(value as Vars)) out[k] = cloneData(v);
      }
      out[key] = value;
      const alias = key.replace(/[-.]/g, "_");
      if (alias !== key) out[alias] = cloneData(value);
    }
    return out;
  };
  return convert(instanceData);
}

export function isJinja(payload: string): boolean {
  return /^##\s*template:\s*jinja\s*(\n|$)/i.test(payload);
}

function pyStr(v: unknown): string {
  if (v instanceof Undefined) return `${MISSING_JINJA_PREFIX}${v.name}`;
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "object") return JSON.stringify(v).replace(/"/g, "'").replace(/\bnull\b/g, "None").replace(/\btrue\b/g, "True").replace(/\bfalse\b/g, "False");
  return String(v);
}

// ---- expressions ------------------------------------------------------------------------------

type Token = { t: "name" | "str" | "num" | "op"; v: string };

function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:([A-Za-z_][A-Za-z0-9_]*)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\d+(?:\.\d+)?)|([.[\](),|]))/y;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < expr.length) {
    if (/^\s*$/.test(expr.slice(pos))) break;
    re.lastIndex = pos;
    m = re.exec(expr);
    if (!m) throw new SyntaxError(`unexpected char ${JSON.stringify(expr.slice(pos).trim()[0])}`);
    pos = re.lastIndex;
    if (m[1] !== undefined) out.push({ t: "name", v: m[1] });
    else if (m[2] !== undefined || m[3] !== undefined) out.push({ t: "str", v: (m[2] ?? m[3]!).replace(/\\(.)/g, "$1") });
    else if (m[4] !== undefined) out.push({ t: "num", v: m[4] });
    else out.push({ t: "op", v: m[5]! });
  }
  return out;
}

function getAttr(obj: unknown, key: string): unknown {
  if (obj instanceof Undefined) throw new UndefinedError(`'${obj.name}' is undefined`);
  if (obj && typeof obj === "object" && Object.prototype.hasOwnProperty.call(obj, key)) return (obj as Vars)[key];
  if (Array.isArray(obj) && /^\d+$/.test(key) && Number(key) < obj.length) return obj[Number(key)];
  return new Undefined(key);
}

const FILTERS: Record<string, (v: unknown, ...args: unknown[]) => unknown> = {
  default: (v, d = "", boolean = false) => (v instanceof Undefined || (boolean && !v) ? d : v),
  lower: (v) => pyStr(v).toLowerCase(),
  upper: (v) => pyStr(v).toUpperCase(),
  string: (v) => pyStr(v),
  trim: (v) => pyStr(v).trim(),
  replace: (v, a, b) => pyStr(v).split(pyStr(a)).join(pyStr(b)),
};
FILTERS.d = FILTERS.default!;

function evaluate(expr: string, vars: Vars): unknown {
  const toks = tokenize(expr);
  let i = 0;
  const peek = () => toks[i];
  const take = (v?: string) => {
    const tok = toks[i++];
    if (!tok || (v !== undefined && tok.v !== v)) throw new SyntaxError(`expected ${v ?? "a value"} in ${JSON.stringify(expr)}`);
    return tok;
  };
  const literal = (): unknown => {
    const tok = take();
    if (tok.t === "str") return tok.v;
    if (tok.t === "num") return Number(tok.v);
    if (tok.t === "name") {
      if (tok.v === "none" || tok.v === "None") return null;
      if (tok.v === "true" || tok.v === "True") return true;
      if (tok.v === "false" || tok.v === "False") return false;
      return Object.prototype.hasOwnProperty.call(vars, tok.v) ? vars[tok.v] : new Undefined(tok.v);
    }
    throw new SyntaxError(`unexpected ${JSON.stringify(tok.v)} in ${JSON.stringify(expr)}`);
  };
  const postfix = (): unknown => {
    let v = literal();
    for (;;) {
      const tok = peek();
      if (tok?.v === ".") {
        i++;
        v = getAttr(v, take().v);
      } else if (tok?.v === "[") {
        i++;
        const key = filtered();
        take("]");
        v = getAttr(v, pyStr(key));
      } else return v;
    }
  };
  const filtered = (): unknown => {
    let v = postfix();
    while (peek()?.v === "|") {
      i++;
      const name = take().v;
      const f = FILTERS[name];
      if (!f) throw new SyntaxError(`no filter named '${name}'`);
      const args: unknown[] = [];
      if (peek()?.v === "(") {
        i++;
        while (peek()?.v !== ")") {
          args.push(filtered());
          if (peek()?.v === ",") i++;
        }
        take(")");
      }
      v = f(v, ...args);
    }
    return v;
  };
  const v = filtered();
  if (i < toks.length) throw new SyntaxError(`unexpected ${JSON.stringify(toks[i]!.v)} in ${JSON.stringify(expr)}`);
  return v;
}

/** Renders a `## template: jinja` payload with instance data (see the module doc). */
export function renderJinja(payload: string, instanceData: Vars, partName = "part-001"): RenderResult {
  const vars = jinjaVars(instanceData);
  const body = payload.replace(/^[^\n]*(\n|$)/, "");
  const warnings: string[] = [];
  let out = "";
  try {
    const re = /\{\{([\s\S]*?)\}\}|\{#[\s\S]*?#\}|\{%([\s\S]*?)%\}/g;
    let last = 0;
    for (let m = re.exec(body); m; m = re.exec(body)) {
      out += body.slice(last, m.index);
      last = re.lastIndex;
      if (m[2] !== undefined) throw new SyntaxError(`the lab renders no jinja statements ({%${m[2]}%})`);
      if (m[1] !== undefined) out += pyStr(evaluate(m[1], vars));
    }
    out += body.slice(last);
  } catch (e) {
    if (e instanceof UndefinedError) warnings.push(`Ignoring jinja template for ${partName}: ${e.message}`);
    else warnings.push(`Ignoring jinja template for ${partName}. Failed to render template. ${(e as Error).message}`);
    return { warnings };
  }
  out = out.replace(/\n$/, "");
  const missing = [...out.matchAll(new RegExp(`${MISSING_JINJA_PREFIX}[^\\s]+`, "g"))].map((m) => `'${m[0].slice(MISSING_JINJA_PREFIX.length)}'`);
  if (missing.length) warnings.push(`Could not render jinja template variables in file '${partName}': ${missing.join(", ")}`);
  return { text: out, warnings };
}
