/**
 * Compilation of CEL expressions for CRD rules: parsing (with a source rewrite for the `x.?f` and
 * `x[?k]` optional accessors the parser lacks), planning against the Kubernetes environment
 * (strings extension + cel-library.ts + Go RE2 `matches`), and a static check standing in for
 * cel-go's type checker. The check rejects what upstream rejects most often: unknown variables
 * and functions, fields a schema does not declare (also inside `has()` and `.?`), expressions that
 * cannot evaluate to the wanted type, and invalid regex/duration/timestamp literals (cel-go's
 * literal validators). It is not a full type checker: operator overloads are only checked when
 * the rule runs. Parsed programs are cached by expression text.
 * @module
 */

import { celEnv, parse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { FUNCTION_RESULTS, KNOWN_FUNCTIONS, k8sLibrary } from "./cel-library.ts";
import { celEscape } from "./cel-values.ts";
import { parseGoDuration } from "./formats.ts";
import { compileGoRegex } from "./go-regex.ts";
import { hasOwn, isObject } from "./own.ts";
import { additionalSchema, itemsOf, propertyEntries, stringOf } from "./schema-types.ts";
import type { JSONSchemaProps } from "./types.ts";

const env = celEnv({
  funcs: [...strings, ...k8sLibrary],
  re2: { compile: (pattern: string) => compileGoRegex(pattern) },
});

export type Program = ReturnType<typeof plan>;
export type ParsedExpr = ReturnType<typeof parse>;
export type Expr = ParsedExpr["expr"];

// --- static checking --------------------------------------------------------------------------

export type CT =
  | { k: "schema"; s: JSONSchemaProps; embedded: boolean }
  | { k: "meta" }
  | { k: "list"; elem: CT }
  | { k: "map"; val: CT }
  | { k: "dyn" | "bool" | "int" | "uint" | "double" | "string" | "bytes" | "null" | "timestamp" | "duration" | "type" | "optional" };

const DYN: CT = { k: "dyn" };
export const prim = (k: "bool" | "int" | "uint" | "double" | "string" | "bytes" | "null" | "timestamp" | "duration" | "type" | "optional"): CT => ({ k });

/** Whether a property is visible to CEL (kube-apiserver drops properties without a CEL type). */
function declared(s: JSONSchemaProps): boolean {
  if (s["x-kubernetes-int-or-string"] === true) return true;
  if (s.type === "array") {
    const items = itemsOf(s);
    return items !== undefined && declared(items);
  }
  return stringOf(s.type) !== undefined;
}

export function schemaType(s: JSONSchemaProps | undefined, embedded: boolean): CT {
  if (!isObject(s) || s["x-kubernetes-int-or-string"] === true) return DYN;
  switch (s.type) {
    case "object": {
      const ap = additionalSchema(s);
      if (ap) return { k: "map", val: schemaType(ap, ap["x-kubernetes-embedded-resource"] === true) };
      return { k: "schema", s, embedded };
    }
    case "array": {
      const items = itemsOf(s);
      return items ? { k: "list", elem: schemaType(items, items["x-kubernetes-embedded-resource"] === true) } : DYN;
    }
    case "string":
      if (s.format === "byte") return prim("bytes");
      if (s.format === "date" || s.format === "date-time") return prim("timestamp");
      if (s.format === "duration") return prim("duration");
      return prim("string");
    case "boolean":
      return prim("bool");
    case "integer":
      return prim("int");
    case "number":
      return prim("double");
  }
  return DYN;
}

function typeName(t: CT): string {
  switch (t.k) {
    case "schema":
    case "meta":
      return "object";
    case "list":
      return "list";
    case "map":
      return "map";
  }
  return t.k;
}

interface Issue {
  id: bigint;
  message: string;
}

const TYPE_IDENTS = new Set(["int", "uint", "double", "string", "bytes", "bool", "list", "map", "null_type", "type", "dyn"]);

class Checker {
  readonly issues: Issue[] = [];
  constructor(private readonly scope: Map<string, CT>) {}

  private issue(e: Expr, message: string): void {
    this.issues.push({ id: e.id, message });
  }

  select(e: Expr, t: CT, field: string): CT {
    switch (t.k) {
      case "schema": {
        if (t.embedded && (field === "apiVersion" || field === "kind")) return prim("string");
        if (t.embedded && field === "metadata") return { k: "meta" };
        for (const [name, prop] of propertyEntries(t.s)) {
          if (celEscape(name) === field && declared(prop)) {
            return schemaType(prop, prop["x-kubernetes-embedded-resource"] === true);
          }
        }
        this.issue(e, `undefined field '${field}'`);
        return DYN;
      }
      case "meta":
        if (field === "name" || field === "generateName") return prim("string");
        this.issue(e, `undefined field '${field}'`);
        return DYN;
      case "map":
        return t.val;
      case "dyn":
        return DYN;
      default:
        this.issue(e, `type '${typeName(t)}' does not support field selection`);
        return DYN;
    }
  }

  check(e: Expr, scope: Map<string, CT> = this.scope): CT {
    const kind = e.exprKind;
    switch (kind.case) {
      case "constExpr":
        switch (kind.value.constantKind.case) {
          case "boolValue":
            return prim("bool");
          case "int64Value":
            return prim("int");
          case "uint64Value":
            return prim("uint");
          case "doubleValue":
            return prim("double");
          case "stringValue":
            return prim("string");
          case "bytesValue":
            return prim("bytes");
          case "nullValue":
            return prim("null");
        }
        return DYN;
      case "identExpr": {
        const t = scope.get(kind.value.name);
        if (t) return t;
        if (TYPE_IDENTS.has(kind.value.name)) return prim("type");
        this.issue(e, `undeclared reference to '${kind.value.name}' (in container '')`);
        return DYN;
      }
      case "selectExpr": {
        const t = this.select(e, this.check(kind.value.operand!, scope), kind.value.field);
        return kind.value.testOnly ? prim("bool") : t;
      }
      case "callExpr":
        return this.call(e, kind.value, scope);
      case "listExpr": {
        const elems = kind.value.elements.map((x) => this.check(x, scope));
        return { k: "list", elem: elems[0] ?? DYN };
      }
      case "structExpr":
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === "mapKey") this.check(entry.keyKind.value, scope);
          if (entry.value) this.check(entry.value, scope);
        }
        return kind.value.messageName ? DYN : { k: "map", val: DYN };
      case "comprehensionExpr": {
        const c = kind.value;
        const range = this.check(c.iterRange!, scope);
        const inner = new Map(scope);
        let iterT: CT = DYN;
        if (range.k === "list") iterT = c.iterVar2 ? prim("int") : range.elem;
        else if (range.k === "map") iterT = prim("string");
        inner.set(c.iterVar, iterT);
        if (c.iterVar2) inner.set(c.iterVar2, range.k === "list" ? range.elem : range.k === "map" ? range.val : DYN);
        inner.set(c.accuVar, this.check(c.accuInit!, scope));
        if (c.loopCondition) this.check(c.loopCondition, inner);
        if (c.loopStep) this.check(c.loopStep, inner);
        return c.result ? this.check(c.result, inner) : DYN;
      }
    }
    return DYN;
  }

  /** cel-go's literal validators (regex, duration and timestamp literals), on by default since 1.29. */
  private literalArgument(fn: string, arg: Expr | undefined): void {
    const text = stringLiteral(arg);
    if (text === undefined || !arg) return;
    let ok = true;
    if (fn === "matches") {
      try {
        compileGoRegex(text);
      } catch {
        ok = false;
      }
    } else if (fn === "duration") ok = parseGoDuration(text) !== null;
    else if (fn === "timestamp") ok = RFC3339.test(text) && !Number.isNaN(Date.parse(text.toUpperCase()));
    else return;
    if (!ok) this.issue(arg, `invalid ${fn} argument`);
  }

  private call(e: Expr, c: { function: string; target?: Expr; args: Expr[] }, scope: Map<string, CT>): CT {
    const fn = c.function;
    const target = c.target;
    if (target?.exprKind.case === "identExpr" && !scope.has(target.exprKind.value.name)) {
      const qualified = `${target.exprKind.value.name}.${fn}`;
      if (KNOWN_FUNCTIONS.has(qualified)) {
        for (const a of c.args) this.check(a, scope);
        return qualified.startsWith("optional.") ? prim("optional") : resultType(qualified, DYN);
      }
    }
    const tt = target ? this.check(target, scope) : undefined;
    const args = c.args.map((a) => this.check(a, scope));
    this.literalArgument(fn, c.args[0]);
    switch (fn) {
      case "_&&_":
      case "_||_":
      case "!_":
      case "_==_":
      case "_!=_":
      case "_<_":
      case "_<=_":
      case "_>_":
      case "_>=_":
      case "@in":
      case "@not_strictly_false":
        return prim("bool");
      case "_?_:_":
        return args[1]?.k === args[2]?.k ? args[1] : DYN;
      case "_[_]": {
        const t = args[0];
        if (t?.k === "list") return t.elem;
        if (t?.k === "map") return t.val;
        return DYN;
      }
      case "_+_":
        if (args[0]?.k === "list" && args[1]?.k === "list") return { k: "list", elem: DYN };
        return args[0]?.k === args[1]?.k ? numericOrString(args[0]) : DYN;
      case "_-_":
      case "_*_":
      case "_/_":
      case "_%_":
        return args[0]?.k === args[1]?.k ? numericOrString(args[0]) : DYN;
      case "-_":
        return numericOrString(args[0]);
    }
    if (fn === "__optional_select__" && tt) {
      const name = stringLiteral(c.args[0]);
      if (name !== undefined) this.select(e, tt.k === "optional" ? DYN : tt, name);
      return prim("optional");
    }
    if (fn === "__optional_index__") return prim("optional");
    if (!KNOWN_FUNCTIONS.has(fn)) {
      this.issue(e, `undeclared reference to '${fn}' (in container '')`);
      return DYN;
    }
    if ((fn === "min" || fn === "max" || fn === "sum") && tt?.k === "list") return tt.elem;
    return resultType(fn, DYN);
  }
}

function stringLiteral(e: Expr | undefined): string | undefined {
  const k = e?.exprKind;
  return k?.case === "constExpr" && k.value.constantKind.case === "stringValue" ? k.value.constantKind.value : undefined;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function numericOrString(t: CT | undefined): CT {
  if (!t) return DYN;
  return t.k === "int" || t.k === "uint" || t.k === "double" || t.k === "string" || t.k === "duration" || t.k === "timestamp" ? t : DYN;
}

function resultType(fn: string, fallback: CT): CT {
  switch (fn) {
    case "type":
      return prim("type");
    case "timestamp":
      return prim("timestamp");
    case "duration":
      return prim("duration");
    case "bytes":
      return prim("bytes");
    case "split":
    case "findAll":
      return { k: "list", elem: prim("string") };
  }
  const r = hasOwn(FUNCTION_RESULTS, fn) ? FUNCTION_RESULTS[fn] : undefined;
  if (!r || r === "dyn") return fallback;
  if (r === "list") return { k: "list", elem: DYN };
  return prim(r);
}

export function usesIdent(e: Expr | undefined, name: string): boolean {
  if (!e) return false;
  const k = e.exprKind;
  switch (k.case) {
    case "identExpr":
      return k.value.name === name;
    case "selectExpr":
      return usesIdent(k.value.operand, name);
    case "callExpr":
      return usesIdent(k.value.target, name) || k.value.args.some((a) => usesIdent(a, name));
    case "listExpr":
      return k.value.elements.some((a) => usesIdent(a, name));
    case "structExpr":
      return k.value.entries.some((en) => (en.keyKind.case === "mapKey" && usesIdent(en.keyKind.value, name)) || usesIdent(en.value, name));
    case "comprehensionExpr": {
      const c = k.value;
      return [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].some((x) => usesIdent(x, name));
    }
  }
  return false;
}

// --- compilation ----------------------------------------------------------------------------------

type Parsed = { ok: true; parsed: ParsedExpr; program: Program; text: string } | { ok: false; line: number; column: number; message: string; text: string };

/** End index (exclusive) of the string literal starting at `i`. */
function skipString(text: string, i: number): number {
  const q = text[i];
  const raw = i > 0 && /[rR]/.test(text[i - 1]) && (i < 2 || !/[A-Za-z0-9_]/.test(text[i - 2]) || /[bB]/.test(text[i - 2]));
  const triple = text.startsWith(q.repeat(3), i);
  const close = triple ? q.repeat(3) : q;
  let j = i + close.length;
  while (j < text.length) {
    if (!raw && text[j] === "\\") {
      j += 2;
      continue;
    }
    if (text.startsWith(close, j)) return j + close.length;
    if (!triple && text[j] === "\n") return j;
    j++;
  }
  return j;
}

/**
 * Rewrites the optional accessors the parser lacks, `x.?f` and `x[?k]`, into the library calls
 * `x.__optional_select__('f')` and `x.__optional_index__(k)`.
 */
export function rewriteOptionalSyntax(text: string): string {
  if (!text.includes("?")) return text;
  let out = "";
  const brackets: boolean[] = [];
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = skipString(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (c === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      out += end < 0 ? text.slice(i) : text.slice(i, end);
      i = end < 0 ? text.length : end;
    } else if (c === "." && text[i + 1] === "?" && /^[A-Za-z_]/.test(text.slice(i + 2))) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 2))![0];
      out += `.__optional_select__('${name}')`;
      i += 2 + name.length;
    } else if (c === "[") {
      const optional = text[i + 1] === "?" && /[A-Za-z0-9_)\]'"]\s*$/.test(out);
      brackets.push(optional);
      out += optional ? ".__optional_index__(" : "[";
      i += optional ? 2 : 1;
    } else if (c === "]") {
      out += brackets.pop() ? ")" : "]";
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const parseCache = new Map<string, Parsed>();

export function parseExpr(source: string): Parsed {
  let hit = parseCache.get(source);
  if (hit) return hit;
  const text = rewriteOptionalSyntax(source);
  try {
    const parsed = parse(text);
    hit = { ok: true, parsed, program: plan(env, parsed), text };
  } catch (e) {
    const msg = (e as Error).message;
    const m = /^<input>:(\d+):(\d+): (.*)$/s.exec(msg);
    hit = m
      ? { ok: false, line: Number(m[1]), column: Number(m[2]) - 1, message: m[3], text }
      : { ok: false, line: 1, column: 0, message: msg, text };
  }
  if (parseCache.size > 10000) parseCache.clear();
  parseCache.set(text, hit);
  return hit;
}

/** cel-go's rendering of an issue: `ERROR: <input>:L:C: msg` plus the source line and a caret. */
function renderIssue(text: string, line: number, column: number, message: string): string {
  const src = text.split("\n")[line - 1] ?? "";
  return `ERROR: <input>:${line}:${column + 1}: ${message}\n | ${src}\n | ${".".repeat(column)}^`;
}

function positionOf(text: string, parsed: ParsedExpr, id: bigint): { line: number; column: number } {
  const offset = parsed.sourceInfo?.positions[String(id)] ?? 0;
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - (before.lastIndexOf("\n") + 1) };
}

export interface CompiledExpr {
  program?: Program;
  /** `compilation failed: ...` or `cel expression must evaluate to a bool`. */
  error?: string;
}

export function compileExpr(source: string, scope: Map<string, CT>, want: "bool" | "string"): CompiledExpr {
  const p = parseExpr(source);
  const text = p.text;
  if (!p.ok) return { error: `compilation failed: ${renderIssue(text, p.line, p.column, `Syntax error: ${p.message}`)}` };
  const checker = new Checker(scope);
  const t = checker.check(p.parsed.expr);
  if (checker.issues.length) {
    const rendered = checker.issues.map((i) => {
      const pos = positionOf(text, p.parsed, i.id);
      return renderIssue(text, pos.line, pos.column, i.message);
    });
    return { error: `compilation failed: ${rendered.join("\n")}` };
  }
  const ok = t.k === "dyn" || (want === "bool" ? t.k === "bool" : t.k === "string");
  if (!ok) return { error: want === "bool" ? "cel expression must evaluate to a bool" : "messageExpression must evaluate to a string" };
  return { program: p.program };
}
