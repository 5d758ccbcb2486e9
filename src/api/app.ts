/**
 * The Hono application: authentication, metrics, health, version, discovery, OpenAPI and the
 * resource paths. Transport-free: `server.ts` feeds it from TLS sockets, tests call `app.request`.
 * @module
 */
import { Hono, type Context } from "hono";
import { ApiError, pathNotFound, unauthorized } from "../lib/api-errors.ts";
import type { RestDeps } from "../registry/rest/deps.ts";
import type { UserInfo } from "../registry/types.ts";
import { ANONYMOUS_PATHS, Authenticator, requireAllowed, type PeerIdentity } from "./auth.ts";
import { aggregatedContentType, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from "./discovery.ts";
import { healthResponse, type HealthCheck } from "./health.ts";
import type { ApiMetrics } from "./metrics.ts";
import type { OpenApiCache } from "./openapi.ts";
import { OPENAPI_V2_PROTOBUF, openApiV2Protobuf } from "./openapi-v2-proto.ts";
import { parseApiPath } from "./request-info.ts";
import { describeVerb, handleResource, type RequestMeta } from "./resources.ts";
import { errorResponse, jsonResponse } from "./respond.ts";
import type { NodeResponse, WatchHub } from "./watch-stream.ts";

export const KUBERNETES_VERSION = { major: "1", minor: "32", patch: "0" };

export interface AppOptions {
  rest: RestDeps;
  authenticator: Authenticator;
  metrics: ApiMetrics;
  watches: WatchHub;
  openapi: OpenApiCache;
  health: { live: HealthCheck[]; ready: HealthCheck[] };
  version: string;
  /** host:port clients should use, for /api's serverAddressByClientCIDRs. */
  serverAddress: () => string;
}

export type Env = { Bindings: { incoming?: { socket?: { capxPeer?: PeerIdentity } }; outgoing?: NodeResponse; peer?: PeerIdentity } };

const RBAC_VERB: Record<string, string> = {
  GET: "get",
  LIST: "list",
  WATCH: "watch",
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
  DELETECOLLECTION: "deletecollection",
};

export function versionInfo(appVersion: string) {
  const { major, minor, patch } = KUBERNETES_VERSION;
  return {
    major,
    minor,
    gitVersion: `v${major}.${minor}.${patch}-capx+${appVersion}`,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2026-11-24T00:00:00Z",
    goVersion: `bun${Bun.version}`,
    compiler: "bun",
    platform: `${process.platform}/${process.arch === "x64" ? "amd64" : process.arch}`,
  };
}

function peerOf(c: Context<Env>): PeerIdentity | undefined {
  return c.env?.peer ?? c.env?.incoming?.socket?.capxPeer;
}

export function buildApp(o: AppOptions): Hono<Env> {
  const app = new Hono<Env>();

  app.use("*", async function metricsAndErrors(c, next) {
    const started = performance.now();
    const meta: RequestMeta = { verb: c.req.method };
    c.set("meta" as never, meta as never);
    const kind = c.req.method === "GET" ? "readOnly" : "mutating";
    o.metrics.inflight(kind, 1);
    try {
      await next();
    } catch (e) {
      c.res = errorResponse(e, () => o.metrics.busy());
    } finally {
      o.metrics.inflight(kind, -1);
    }
    const r = meta.resolved;
    const labels = {
      verb: meta.verb,
      group: r?.resource.group ?? "",
      version: r?.version.name ?? "",
      resource: r?.resource.plural ?? "",
      subresource: "",
      scope: r ? (r.resource.namespaced ? "namespace" : "cluster") : "",
      component: "apiserver",
    };
    o.metrics.request(labels, c.res.status, meta.verb === "WATCH" ? undefined : (performance.now() - started) / 1000);
  });

  app.onError((e) => errorResponse(e, () => o.metrics.busy()));

  app.use("*", async function authenticate(c, next) {
    const user = o.authenticator.authenticate(c.req.raw, peerOf(c));
    const path = new URL(c.req.url).pathname;
    if (!user && !ANONYMOUS_PATHS.has(path)) throw unauthorized();
    c.set("user" as never, user as never);
    await next();
  });

  const health = (kind: string, checks: () => HealthCheck[]) => (c: Context<Env>) => healthResponse(kind, checks(), new URL(c.req.url).searchParams);
  app.get("/livez", health("livez", () => o.health.live));
  app.get("/readyz", health("readyz", () => o.health.ready));
  app.get("/healthz", health("healthz", () => o.health.ready.filter((h) => h.name !== "shutdown")));
  for (const p of ["/livez/:check", "/readyz/:check", "/healthz/:check"]) {
    app.get(p, (c) => {
      const all = p.startsWith("/livez") ? o.health.live : o.health.ready;
      const one = all.filter((h) => h.name === c.req.param("check"));
      if (one.length === 0) throw pathNotFound();
      return healthResponse(p.split("/")[1]!, one, new URL(c.req.url).searchParams);
    });
  }
  app.get("/version", () => jsonResponse(versionInfo(o.version)));
  app.get("/metrics", async () => {
    const m = await o.metrics.render(o.rest.store.revision);
    return new Response(m.body, { headers: { "Content-Type": m.contentType } });
  });

  app.get("/openapi/v3", () => jsonResponse(o.openapi.index()));
  app.get("/openapi/v3/*", (c) => {
    const url = new URL(c.req.url);
    const key = url.pathname.slice("/openapi/v3/".length);
    const doc = o.openapi.document(key);
    if (!doc) throw pathNotFound();
    const headers: Record<string, string> = { ETag: `"${doc.hash}"` };
    if (url.searchParams.get("hash") === doc.hash) headers["Cache-Control"] = "public, immutable";
    else headers["Cache-Control"] = "no-cache, private";
    if (c.req.header("if-none-match") === `"${doc.hash}"`) return new Response(null, { status: 304, headers });
    return jsonResponse(doc.body, 200, headers);
  });
  app.get("/openapi/v2", (c) => {
    const accept = c.req.header("accept") ?? "";
    if (accept.includes(OPENAPI_V2_PROTOBUF)) return new Response(openApiV2Protobuf(), { headers: { "Content-Type": "application/octet-stream" } });
    if (accept && !/application\/json|\*\/\*/.test(accept)) throw pathNotFound();
    return jsonResponse(o.openapi.v2());
  });

  app.all("*", async (c) => {
    const url = new URL(c.req.url);
    const parsed = parseApiPath(url.pathname);
    const user = c.get("user" as never) as UserInfo;
    const accept = c.req.header("accept") ?? null;
    if (parsed.kind !== "resource" && c.req.method !== "GET" && c.req.method !== "HEAD") {
      if (parsed.kind === "unknown") throw pathNotFound();
      throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    }
    switch (parsed.kind) {
      case "root": {
        const agg = wantsAggregated(accept);
        if (agg) return jsonResponse(aggregatedDiscovery(o.rest.registry, parsed.legacy, agg), 200, {}, aggregatedContentType(agg));
        return jsonResponse(parsed.legacy ? apiVersions(o.serverAddress()) : apiGroupList(o.rest.registry));
      }
      case "group": {
        const g = apiGroup(o.rest.registry, parsed.group);
        if (!g) throw pathNotFound();
        return jsonResponse(g);
      }
      case "group-version": {
        if (parsed.group === "" && url.pathname.startsWith("/apis/")) throw pathNotFound();
        const list = apiResourceList(o.rest.registry, parsed.group, parsed.version);
        if (!list) throw pathNotFound();
        return jsonResponse(list);
      }
      case "resource": {
        const meta = c.get("meta" as never) as RequestMeta;
        const p = parsed.path;
        if (p.group === "" && url.pathname.startsWith("/apis/")) throw pathNotFound();
        meta.verb = describeVerb(c.req.method, p, url.searchParams);
        if (c.req.method === "PATCH" && (c.req.header("content-type") ?? "").startsWith("application/apply-patch")) meta.verb = "APPLY";
        requireAllowed(user, RBAC_VERB[meta.verb === "APPLY" ? "PATCH" : meta.verb] ?? "get", {
          group: p.group,
          resource: p.subresource ? `${p.plural}/${p.subresource}` : p.plural,
          namespace: p.namespace,
          name: p.name,
        });
        const deps = { rest: o.rest, watches: o.watches, onWatchEvents: (group: string, version: string, kind: string, n: number) => o.metrics.watchEvents(group, version, kind, n) };
        return handleResource(deps, c.req.raw, url, p, user, meta, c.env?.outgoing);
      }
      default:
        throw pathNotFound();
    }
  });
  return app;
}
