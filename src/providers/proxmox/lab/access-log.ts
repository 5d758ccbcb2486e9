/**
 * DATA_DIR/lab/pve-access.log: one JSON line per request (time, how it came in, user, method,
 * path, parameters, status; argv for a qm/pvesh shim call). Secrets in parameters are masked.
 * Lines are buffered briefly and appended in order.
 * @module
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export interface AccessEntry {
  via: "inprocess" | "https" | "cli";
  user?: string;
  method: string;
  path: string;
  params: Record<string, unknown>;
  status: number;
  argv?: string[];
  ms: number;
}

const SECRET = /^(cipassword|password|tokenSecret|secret)$/;

export class AccessLog {
  #lines: string[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  write(e: AccessEntry): void {
    const params: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e.params)) params[k] = SECRET.test(k) ? "<hidden>" : v;
    this.#lines.push(JSON.stringify({ ts: new Date().toISOString(), ...e, params }));
    this.#timer ??= setTimeout(() => this.flush(), 20);
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#lines.length) return;
    const text = this.#lines.join("\n") + "\n";
    this.#lines = [];
    appendFileSync(this.path, text);
  }
}
