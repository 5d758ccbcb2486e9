/**
 * The shell of a lab guest: runs what cloud-init hands to `/bin/sh` (bootcmd, the runcmd script)
 * against the VM's {@link GuestFs}, as dash would as far as CABPK's commands need — words with
 * quotes, `&&` `||` `;` `|`, redirections `>` `>>` `<` `2>` `2>&1`, comments — with built-ins
 * `echo` (dash's, escapes interpreted), `mkdir [-p]`, `touch`, `test`/`[`, `true`, `false`, `cat`,
 * `tee [-a]`, `rm [-rf]`, `chmod`, `sleep` (instant), `sh -c`/`bash -c`, and programs registered
 * by name or path ({@link Programs}, e.g. `kubeadm`). Anything else fails as sh does:
 * `<script>: <line>: X: not found`, exit 127. No variables, globs or `$(…)`: words stay literal.
 * An executable file on the disk with no registered program (a script from write_files) runs as
 * a no-op that succeeds; a non-executable one fails with `Permission denied`, exit 126.
 * @module
 */
import { posix } from "node:path";
import { FsError, type GuestFs } from "./guest-fs.ts";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ProgramContext {
  /** argv[0] as the command line named it, then its arguments. */
  argv: string[];
  fs: GuestFs;
  vmid: number;
  stdin: string;
  /** Runs a shell command line on the same guest (as `sh -c`). */
  sh(command: string): Promise<ExecResult>;
}

export type Program = (ctx: ProgramContext) => Partial<ExecResult> | void | Promise<Partial<ExecResult> | void>;

/** Simulated programs by name (`kubeadm`) or absolute path (`/etc/kube-vip-prepare.sh`). */
export class Programs {
  readonly #map = new Map<string, Program>();
  register(name: string, fn: Program): void {
    this.#map.set(name, fn);
  }
  find(argv0: string): Program | undefined {
    return this.#map.get(argv0) ?? (argv0.includes("/") && /^\/(usr\/)?(local\/)?s?bin\//.test(argv0) ? this.#map.get(posix.basename(argv0)) : undefined);
  }
}

// ---- parsing ------------------------------------------------------------------------------

type Redirect = { fd: number; op: ">" | ">>" | "<" | ">&"; target: string };
interface Simple {
  words: string[];
  redirects: Redirect[];
  line: number;
}
type Pipeline = Simple[];
interface AndOr {
  first: Pipeline;
  rest: { op: "&&" | "||"; pipeline: Pipeline }[];
}

type Tok = { k: "word"; v: string; line: number } | { k: "op"; v: string; line: number };

function lex(script: string): Tok[] {
  const toks: Tok[] = [];
  let line = 1;
  let i = 0;
  while (i < script.length) {
    const c = script[i]!;
    if (c === "\n") {
      toks.push({ k: "op", v: "\n", line });
      line++;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < script.length && script[i] !== "\n") i++;
      continue;
    }
    const op = /^(&&|\|\||;|\||[0-9]?>>|[0-9]?>&[0-9]|[0-9]?>|<)/.exec(script.slice(i))?.[0];
    if (op) {
      toks.push({ k: "op", v: op, line });
      i += op.length;
      continue;
    }
    let word = "";
    const start = line;
    while (i < script.length && !/[\s;&|<>]/.test(script[i]!)) {
      const ch = script[i]!;
      if (ch === "'") {
        const end = script.indexOf("'", i + 1);
        if (end < 0) throw new SyntaxError(`Syntax error: Unterminated quoted string`);
        word += script.slice(i + 1, end);
        line += (script.slice(i, end).match(/\n/g) ?? []).length;
        i = end + 1;
      } else if (ch === '"') {
        i++;
        while (i < script.length && script[i] !== '"') {
          if (script[i] === "\\" && /["\\$`\n]/.test(script[i + 1] ?? "")) i++;
          if (script[i] === "\n") line++;
          word += script[i++];
        }
        if (i >= script.length) throw new SyntaxError(`Syntax error: Unterminated quoted string`);
        i++;
      } else if (ch === "\\") {
        if (script[i + 1] === "\n") line++;
        else word += script[i + 1] ?? "";
        i += 2;
      } else {
        word += ch;
        i++;
      }
    }
    toks.push({ k: "word", v: word, line: start });
  }
  return toks;
}

function parse(script: string): AndOr[] {
  const toks = lex(script);
  const lists: AndOr[] = [];
  let i = 0;
  const simple = (): Simple => {
    const s: Simple = { words: [], redirects: [], line: toks[i]?.line ?? 1 };
    while (i < toks.length) {
      const t = toks[i]!;
      if (t.k === "word") {
        s.words.push(t.v);
        i++;
        continue;
      }
      const m = /^([0-9]?)(>>|>&|>|<)([0-9]?)$/.exec(t.v);
      if (!m) break;
      i++;
      const fd = m[1] ? Number(m[1]) : m[2] === "<" ? 0 : 1;
      if (m[2] === ">&") {
        s.redirects.push({ fd, op: ">&", target: m[3]! });
        continue;
      }
      const target = toks[i];
      if (target?.k !== "word") throw new SyntaxError(`Syntax error: redirection unexpected`);
      i++;
      s.redirects.push({ fd, op: m[2] as Redirect["op"], target: target.v });
    }
    return s;
  };
  const pipeline = (): Pipeline => {
    const p = [simple()];
    while (toks[i]?.v === "|") {
      i++;
      p.push(simple());
    }
    for (const s of p) if (!s.words.length && !s.redirects.length) throw new SyntaxError(`Syntax error: "${toks[i]?.v ?? "end of file"}" unexpected`);
    return p;
  };
  while (i < toks.length) {
    const t = toks[i]!;
    if (t.v === "\n" || t.v === ";") {
      i++;
      continue;
    }
    const item: AndOr = { first: pipeline(), rest: [] };
    while (toks[i]?.v === "&&" || toks[i]?.v === "||") {
      const op = toks[i]!.v as "&&" | "||";
      i++;
      while (toks[i]?.v === "\n") i++;
      item.rest.push({ op, pipeline: pipeline() });
    }
    lists.push(item);
  }
  return lists;
}

// ---- running ------------------------------------------------------------------------------

export interface ShellOptions {
  fs: GuestFs;
  vmid: number;
  programs: Programs;
  /** Called with output as it is produced (the console shows it). */
  onOutput?: (text: string, stream: "stdout" | "stderr") => void;
}

type Out = { stdout: string; stderr: string };

export class Shell {
  constructor(readonly o: ShellOptions) {}

  /**
   * Runs a script; `name` is how sh names it in errors: `sh` for `sh -c` (`sh: 1: X: not found`),
   * else the script's path. The exit status is the last command's (sh without -e).
   */
  async run(script: string, name = "sh", nested = false): Promise<ExecResult> {
    const all: ExecResult = { code: 0, stdout: "", stderr: "" };
    const emit = (text: string, stream: "stdout" | "stderr") => {
      if (!text) return;
      all[stream] += text;
      if (!nested) this.o.onOutput?.(text, stream);
    };
    let lists: AndOr[];
    try {
      lists = parse(script);
    } catch (e) {
      emit(`${name}: 1: ${(e as Error).message}\n`, "stderr");
      return { ...all, code: 2 };
    }
    for (const item of lists) {
      let code = await this.#pipeline(item.first, name, emit);
      for (const next of item.rest) {
        if ((next.op === "&&" && code !== 0) || (next.op === "||" && code === 0)) continue;
        code = await this.#pipeline(next.pipeline, name, emit);
      }
      all.code = code;
    }
    return all;
  }

  async #pipeline(p: Pipeline, name: string, emit: (t: string, s: "stdout" | "stderr") => void): Promise<number> {
    let stdin = "";
    let code = 0;
    for (let k = 0; k < p.length; k++) {
      const r = await this.#simple(p[k]!, name, stdin);
      emit(r.stderr, "stderr");
      if (k === p.length - 1) emit(r.stdout, "stdout");
      stdin = r.stdout;
      code = r.code;
    }
    return code;
  }

  async #simple(s: Simple, name: string, stdin: string): Promise<ExecResult> {
    const fs = this.o.fs;
    const where = `${name}: ${s.line}: `;
    // input redirection first, as sh opens them before running the command
    for (const r of s.redirects) {
      if (r.op !== "<") continue;
      if (r.target === "/dev/null") stdin = "";
      else {
        const data = fs.readText(r.target);
        if (data === undefined) return { code: 2, stdout: "", stderr: `${where}cannot open ${r.target}: No such file\n` };
        stdin = data;
      }
    }
    for (const r of s.redirects) {
      if ((r.op === ">" || r.op === ">>") && r.target !== "/dev/null") {
        if (fs.isDir(r.target)) return { code: 2, stdout: "", stderr: `${where}cannot create ${r.target}: Is a directory\n` };
        if (!fs.isDir(posix.dirname(posix.resolve("/", r.target)))) return { code: 2, stdout: "", stderr: `${where}cannot create ${r.target}: Directory nonexistent\n` };
      }
    }
    const res = s.words.length ? await this.#exec(s.words, where, stdin) : { code: 0, stdout: "", stderr: "" };
    // output redirections, left to right (`> f 2>&1` sends both to f)
    const sinks: Record<number, { file?: string; append?: boolean; to?: "stdout" | "stderr" }> = { 1: { to: "stdout" }, 2: { to: "stderr" } };
    for (const r of s.redirects) {
      if (r.op === ">&") sinks[r.fd] = { ...sinks[Number(r.target)]! };
      else if (r.op === ">" || r.op === ">>") {
        sinks[r.fd] = { file: r.target, append: r.op === ">>" };
        if (r.target !== "/dev/null" && r.op === ">") fs.write(r.target, "", { append: false });
      }
    }
    const out: Out = { stdout: "", stderr: "" };
    for (const [fd, text] of [[1, res.stdout], [2, res.stderr]] as const) {
      const sink = sinks[fd]!;
      if (sink.file !== undefined) {
        if (sink.file !== "/dev/null") fs.write(sink.file, text, { append: true });
      } else out[sink.to!] += text;
    }
    fs.save();
    return { code: res.code, ...out };
  }

  async #exec(argv: string[], where: string, stdin: string): Promise<ExecResult> {
    const [cmd, ...args] = argv as [string, ...string[]];
    const fs = this.o.fs;
    const registered = this.o.programs.find(cmd);
    if (registered) {
      try {
        const r = (await registered({ argv, fs: this.o.fs, vmid: this.o.vmid, stdin, sh: (c) => this.run(c, "sh", true) })) ?? {};
        return { code: r.code ?? 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
      } catch (e) {
        return { code: 1, stdout: "", stderr: `${cmd}: ${(e as Error).message}\n` };
      }
    }
    const builtin = BUILTINS[cmd.includes("/") && /^\/(usr\/)?bin\//.test(cmd) ? posix.basename(cmd) : cmd];
    if (builtin) {
      try {
        return await builtin.call(this, args, stdin, where);
      } catch (e) {
        if (e instanceof FsError) return { code: 1, stdout: "", stderr: `${cmd}: ${e.message}\n` };
        throw e;
      }
    }
    if (cmd.includes("/")) {
      const st = fs.stat(cmd);
      if (!st) return { code: 127, stdout: "", stderr: `${where}${cmd}: not found\n` };
      if (!(st.mode & 0o111)) return { code: 126, stdout: "", stderr: `${where}${cmd}: Permission denied\n` };
      return { code: 0, stdout: "", stderr: "" };
    }
    return { code: 127, stdout: "", stderr: `${where}${cmd}: not found\n` };
  }
}

type Builtin = (this: Shell, args: string[], stdin: string, where: string) => ExecResult | Promise<ExecResult>;
const ok = (stdout = ""): ExecResult => ({ code: 0, stdout, stderr: "" });
const fail = (stderr: string, code = 1): ExecResult => ({ code, stdout: "", stderr });

function dashEcho(args: string[]): string {
  let newline = true;
  if (args[0] === "-n") {
    newline = false;
    args = args.slice(1);
  }
  let text = args.join(" ");
  const stop = text.indexOf("\\c");
  if (stop >= 0) {
    text = text.slice(0, stop);
    newline = false;
  }
  text = text.replace(/\\(0[0-7]{0,3}|[abfnrtv\\])/g, (_, e: string) =>
    e[0] === "0" ? String.fromCharCode(parseInt(e, 8)) : ({ a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\" } as Record<string, string>)[e]!,
  );
  return newline ? text + "\n" : text;
}

function testExpr(this: Shell, args: string[]): boolean {
  const fs = this.o.fs;
  if (args[0] === "!") return !testExpr.call(this, args.slice(1));
  if (args.length === 0) return false;
  if (args.length === 1) return args[0] !== "";
  if (args.length === 2) {
    const [op, v] = args as [string, string];
    const st = fs.stat(v);
    switch (op) {
      case "-f":
        return fs.isFile(v);
      case "-d":
        return fs.isDir(v);
      case "-e":
        return fs.exists(v);
      case "-s":
        return (st?.size ?? 0) > 0;
      case "-x":
        return fs.isDir(v) || Boolean(st && st.mode & 0o111);
      case "-n":
        return v !== "";
      case "-z":
        return v === "";
    }
    throw new SyntaxError(`${op}: unexpected operator`);
  }
  const [a, op, b] = args as [string, string, string];
  if (op === "=" || op === "==") return a === b;
  if (op === "!=") return a !== b;
  const num = { "-eq": (x: number, y: number) => x === y, "-ne": (x: number, y: number) => x !== y, "-lt": (x: number, y: number) => x < y, "-le": (x: number, y: number) => x <= y, "-gt": (x: number, y: number) => x > y, "-ge": (x: number, y: number) => x >= y }[op];
  if (num) return num(Number(a), Number(b));
  throw new SyntaxError(`${op}: unexpected operator`);
}

const flagsAndArgs = (args: string[]) => {
  const flags = new Set<string>();
  const rest: string[] = [];
  for (const a of args) {
    if (/^-[A-Za-z]+$/.test(a) && !rest.length) for (const f of a.slice(1)) flags.add(f);
    else rest.push(a);
  }
  return { flags, rest };
};

const BUILTINS: Record<string, Builtin> = {
  echo: (args) => ok(dashEcho(args)),
  true: () => ok(),
  false: () => fail("", 1),
  sleep: () => ok(),
  mkdir(args) {
    const { flags, rest } = flagsAndArgs(args);
    if (!rest.length) return fail("mkdir: missing operand\n");
    let err = "";
    for (const d of rest) {
      try {
        this.o.fs.mkdir(d, flags.has("p"));
      } catch (e) {
        err += `mkdir: ${(e as Error).message}\n`;
      }
    }
    return err ? fail(err) : ok();
  },
  touch(args) {
    for (const f of args) {
      if (this.o.fs.exists(f)) continue;
      try {
        this.o.fs.write(f, "");
      } catch {
        return fail(`touch: cannot touch '${f}': No such file or directory\n`);
      }
    }
    return ok();
  },
  test(args, _stdin, where) {
    try {
      return testExpr.call(this, args) ? ok() : fail("", 1);
    } catch (e) {
      return fail(`${where}test: ${(e as Error).message}\n`, 2);
    }
  },
  "["(args, _stdin, where) {
    if (args[args.length - 1] !== "]") return fail(`${where}[: missing ]\n`, 2);
    try {
      return testExpr.call(this, args.slice(0, -1)) ? ok() : fail("", 1);
    } catch (e) {
      return fail(`${where}[: ${(e as Error).message}\n`, 2);
    }
  },
  cat(args, stdin) {
    if (!args.length) return ok(stdin);
    let out = "";
    for (const f of args) {
      const t = this.o.fs.readText(f);
      if (t === undefined) return { code: 1, stdout: out, stderr: `cat: ${f}: No such file or directory\n` };
      out += t;
    }
    return ok(out);
  },
  tee(args, stdin) {
    const { flags, rest } = flagsAndArgs(args);
    for (const f of rest) {
      try {
        this.o.fs.write(f, stdin, { append: flags.has("a") });
      } catch {
        return { code: 1, stdout: stdin, stderr: `tee: ${f}: No such file or directory\n` };
      }
    }
    return ok(stdin);
  },
  rm(args) {
    const { flags, rest } = flagsAndArgs(args);
    for (const f of rest) {
      if (!this.o.fs.exists(f)) {
        if (flags.has("f")) continue;
        return fail(`rm: cannot remove '${f}': No such file or directory\n`);
      }
      this.o.fs.remove(f, flags.has("r") || flags.has("R"));
    }
    return ok();
  },
  chmod(args) {
    const [mode, ...files] = args;
    if (!mode || !/^[0-7]{3,4}$/.test(mode)) return fail(`chmod: invalid mode: '${mode ?? ""}'\n`);
    for (const f of files) this.o.fs.chmod(f, parseInt(mode, 8));
    return ok();
  },
  async sh(args) {
    if (args[0] !== "-c" || args[1] === undefined) return fail("sh: the lab shell runs only `sh -c COMMAND`\n", 2);
    return this.run(args[1], "sh", true);
  },
  async bash(args) {
    if (args[0] !== "-c" || args[1] === undefined) return fail("bash: the lab shell runs only `bash -c COMMAND`\n", 2);
    const r = await this.run(args[1], "bash", true);
    return { ...r, stderr: r.stderr.replace(/^bash: (\d+): (.*): not found$/gm, "bash: line $1: $2: command not found") };
  },
};
