/**
 * Machine name templates (`spec.machineNaming.template`), rendered as upstream's
 * `internal/topology/names` templateGenerator does: Go text/template with `missingkey=error`, data
 * `{ cluster: {name}, random: <5 chars>, machineSet: {name} }` (or other per-owner keys), and names
 * longer than 63 bytes cut to 58 plus 5 random characters.
 *
 * Supported subset of text/template: text, comments, trim markers (`{{- ` / ` -}}`), pipelines of
 * field chains (`.a.b`, `$`, `$.a`), string / number / bool literals and the builtins `print`,
 * `printf` (%s %v %d %q %%), `println`, `len` and `index`. Control actions (`if`, `range`, `with`,
 * `define`, `template`, `block`) and the other builtins are reported as unsupported.
 * @module
 */
import { goQuote } from "../../../lib/go-format.ts";

const TEMPLATE_NAME = "template name generator";
const RANDOM_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
const MAX_NAME_LENGTH = 63;
const RANDOM_LENGTH = 5;

/** utilrand.String(n): lowercase consonants and digits without vowels / confusable characters. */
export function randomString(n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) out += RANDOM_ALPHABET[Math.floor(Math.random() * RANDOM_ALPHABET.length)];
  return out;
}

export type NameTemplateResult = { name: string } | { error: string };

/**
 * Renders a name template with `data` (plus `cluster.name` and `random`). Errors are worded like
 * upstream's GenerateName (`parsing template "<t>": template: ...` / `rendering template: ...`).
 */
export function generateNameFromTemplate(template: string, clusterName: string, data: Record<string, unknown>): NameTemplateResult {
  const full: Record<string, unknown> = { ...data, cluster: { name: clusterName }, random: randomString(RANDOM_LENGTH) };
  let nodes: Node[];
  try {
    nodes = parse(template);
  } catch (e) {
    if (e instanceof TemplateError) return { error: `parsing template ${goQuote(template)}: ${e.message}` };
    throw e;
  }
  let name: string;
  try {
    name = execute(template, nodes, full);
  } catch (e) {
    if (e instanceof TemplateError) return { error: `rendering template: ${e.message}` };
    throw e;
  }
  if (Buffer.byteLength(name) > MAX_NAME_LENGTH) {
    name = Buffer.from(name).subarray(0, MAX_NAME_LENGTH - RANDOM_LENGTH).toString() + randomString(RANDOM_LENGTH);
  }
  return { name };
}

/** names.MachineSetMachineNameGenerator(template, clusterName, machineSetName).GenerateName(). */
export function machineSetMachineName(template: string, clusterName: string, machineSetName: string): NameTemplateResult {
  return generateNameFromTemplate(template, clusterName, { machineSet: { name: machineSetName } });
}

// ---------------------------------------------------------------------------------------------

class TemplateError extends Error {}

type Operand =
  | { kind: "field"; pos: number; text: string; root: "dot" | "dollar"; path: string[] }
  | { kind: "string"; pos: number; text: string; value: string }
  | { kind: "number"; pos: number; text: string; value: number }
  | { kind: "bool"; pos: number; text: string; value: boolean }
  | { kind: "ident"; pos: number; text: string }
  | { kind: "pipe"; pos: number; text: string; pipe: Command[] };

interface Command {
  pos: number;
  args: Operand[];
}

type Node = { kind: "text"; text: string } | { kind: "action"; pos: number; pipe: Command[]; text: string };

const BUILTINS = new Set(["print", "printf", "println", "len", "index", "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "html", "js", "urlquery", "slice", "call"]);
const CONTROL = new Set(["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"]);

function lineOf(src: string, pos: number): number {
  return 1 + (src.slice(0, pos).match(/\n/g)?.length ?? 0);
}

function parseError(src: string, pos: number, msg: string): TemplateError {
  return new TemplateError(`template: ${TEMPLATE_NAME}:${lineOf(src, pos)}: ${msg}`);
}

function parse(src: string): Node[] {
  const nodes: Node[] = [];
  let i = 0;
  let trimNextText = false;
  while (i <= src.length) {
    const open = src.indexOf("{{", i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNextText) text = text.replace(/^[ \t\r\n]+/, "");
    trimNextText = false;
    if (open < 0) {
      if (text) nodes.push({ kind: "text", text });
      break;
    }
    let start = open + 2;
    if (/^-[ \t\r\n]/.test(src.slice(start, start + 2))) {
      text = text.replace(/[ \t\r\n]+$/, "");
      start += 1;
    }
    if (text) nodes.push({ kind: "text", text });
    // Comments: {{/* ... */}}
    const afterSpace = src.slice(start).match(/^[ \t\r\n]*/)![0].length;
    if (src.startsWith("/*", start + afterSpace)) {
      const endComment = src.indexOf("*/", start + afterSpace + 2);
      if (endComment < 0) throw parseError(src, open, "unclosed comment");
      let j = endComment + 2;
      const rest = src.slice(j);
      const m = rest.match(/^([ \t\r\n]*-)?\}\}/);
      if (!m) throw parseError(src, open, "comment ends before closing delimiter");
      if (m[1]) trimNextText = true;
      j += m[0].length;
      i = j;
      continue;
    }
    const { pipe, end, trimRight } = parseAction(src, start);
    nodes.push({ kind: "action", pos: start, pipe, text: src.slice(start, end) });
    trimNextText = trimRight;
    i = end + 2;
  }
  return nodes;
}

/** Tokenizes and parses one action starting at `start`; returns the index of the closing `}}`. */
function parseAction(src: string, start: number): { pipe: Command[]; end: number; trimRight: boolean } {
  let i = start;
  const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\r" || c === "\n";
  const stack: { cmds: Command[]; cur: Command | null; pos: number }[] = [{ cmds: [], cur: null, pos: start }];
  const top = () => stack[stack.length - 1];
  const push = (op: Operand) => {
    const t = top();
    if (!t.cur) {
      t.cur = { pos: op.pos, args: [] };
      t.cmds.push(t.cur);
    }
    t.cur.args.push(op);
  };
  for (;;) {
    if (i >= src.length) throw parseError(src, start, "unclosed action");
    const c = src[i];
    if (isSpace(c)) {
      // ` -}}` closes with a right trim.
      let j = i;
      while (isSpace(src[j])) j++;
      if (src.startsWith("-}}", j)) {
        if (stack.length > 1) throw parseError(src, start, "unclosed left paren");
        return { pipe: finish(src, start, top().cmds), end: j + 1, trimRight: true };
      }
      i = j;
      continue;
    }
    if (src.startsWith("}}", i)) {
      if (stack.length > 1) throw parseError(src, start, "unclosed left paren");
      return { pipe: finish(src, start, top().cmds), end: i, trimRight: false };
    }
    if (c === "|") {
      const t = top();
      if (!t.cur) throw parseError(src, i, "missing command");
      t.cur = null;
      i++;
      continue;
    }
    if (c === "(") {
      stack.push({ cmds: [], cur: null, pos: i });
      i++;
      continue;
    }
    if (c === ")") {
      if (stack.length === 1) throw parseError(src, i, "unexpected right paren");
      const inner = stack.pop()!;
      push({ kind: "pipe", pos: inner.pos, text: src.slice(inner.pos, i + 1), pipe: finish(src, inner.pos, inner.cmds) });
      i++;
      continue;
    }
    if (c === '"' || c === "`") {
      const close = c === "`" ? src.indexOf("`", i + 1) : findStringEnd(src, i + 1);
      if (close < 0) throw parseError(src, i, c === "`" ? "unterminated raw quoted string" : "unterminated quoted string");
      const raw = src.slice(i, close + 1);
      let value: string;
      if (c === "`") value = raw.slice(1, -1);
      else {
        try {
          value = JSON.parse(raw) as string;
        } catch {
          throw parseError(src, i, `invalid syntax: ${raw}`);
        }
      }
      push({ kind: "string", pos: i, text: raw, value });
      i = close + 1;
      continue;
    }
    const word = /^[^\s|()"`}]+/.exec(src.slice(i))?.[0] ?? "";
    if (!word) throw parseError(src, i, unrecognized(c));
    const pos = i;
    i += word.length;
    if (word === "." || /^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(word)) {
      push({ kind: "field", pos, text: word, root: "dot", path: word === "." ? [] : word.slice(1).split(".") });
    } else if (/^\$(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(word)) {
      push({ kind: "field", pos, text: word, root: "dollar", path: word === "$" ? [] : word.slice(2).split(".") });
    } else if (/^[+-]?[0-9]+(\.[0-9]+)?$/.test(word)) {
      push({ kind: "number", pos, text: word, value: Number(word) });
    } else if (word === "true" || word === "false") {
      push({ kind: "bool", pos, text: word, value: word === "true" });
    } else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(word)) {
      if (CONTROL.has(word)) throw new TemplateError(`template: ${TEMPLATE_NAME}:${lineOf(src, pos)}: unsupported action ${goQuote(word)}`);
      if (!BUILTINS.has(word)) throw parseError(src, pos, `function ${goQuote(word)} not defined`);
      push({ kind: "ident", pos, text: word });
    } else {
      const bad = [...word].find((ch) => !/[A-Za-z0-9_.$+-]/.test(ch)) ?? word[0];
      throw parseError(src, pos, unrecognized(bad));
    }
  }
}

/** The lexer's error for a character that cannot start a token (`%#U` rendering). */
function unrecognized(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return `unrecognized character in action: U+${cp.toString(16).toUpperCase().padStart(4, "0")} '${ch}'`;
}

function findStringEnd(src: string, from: number): number {
  for (let j = from; j < src.length; j++) {
    if (src[j] === "\\") j++;
    else if (src[j] === '"') return j;
    else if (src[j] === "\n") return -1;
  }
  return -1;
}

function finish(src: string, pos: number, cmds: Command[]): Command[] {
  if (!cmds.length) throw parseError(src, pos, "missing value for command");
  for (const cmd of cmds) {
    const [first, ...rest] = cmd.args;
    if (first.kind !== "ident" && rest.length) {
      throw parseError(src, cmd.pos, `can't give argument to non-function ${first.text}`);
    }
  }
  return cmds;
}

function execError(src: string, op: { pos: number; text: string }, msg: string): TemplateError {
  const before = src.slice(0, op.pos);
  const nl = before.lastIndexOf("\n");
  const col = nl < 0 ? op.pos : op.pos - (nl + 1);
  return new TemplateError(
    `template: ${TEMPLATE_NAME}:${lineOf(src, op.pos)}:${col}: executing ${goQuote(TEMPLATE_NAME)} at <${op.text}>: ${msg}`,
  );
}

function execute(src: string, nodes: Node[], data: Record<string, unknown>): string {
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") out += n.text;
    else out += goPrint(runPipe(src, n.pipe, data));
  }
  return out;
}

function runPipe(src: string, pipe: Command[], data: Record<string, unknown>): unknown {
  let piped: unknown;
  let hasPiped = false;
  for (const cmd of pipe) {
    const [first, ...rest] = cmd.args;
    if (first.kind === "ident") {
      const args = rest.map((a) => evalOperand(src, a, data));
      if (hasPiped) args.push(piped);
      piped = callBuiltin(src, first, args);
    } else {
      if (hasPiped) throw execError(src, first, `can't give argument to non-function ${first.text}`);
      piped = evalOperand(src, first, data);
    }
    hasPiped = true;
  }
  return piped;
}

function evalOperand(src: string, op: Operand, data: Record<string, unknown>): unknown {
  switch (op.kind) {
    case "string":
    case "number":
    case "bool":
      return op.value;
    case "pipe":
      return runPipe(src, op.pipe, data);
    case "ident":
      return callBuiltin(src, op, []);
    case "field": {
      let cur: unknown = data;
      for (const key of op.path) {
        if (typeof cur === "object" && cur !== null && !Array.isArray(cur)) {
          if (!Object.prototype.hasOwnProperty.call(cur, key)) throw execError(src, op, `map has no entry for key ${goQuote(key)}`);
          cur = (cur as Record<string, unknown>)[key];
        } else {
          throw execError(src, op, `can't evaluate field ${key} in type ${goType(cur)}`);
        }
      }
      return cur;
    }
  }
}

function goType(v: unknown): string {
  if (typeof v === "string") return "string";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float64";
  if (typeof v === "boolean") return "bool";
  if (Array.isArray(v)) return "[]interface {}";
  if (v === null || v === undefined) return "interface {}";
  return "map[string]interface {}";
}

function goPrint(v: unknown): string {
  if (v === null || v === undefined) return "<no value>";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(goPrint).join(" ")}]`;
  const o = v as Record<string, unknown>;
  return `map[${Object.keys(o)
    .sort()
    .map((k) => `${k}:${goPrint(o[k])}`)
    .join(" ")}]`;
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
function sprint(args: unknown[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += goPrint(a);
  });
  return out;
}

function sprintf(format: string, args: unknown[]): string {
  let argi = 0;
  return format.replace(/%([%svdq])/g, (_m, verb: string) => {
    if (verb === "%") return "%";
    if (argi >= args.length) return `%!${verb}(MISSING)`;
    const a = args[argi++];
    if (verb === "q") return typeof a === "string" ? goQuote(a) : goPrint(a);
    if (verb === "d") return typeof a === "number" ? String(Math.trunc(a)) : `%!d(${goType(a)}=${goPrint(a)})`;
    return goPrint(a);
  });
}

function callBuiltin(src: string, fn: { pos: number; text: string }, args: unknown[]): unknown {
  const wrongArgs = (want: number) =>
    execError(src, fn, `wrong number of args for ${fn.text}: want ${want} got ${args.length}`);
  switch (fn.text) {
    case "print":
      return sprint(args);
    case "println":
      return `${args.map(goPrint).join(" ")}\n`;
    case "printf":
      if (args.length < 1) throw execError(src, fn, "wrong number of args for printf: want at least 1 got 0");
      return sprintf(typeof args[0] === "string" ? args[0] : goPrint(args[0]), args.slice(1));
    case "len": {
      if (args.length !== 1) throw wrongArgs(1);
      const a = args[0];
      if (typeof a === "string") return Buffer.byteLength(a);
      if (Array.isArray(a)) return a.length;
      if (typeof a === "object" && a !== null) return Object.keys(a).length;
      throw execError(src, fn, `error calling len: len of type ${goType(a)}`);
    }
    case "index": {
      if (args.length < 1) throw execError(src, fn, "wrong number of args for index: want at least 1 got 0");
      let cur = args[0];
      for (const k of args.slice(1)) {
        if (typeof cur === "object" && cur !== null && !Array.isArray(cur) && typeof k === "string") {
          cur = (cur as Record<string, unknown>)[k];
        } else if (typeof cur === "string" && typeof k === "number") {
          if (k < 0 || k >= cur.length) throw execError(src, fn, `error calling index: index out of range: ${k}`);
          cur = cur.charCodeAt(k);
        } else {
          throw execError(src, fn, `error calling index: cannot index slice/array with type ${goType(k)}`);
        }
      }
      return cur;
    }
    default:
      throw execError(src, fn, `function ${goQuote(fn.text)} is not supported by capx-appliance`);
  }
}
