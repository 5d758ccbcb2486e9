/**
 * Paths of the PVE API (`/nodes/{node}/qemu/{vmid}/...`) to handlers. Path parameters are
 * decoded per segment (a volume id arrives as `local:iso%2Fx.iso`) and merged into the
 * parameters, which are verified against the endpoint's schema before the handler runs.
 * @module
 */
import type { LabHost } from "./host.ts";
import { ACCESS_ENDPOINTS } from "./schema/access.ts";
import { LAB_ENDPOINTS, type LabEndpoint } from "./schema/endpoints.ts";
import type { Params } from "./verify.ts";

export interface LabRequest {
  method: string;
  /** Relative to /api2/json. */
  path: string;
  params: Params;
  /** `root@pam`, or `root@pam!tokenid` for an API token. */
  user: string;
  /** CLI mode (qm, pvesh): workers run to the end before the call returns. */
  cli: boolean;
  /** Tasks this request forked (the CLI waits for them). */
  forked: string[];
}

export type Handler = (host: LabHost, req: LabRequest) => unknown;

/** A handler result with top-level fields beside `data` (e.g. a task log's `total`). */
export class WithExtra {
  constructor(
    readonly data: unknown,
    readonly extra: Record<string, unknown>,
  ) {}
}

interface CompiledRoute {
  endpoint: LabEndpoint;
  method: string;
  segments: string[];
  handler: Handler;
}

export class Router {
  #routes: CompiledRoute[] = [];

  add(endpoint: LabEndpoint, handler: Handler): void {
    const [method, path] = endpoint.split(" ") as [string, string];
    this.#routes.push({ endpoint, method, segments: path.split("/").filter(Boolean), handler });
  }

  addAll(table: Partial<Record<LabEndpoint, Handler>>): void {
    for (const [endpoint, handler] of Object.entries(table)) this.add(endpoint as LabEndpoint, handler!);
  }

  /** Endpoints listed in LAB_ENDPOINTS without a handler (a wiring mistake). */
  missing(): string[] {
    return [...LAB_ENDPOINTS, ...ACCESS_ENDPOINTS].filter((e) => !this.#routes.some((r) => r.endpoint === e));
  }

  match(method: string, path: string): { route: CompiledRoute; pathParams: Record<string, string> } | undefined {
    const parts = path.split("/").filter(Boolean);
    for (const route of this.#routes) {
      if (route.method !== method || route.segments.length !== parts.length) continue;
      const pathParams: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = route.segments[i]!;
        const m = /^\{(.+)\}$/.exec(seg);
        let part: string;
        try {
          part = decodeURIComponent(parts[i]!);
        } catch {
          part = parts[i]!;
        }
        if (m) pathParams[m[1]!] = part;
        else ok = seg === part;
      }
      if (ok) return { route, pathParams };
    }
    return undefined;
  }
}
