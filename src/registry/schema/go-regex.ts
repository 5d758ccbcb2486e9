/**
 * Go RE2 regular expressions (CRD `pattern`, CEL `matches()`/`find()`) translated to JS RegExp.
 *
 * The translator parses the RE2 syntax itself, so patterns Go rejects (look-arounds, back
 * references, `a**`, repeat counts over 1000, unknown escapes) are rejected here too, with Go's
 * error text (`error parsing regexp: missing closing ]: `[a``). Differences it bridges:
 *
 * - flags: `(?i)` at the start (also after `^`/`\A`) becomes the JS `i` flag; elsewhere, and in
 *   `(?i:...)`, it becomes a JS modifier group `(?i:...)`, re-opened after each `|` so Go's
 *   "until the end of the group" scope is kept. `m`, `s` and `U` are emulated while translating
 *   (`^`/`$`/`.` rewritten, greediness swapped), so only `i` ever reaches the JS engine. When the
 *   engine lacks modifier groups, a scoped `(?i)` widens to the whole pattern (approximation).
 * - `\A` → `^`, `\z` → `$` (the JS `m` flag is never used, so these are exact); Go `.` excludes
 *   only `\n` (JS also excludes `\r`, U+2028/9) → `[^\n]`; Go `\s` is `[\t\n\f\r ]`.
 * - POSIX classes `[[:alpha:]]`, `[[:^digit:]]`; `\pL`, `\p{Greek}` → `\p{L}`, `\p{Script=Greek}`;
 *   `\Q...\E`; `\x{10FFFF}`; octal escapes; `\a`; `(?P<name>...)`; escaped punctuation that JS
 *   rejects under the `u` flag (`\-`, `\:`); literal `{`, `}` and `]`.
 *
 * Compiled expressions use the `u` flag; if the engine rejects the translation under `u`, it is
 * retried without. Results are cached by pattern text (the RegExp objects carry no `g`/`y` state).
 * @module
 */

export class GoRegexError extends Error {
  constructor(
    readonly code: string,
    readonly expr: string,
  ) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
    this.name = "GoRegexError";
  }
}

const ERR = {
  missingBracket: "missing closing ]",
  missingParen: "missing closing )",
  unexpectedParen: "unexpected )",
  invalidEscape: "invalid escape sequence",
  nestedRepeat: "invalid nested repetition operator",
  missingRepeatArg: "missing argument to repetition operator",
  repeatSize: "invalid repeat count",
  charRange: "invalid character class range",
  perlOp: "invalid or unsupported Perl syntax",
  namedCapture: "invalid named capture",
  trailingBackslash: "trailing backslash at end of expression",
} as const;

const MODIFIERS_SUPPORTED = (() => {
  try {
    new RegExp("(?i:a)(?-i:b)", "u");
    return true;
  } catch {
    return false;
  }
})();

type Range = [number, number];
const MAX_RUNE = 0x10ffff;

const POSIX: Record<string, Range[]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

/** Go's `\s`: `[\t\n\f\r ]` (no `\v`, unlike JS). */
const PERL_SPACE: Range[] = [
  [0x09, 0x0a],
  [0x0c, 0x0d],
  [0x20, 0x20],
];

const GENERAL_CATEGORIES = new Set(
  "C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs".split(" "),
);

function complement(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

/** A code point as it may appear inside a JS character class. */
function classChar(cp: number): string {
  if (cp < 0x20 || cp === 0x7f || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0xffff) return `\\u{${cp.toString(16)}}`;
  const ch = String.fromCodePoint(cp);
  return "\\]-^[".includes(ch) ? `\\${ch}` : ch;
}

function rangesToClass(ranges: Range[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`)).join("");
}

/** A code point as a literal outside a class. */
function literal(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if ("^$\\.*+?()[]{}|/".includes(ch)) return `\\${ch}`;
  if (cp < 0x20 || cp === 0x7f || (cp >= 0xd800 && cp <= 0xdfff)) return `\\u{${cp.toString(16)}}`;
  return ch;
}

const scriptCache = new Map<string, boolean>();
function isScript(name: string): boolean {
  let ok = scriptCache.get(name);
  if (ok === undefined) {
    try {
      new RegExp(`\\p{Script=${name}}`, "u");
      ok = /^[A-Za-z_]+$/.test(name);
    } catch {
      ok = false;
    }
    scriptCache.set(name, ok);
  }
  return ok;
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

interface Frame {
  saved: Flags;
  /** Modifier groups opened by `(?i)`-style flag changes in this group, closed at `|` and `)`. */
  mods: string[];
  outStart: number;
}

type Last = "none" | "atom" | "assert" | "repeat";

class Translator {
  private pos = 0;
  private out = "";
  private flags: Flags = { i: false, m: false, s: false, U: false };
  private globalI = false;
  private frames: Frame[] = [];
  private last: Last = "none";
  private lastStart = 0;
  private lastRepeatAt = 0;

  constructor(private readonly src: string) {}

  translate(): { source: string; flags: string } {
    this.frames.push({ saved: { ...this.flags }, mods: [], outStart: 0 });
    const src = this.src;
    while (this.pos < src.length) {
      const c = src[this.pos];
      switch (c) {
        case "(":
          this.openGroup();
          break;
        case ")":
          this.closeGroup();
          break;
        case "|": {
          const frame = this.frames[this.frames.length - 1];
          this.out += `${")".repeat(frame.mods.length)}|${frame.mods.join("")}`;
          this.pos++;
          this.last = "none";
          break;
        }
        case "*":
        case "+":
        case "?":
          this.repeat(c, 1);
          break;
        case "{": {
          const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(this.pos));
          if (!m) {
            this.atom(literal(0x7b));
            this.pos++;
            break;
          }
          const min = Number(m[1]);
          const max = m[2] === undefined ? min : m[3] === "" ? -1 : Number(m[3]);
          if (min > 1000 || max > 1000 || (max >= 0 && min > max)) throw new GoRegexError(ERR.repeatSize, m[0]);
          this.repeat(m[0], m[0].length);
          break;
        }
        case "^":
          this.assert(this.flags.m ? "(?<![^\\n])" : "^");
          this.pos++;
          break;
        case "$":
          this.assert(this.flags.m ? "(?![^\\n])" : "$");
          this.pos++;
          break;
        case ".":
          this.atom(this.flags.s ? "[\\s\\S]" : "[^\\n]");
          this.pos++;
          break;
        case "[":
          this.atom(this.parseClass());
          break;
        case "\\":
          this.parseEscape();
          break;
        default: {
          const cp = src.codePointAt(this.pos)!;
          this.atom(literal(cp));
          this.pos += cp > 0xffff ? 2 : 1;
        }
      }
    }
    if (this.frames.length > 1) throw new GoRegexError(ERR.missingParen, src);
    this.out += ")".repeat(this.frames[0].mods.length);
    return { source: this.out, flags: this.globalI ? "i" : "" };
  }

  private atom(text: string): void {
    this.lastStart = this.out.length;
    this.out += text;
    this.last = "atom";
  }

  private assert(text: string): void {
    this.lastStart = this.out.length;
    this.out += text;
    this.last = "assert";
  }

  private repeat(op: string, len: number): void {
    const start = this.pos;
    this.pos += len;
    let lazy = false;
    if (this.src[this.pos] === "?") {
      lazy = true;
      this.pos++;
    }
    if (this.last === "none") throw new GoRegexError(ERR.missingRepeatArg, this.src.slice(start, this.pos));
    if (this.last === "repeat") throw new GoRegexError(ERR.nestedRepeat, this.src.slice(this.lastRepeatAt, this.pos));
    if (this.last === "assert") this.out = `${this.out.slice(0, this.lastStart)}(?:${this.out.slice(this.lastStart)})`;
    if (this.flags.U) lazy = !lazy;
    this.out += op + (lazy ? "?" : "");
    this.last = "repeat";
    this.lastRepeatAt = start;
  }

  private openGroup(): void {
    const src = this.src;
    const start = this.pos;
    const frame: Frame = { saved: { ...this.flags }, mods: [], outStart: this.out.length };
    if (src[start + 1] !== "?") {
      this.pos++;
      this.out += "(";
      this.frames.push(frame);
      this.last = "none";
      return;
    }
    const rest = src.slice(start);
    const named = /^\(\?P?<([^>]*)>/.exec(rest);
    if (named && !rest.startsWith("(?<=") && !rest.startsWith("(?<!")) {
      const name = named[1];
      if (!/^\w+$/.test(name)) throw new GoRegexError(ERR.namedCapture, named[0]);
      this.pos += named[0].length;
      this.out += /^[A-Za-z_]\w*$/.test(name) && !this.usedNames.has(name) ? `(?<${name}>` : "(";
      this.usedNames.add(name);
      this.frames.push(frame);
      this.last = "none";
      return;
    }
    // Flags: (?flags) or (?flags:re)
    let i = start + 2;
    let negate = false;
    let sawFlag = false;
    const next: Flags = { ...this.flags };
    for (; ; i++) {
      const c = src[i];
      if (c === undefined) throw new GoRegexError(ERR.missingParen, src);
      if (c === "i" || c === "m" || c === "s" || c === "U") {
        next[c] = !negate;
        sawFlag = true;
        continue;
      }
      if (c === "-") {
        if (negate) throw new GoRegexError(ERR.perlOp, src.slice(start, i + 1));
        negate = true;
        sawFlag = false;
        continue;
      }
      if (c === ":" || c === ")") {
        if ((negate && !sawFlag) || (!negate && !sawFlag && c === ")")) {
          throw new GoRegexError(ERR.perlOp, src.slice(start, i + 1));
        }
        break;
      }
      throw new GoRegexError(ERR.perlOp, src.slice(start, i + 1));
    }
    const group = src[i] === ":";
    this.pos = i + 1;
    const iChanged = next.i !== this.flags.i;
    if (group) {
      this.out += iChanged && MODIFIERS_SUPPORTED ? `(?${next.i ? "i" : "-i"}:` : "(?:";
      if (iChanged && !MODIFIERS_SUPPORTED && next.i) this.globalI = true;
      this.frames.push(frame);
      this.flags = next;
      this.last = "none";
      return;
    }
    // (?flags): applies to the rest of the current group.
    if (iChanged) {
      const atStart = this.frames.length === 1 && /^(\^)?$/.test(this.out) && !this.globalI;
      if (next.i && (atStart || !MODIFIERS_SUPPORTED)) {
        this.globalI = true;
      } else if (MODIFIERS_SUPPORTED) {
        const mod = `(?${next.i ? "i" : "-i"}:`;
        this.frames[this.frames.length - 1].mods.push(mod);
        this.out += mod;
      }
    }
    this.flags = next;
    this.last = "none";
  }

  private readonly usedNames = new Set<string>();

  private closeGroup(): void {
    if (this.frames.length === 1) throw new GoRegexError(ERR.unexpectedParen, this.src);
    const frame = this.frames.pop()!;
    this.out += `${")".repeat(frame.mods.length)})`;
    this.flags = frame.saved;
    this.pos++;
    this.last = "atom";
    this.lastStart = frame.outStart;
  }

  /** Escapes outside a class. */
  private parseEscape(): void {
    const src = this.src;
    const start = this.pos;
    const c = src[this.pos + 1];
    if (c === undefined) throw new GoRegexError(ERR.trailingBackslash, "");
    switch (c) {
      case "A":
        this.pos += 2;
        return this.assert("^");
      case "z":
        this.pos += 2;
        return this.assert("$");
      case "b":
      case "B":
        this.pos += 2;
        return this.assert(`\\${c}`);
      case "d":
      case "D":
      case "w":
      case "W":
        this.pos += 2;
        return this.atom(`\\${c}`);
      case "s":
        this.pos += 2;
        return this.atom(`[${rangesToClass(PERL_SPACE)}]`);
      case "S":
        this.pos += 2;
        return this.atom(`[^${rangesToClass(PERL_SPACE)}]`);
      case "p":
      case "P":
        return this.atom(this.parseUnicodeClass(false));
      case "Q": {
        const end = src.indexOf("\\E", start + 2);
        const text = end < 0 ? src.slice(start + 2) : src.slice(start + 2, end);
        this.pos = end < 0 ? src.length : end + 2;
        for (const ch of text) this.atom(literal(ch.codePointAt(0)!));
        return;
      }
    }
    const cp = this.parseCharEscape();
    this.atom(literal(cp));
  }

  /** Single-character escapes valid both inside and outside classes; returns the code point. */
  private parseCharEscape(): number {
    const src = this.src;
    const start = this.pos;
    const c = src[start + 1];
    const bad = (len = 2): never => {
      throw new GoRegexError(ERR.invalidEscape, src.slice(start, start + len));
    };
    switch (c) {
      case "a":
        this.pos += 2;
        return 0x07;
      case "f":
        this.pos += 2;
        return 0x0c;
      case "t":
        this.pos += 2;
        return 0x09;
      case "n":
        this.pos += 2;
        return 0x0a;
      case "r":
        this.pos += 2;
        return 0x0d;
      case "v":
        this.pos += 2;
        return 0x0b;
      case "x": {
        const braced = /^\\x\{([0-9A-Fa-f]+)\}/.exec(src.slice(start));
        if (braced) {
          const v = parseInt(braced[1], 16);
          if (v > MAX_RUNE) bad(braced[0].length);
          this.pos += braced[0].length;
          return v;
        }
        const two = /^\\x([0-9A-Fa-f]{2})/.exec(src.slice(start));
        if (!two) bad(Math.min(4, src.length - start));
        this.pos += 4;
        return parseInt(two![1], 16);
      }
    }
    if (c >= "0" && c <= "7") {
      const next = src[start + 2];
      if (c !== "0" && !(next >= "0" && next <= "7")) bad();
      const m = /^\\([0-7]{1,3})/.exec(src.slice(start))!;
      this.pos += m[0].length;
      return parseInt(m[1], 8);
    }
    const cp = src.codePointAt(start + 1)!;
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(c)) {
      this.pos += 2;
      return cp;
    }
    return bad(cp > 0xffff ? 3 : 2);
  }

  /** `\pL`, `\p{Greek}`, `\P{^L}`; returns the JS class escape. */
  private parseUnicodeClass(inClass: boolean): string {
    const src = this.src;
    const start = this.pos;
    let negate = src[start + 1] === "P";
    let name: string;
    if (src[start + 2] === "{") {
      const end = src.indexOf("}", start + 3);
      if (end < 0) throw new GoRegexError(ERR.charRange, src.slice(start));
      name = src.slice(start + 3, end);
      this.pos = end + 1;
    } else {
      const cp = src.codePointAt(start + 2);
      if (cp === undefined) throw new GoRegexError(ERR.charRange, src.slice(start));
      name = String.fromCodePoint(cp);
      this.pos = start + 2 + (cp > 0xffff ? 2 : 1);
    }
    if (name.startsWith("^")) {
      negate = !negate;
      name = name.slice(1);
    }
    let prop: string;
    if (name === "Any") {
      if (inClass) return negate ? "" : "\\u{0}-\\u{10ffff}";
      return negate ? "[^\\s\\S]" : "[\\s\\S]";
    } else if (GENERAL_CATEGORIES.has(name)) prop = name;
    else if (isScript(name)) prop = `Script=${name}`;
    else throw new GoRegexError(ERR.charRange, src.slice(start, this.pos));
    return `\\${negate ? "P" : "p"}{${prop}}`;
  }

  private parseClass(): string {
    const src = this.src;
    const start = this.pos;
    this.pos++;
    let negate = false;
    if (src[this.pos] === "^") {
      negate = true;
      this.pos++;
    }
    let body = "";
    let first = true;
    for (;;) {
      if (this.pos >= src.length) throw new GoRegexError(ERR.missingBracket, src.slice(start));
      const c = src[this.pos];
      if (c === "]" && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === "[" && src[this.pos + 1] === ":") {
        const m = /^\[:(\^?)([A-Za-z]+):\]/.exec(src.slice(this.pos));
        if (m) {
          const ranges = POSIX[m[2]];
          if (!ranges) throw new GoRegexError(ERR.charRange, m[0]);
          body += rangesToClass(m[1] ? complement(ranges) : ranges);
          this.pos += m[0].length;
          continue;
        }
      }
      if (c === "\\") {
        const e = src[this.pos + 1];
        if (e === "d" || e === "D" || e === "w" || e === "W") {
          body += `\\${e}`;
          this.pos += 2;
          continue;
        }
        if (e === "s" || e === "S") {
          body += rangesToClass(e === "s" ? PERL_SPACE : complement(PERL_SPACE));
          this.pos += 2;
          continue;
        }
        if (e === "p" || e === "P") {
          body += this.parseUnicodeClass(true);
          continue;
        }
      }
      const loStart = this.pos;
      const lo = this.classSingle();
      if (src[this.pos] === "-" && src[this.pos + 1] !== "]" && this.pos + 1 < src.length) {
        this.pos++;
        const hi = this.classSingle();
        if (hi < lo) throw new GoRegexError(ERR.charRange, src.slice(loStart, this.pos));
        body += `${classChar(lo)}-${classChar(hi)}`;
      } else {
        body += classChar(lo);
      }
    }
    return `[${negate ? "^" : ""}${body}]`;
  }

  /** One character of a class (literal or escape). */
  private classSingle(): number {
    const src = this.src;
    if (src[this.pos] === "\\") {
      const e = src[this.pos + 1];
      if (e !== undefined && "bBAzQE".includes(e)) {
        throw new GoRegexError(ERR.invalidEscape, src.slice(this.pos, this.pos + 2));
      }
      if (e === undefined) throw new GoRegexError(ERR.missingBracket, src.slice(this.pos));
      return this.parseCharEscape();
    }
    const cp = src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }
}

/** Translates RE2 syntax to a JS source and flags (without `u`); throws GoRegexError. */
export function translateGoRegex(pattern: string): { source: string; flags: string } {
  return new Translator(pattern).translate();
}

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 4096;

/** Compiles a Go RE2 pattern into an equivalent JS RegExp (cached); throws GoRegexError. */
export function compileGoRegex(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const { source, flags } = translateGoRegex(pattern);
  let re: RegExp;
  try {
    re = new RegExp(source, `${flags}u`);
  } catch {
    try {
      re = new RegExp(source, flags);
    } catch (e) {
      throw new GoRegexError((e as Error).message.replace(/^Invalid regular expression: /, ""), pattern);
    }
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(pattern, re);
  return re;
}
