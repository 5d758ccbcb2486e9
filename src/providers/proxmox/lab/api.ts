/**
 * One request, whichever way it came in (in-process, HTTPS, a CLI shim): authentication (API
 * token, or the CLI's root@pam), injected 500s, routing (501 for anything else), parameter
 * verification (400), the handler, and the response as pveproxy shapes it — `{data}`, errors in
 * the reason phrase and the body's `message`. In CLI mode the request waits for the tasks it
 * forked, as qm and pvesh run workers synchronously.
 * @module
 */
import { AccessLog } from "./access-log.ts";
import { LabPveError, notImplemented } from "./errors.ts";
import type { LabHost } from "./host.ts";
import { WithExtra, type LabRequest, type Router } from "./router.ts";
import type { TaskRecord } from "./state.ts";
import { verifyParams, type RawParams } from "./verify.ts";

/** `PVEAPIToken=USER@REALM!TOKENID=SECRET` (or without the prefix), or a CLI identity. */
export type LabAuth = string | { user: string } | undefined;

export interface LabResponse {
  status: number;
  /** HTTP reason phrase: `OK`, or the first line of the error. */
  reason: string;
  /** `{data, …}`; null for a 401 (PVE sends an empty body). */
  body: { data: unknown; message?: string; errors?: Record<string, string>; [k: string]: unknown } | null;
  /** CLI mode: the tasks the call ran, finished. */
  tasks?: TaskRecord[];
}

export interface RequestOptions {
  /** Run forked workers to the end before answering (qm/pvesh). */
  cli?: boolean;
  via?: "inprocess" | "https" | "cli";
  /** A shim's command line, for the access log. */
  argv?: string[];
}

export class LabApi {
  /** tokenid (`root@pam!capx`) → secret */
  readonly tokens = new Map<string, string>();

  constructor(
    private readonly host: LabHost,
    private readonly router: Router,
    readonly accessLog: AccessLog,
  ) {}

  #authenticate(auth: LabAuth): string | undefined {
    if (auth && typeof auth === "object") return auth.user;
    if (!auth) return undefined;
    const m = /^(?:PVEAPIToken=)?([^=\s]+@[^=\s!]+![^=\s]+)=(\S+)$/.exec(auth.trim());
    if (!m) return undefined;
    const id = m[1]!;
    // tokens made over the API live in the state; an expired one fails as a wrong secret does
    const expire = this.host.state.tokenInfo?.[id]?.expire ?? 0;
    if (expire > 0 && expire * 1000 < this.host.now()) return undefined;
    return (this.host.state.tokens[id] ?? this.tokens.get(id)) === m[2] ? id : undefined;
  }

  async request(method: string, rawPath: string, params: RawParams = {}, auth?: LabAuth, opts: RequestOptions = {}): Promise<LabResponse> {
    const started = Date.now();
    method = method.toUpperCase();
    const [pathPart, query] = rawPath.split("?", 2) as [string, string | undefined];
    const path = pathPart.replace(/^\/api2\/json(?=\/|$)/, "") || "/";
    const all: RawParams = { ...params };
    if (query) for (const [k, v] of new URLSearchParams(query)) all[k] = v;
    const user = this.#authenticate(auth);
    let res: LabResponse;
    if (!user) {
      if (this.host.lat.authFailDelayMs > 0) await new Promise((r) => setTimeout(r, this.host.lat.authFailDelayMs));
      res = { status: 401, reason: auth ? "authentication failure" : "No ticket", body: null };
    } else {
      res = await this.#dispatch(method, path, all, user, opts);
    }
    // A change is answered once it is on disk (a GET changes nothing it would have to wait for).
    if (method !== "GET") await this.host.durable();
    this.accessLog.write({ via: opts.via ?? (opts.cli ? "cli" : "inprocess"), ...(user ? { user } : {}), method, path, params: all, status: res.status, ...(opts.argv ? { argv: opts.argv } : {}), ms: Date.now() - started });
    return res;
  }

  async #dispatch(method: string, path: string, raw: RawParams, user: string, opts: RequestOptions): Promise<LabResponse> {
    const req: LabRequest = { method, path, params: {}, user, cli: Boolean(opts.cli), forked: [] };
    try {
      if (this.host.dice.roll(this.host.faults.http500Rate)) throw new LabPveError("proxy handler failed: Connection refused");
      const match = this.router.match(method, path);
      if (!match) throw notImplemented(method, path);
      if (match.pathParams.node !== undefined) this.host.assertPathNode(match.pathParams.node);
      req.params = verifyParams(match.route.endpoint, { ...raw, ...match.pathParams });
      const result = await match.route.handler(this.host, req);
      const tasks = opts.cli ? await Promise.all(req.forked.map((u) => this.host.tasks.wait(u))) : undefined;
      const body = result instanceof WithExtra ? { data: result.data, ...result.extra } : { data: result === undefined ? null : result };
      return { status: 200, reason: "OK", body, ...(tasks ? { tasks } : {}) };
    } catch (e) {
      const err = e instanceof LabPveError ? e : new LabPveError(e instanceof Error ? e.message : String(e), 500);
      const reason = err.message.split("\n")[0]!;
      return {
        status: err.status,
        reason,
        body: { data: null, message: `${err.message.replace(/\n$/, "")}\n`, ...(err.errors ? { errors: err.errors } : {}) },
      };
    }
  }
}
