/**
 * JSON-lines logging: one object per line on stdout, a context object first and a message,
 * secrets redacted by key name. Lines carry an sd-daemon priority prefix (`<6>`) when stdout is
 * journald's, so `journalctl -p warning` works.
 * @module
 */

export type Level = "debug" | "info" | "warn" | "error";

const PRIORITY: Record<Level, number> = { debug: 7, info: 6, warn: 4, error: 3 };
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const SECRET_KEY = /pass(word)?|secret|token|private|^key$|keyData|key-data|keyPem|bearer|authorization|credential|^(bundle|talosconfig|kubeconfig|value|data|stringData)$/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && v !== "" ? "[redacted]" : redact(v, depth + 1);
  }
  return out;
}

export interface LogSink {
  write(line: string): void;
}

export class Logger {
  #minimum: Level;
  #journald = Boolean(process.env.JOURNAL_STREAM);
  constructor(
    private readonly base: Record<string, unknown> = {},
    private sink: LogSink = { write: (l) => process.stdout.write(l) },
    minimum: Level = (process.env.CAPX_LOG_LEVEL as Level | undefined) ?? "info",
  ) {
    this.#minimum = ORDER[minimum] === undefined ? "info" : minimum;
  }

  /** A logger whose lines all carry `fields` (one per reconcile, request, ...). */
  child(fields: Record<string, unknown>): Logger {
    const c = new Logger({ ...this.base, ...fields }, this.sink, this.#minimum);
    return c;
  }

  setSink(sink: LogSink): void {
    this.sink = sink;
  }

  setLevel(level: Level): void {
    this.#minimum = level;
  }

  debug(ctx: Record<string, unknown>, msg: string): void {
    this.#write("debug", ctx, msg);
  }
  info(ctx: Record<string, unknown>, msg: string): void {
    this.#write("info", ctx, msg);
  }
  warn(ctx: Record<string, unknown>, msg: string): void {
    this.#write("warn", ctx, msg);
  }
  error(ctx: Record<string, unknown>, msg: string): void {
    this.#write("error", ctx, msg);
  }

  #write(level: Level, ctx: Record<string, unknown>, msg: string): void {
    if (ORDER[level] < ORDER[this.#minimum]) return;
    const entry = { ts: new Date().toISOString(), level, msg, ...(redact({ ...this.base, ...ctx }) as object) };
    const prefix = this.#journald ? `<${PRIORITY[level]}>` : "";
    this.sink.write(`${prefix}${JSON.stringify(entry)}\n`);
  }
}

export const log = new Logger();
