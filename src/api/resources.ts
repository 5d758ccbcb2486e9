/**
 * HTTP for resource paths: maps method + path to a registry verb, decodes the body, renders
 * the result as an object, a list, a Table or PartialObjectMetadata, or streams a watch.
 * @module
 */
import { ApiError, badRequest, methodNotAllowed, pathNotFound, unsupportedMediaType } from "../lib/api-errors.ts";
import { evictionDeleteOptions } from "../registry/builtin/pod.ts";
import type { KObject } from "../lib/kobject.ts";
import type { Resolved } from "../registry/registry.ts";
import type { RequestContext } from "../registry/rest/context.ts";
import { managerFromUserAgent } from "../registry/rest/context.ts";
import { create } from "../registry/rest/create.ts";
import { deleteCollection, deleteObject, parseDeleteOptions, type DeleteOptions } from "../registry/rest/delete.ts";
import type { RestDeps } from "../registry/rest/deps.ts";
import { get } from "../registry/rest/get.ts";
import { list } from "../registry/rest/list.ts";
import { CR_PATCH_UNSUPPORTED, PATCH_CONTENT_TYPES, patch } from "../registry/rest/patch.ts";
import { getScale, patchScale, updateScale } from "../registry/rest/scale.ts";
import { update, type Subresource } from "../registry/rest/update.ts";
import { partialObjectMetadata, toTable } from "../registry/table/table.ts";
import type { UserInfo } from "../registry/types.ts";
import { decodeBody, readBody } from "./decode.ts";
import { negotiate, type Negotiated } from "./negotiate.ts";
import { parseQuery, type ResourceQuery } from "./query.ts";
import type { ResourcePath } from "./request-info.ts";
import { jsonResponse, statusSuccess, warningHeaders } from "./respond.ts";
import { serveWatch, type NodeResponse, type WatchHub } from "./watch-stream.ts";

export interface ResourceHandlerDeps {
  rest: RestDeps;
  watches: WatchHub;
  /** Called with the number of events sent on a watch, for metrics. */
  onWatchEvents?: (group: string, version: string, kind: string, n: number) => void;
}

export interface RequestMeta {
  verb: string;
  resolved?: Resolved;
}

const TABLE_TYPE = (v: string) => `application/json;as=Table;v=${v};g=meta.k8s.io`;

function contextFor(user: UserInfo, q: ResourceQuery, req: Request): RequestContext {
  return {
    user,
    dryRun: q.dryRun,
    fieldManager: q.fieldManager ?? managerFromUserAgent(req.headers.get("user-agent") ?? undefined),
    fieldValidation: q.fieldValidation ?? "Ignore",
    warnings: [],
  };
}

/** A write is acknowledged only once it is committed (group commit: at the end of the tick). */
async function durable(d: ResourceHandlerDeps): Promise<void> {
  await d.rest.store.durable();
}

function objectResponse(obj: unknown, status: number, ctx: RequestContext, neg: Negotiated, pretty: boolean): Response {
  const headers = new Headers({ "Content-Type": "application/json" });
  for (const [k, v] of warningHeaders(ctx.warnings)) headers.append(k, v);
  let body = obj;
  if (neg.shape === "partial" && obj && typeof obj === "object" && (obj as KObject).metadata) body = partialObjectMetadata(obj as KObject, neg.partialVersion);
  return new Response(pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body), { status, headers });
}

async function readDecoded(req: Request, ctx: RequestContext, patch = false): Promise<unknown> {
  const bytes = await readBody(req);
  // Duplicate keys only matter to Strict (an error) and Warn (a warning).
  const decoded = decodeBody(bytes, req.headers.get("content-type"), { patch, checkDuplicates: ctx.fieldValidation !== "Ignore" });
  if (decoded.duplicateField) {
    if (ctx.fieldValidation === "Strict") throw badRequest(`strict decoding error: duplicate field "${decoded.duplicateField}"`);
    if (ctx.fieldValidation === "Warn") ctx.warnings.push(`duplicate field "${decoded.duplicateField}"`);
  }
  return decoded.value;
}

function resolve(d: ResourceHandlerDeps, path: ResourcePath): Resolved {
  const r = d.rest.registry.resolve(path.group, path.version, path.plural);
  if (!r) throw pathNotFound();
  if (!r.resource.namespaced && path.namespace !== undefined) throw pathNotFound();
  return r;
}

export function describeVerb(method: string, path: ResourcePath, q: URLSearchParams): string {
  const hasName = path.name !== undefined;
  switch (method) {
    case "GET":
    case "HEAD":
      if (q.get("watch") === "true" || q.get("watch") === "1") return "WATCH";
      return hasName ? "GET" : "LIST";
    case "POST":
      return "POST";
    case "PUT":
      return "PUT";
    case "PATCH":
      return "PATCH";
    case "DELETE":
      return hasName ? "DELETE" : "DELETECOLLECTION";
    default:
      return method;
  }
}

export async function handleResource(
  d: ResourceHandlerDeps,
  req: Request,
  url: URL,
  path: ResourcePath,
  user: UserInfo,
  meta: RequestMeta,
  nodeRes?: NodeResponse,
): Promise<Response> {
  const r = resolve(d, path);
  meta.resolved = r;
  const q = parseQuery(url.searchParams);
  const ctx = contextFor(user, q, req);
  const neg = negotiate(req.headers.get("accept"));
  const ns = path.namespace ?? "";
  const method = req.method === "HEAD" ? "GET" : req.method;
  const sub = path.subresource;
  if (sub && r.resource.postSubresources?.[sub]) {
    if (method !== "POST" || !path.name) throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    if (sub === "eviction") {
      const opts = parseDeleteOptions(evictionDeleteOptions(await readDecoded(req, ctx), path.name));
      const result = deleteObject(d.rest, r, ns, path.name, opts, ctx);
      await durable(d);
      return objectResponse(statusSuccess({ name: path.name, kind: "pods", uid: result.object.metadata.uid }), 201, ctx, { shape: "object" }, q.pretty);
    }
    throw pathNotFound();
  }
  if (sub && sub !== "status" && sub !== "scale" && !(sub === "finalize" && r.resource.plural === "namespaces" && !r.resource.group)) {
    throw pathNotFound();
  }
  if (sub === "status" && !r.version.subresources.status) throw pathNotFound();
  if (sub === "scale" && !r.version.subresources.scale) throw pathNotFound();
  if (r.resource.namespaced && path.name !== undefined && !path.namespace && method !== "POST") {
    throw pathNotFound();
  }

  if (path.name === undefined) {
    if (method === "GET") {
      if (q.watch) return serveWatch(d, req, r, path.namespace, q, neg, meta, nodeRes);
      const result = list(d.rest, r, path.namespace, q);
      if (neg.shape === "table") {
        const table = toTable(r.version, result.items, { includeObject: q.includeObject, tableVersion: neg.tableVersion, listMeta: result.metadata });
        return jsonResponse(table, 200, {}, TABLE_TYPE(neg.tableVersion ?? "v1"));
      }
      if (neg.shape === "partial") {
        return jsonResponse({ kind: "PartialObjectMetadataList", apiVersion: `meta.k8s.io/${neg.partialVersion}`, metadata: result.metadata, items: result.items.map((o) => partialObjectMetadata(o, neg.partialVersion)) });
      }
      return jsonResponse(q.pretty ? JSON.stringify(result, null, 2) : result);
    }
    if (method === "POST") {
      if (r.resource.namespaced && !path.namespace && !r.resource.hooks?.virtualCreate) {
        throw methodNotAllowed("the server does not allow this method on the requested resource (post across all namespaces)");
      }
      const body = await readDecoded(req, ctx);
      const obj = create(d.rest, r, path.namespace, body, ctx);
      await durable(d);
      return objectResponse(obj, 201, ctx, neg, q.pretty);
    }
    if (method === "DELETE") {
      const opts = await deleteOptions(req, q);
      if (opts.dryRun?.includes("All")) ctx.dryRun = true;
      const items = deleteCollection(d.rest, r, path.namespace, q, opts, ctx);
      await durable(d);
      return objectResponse({ apiVersion: r.resource.group ? `${r.resource.group}/${r.version.name}` : r.version.name, kind: r.resource.listKind, metadata: {}, items }, 200, ctx, { shape: "object" }, q.pretty);
    }
    throw methodNotAllowed();
  }

  const name = path.name;
  if (sub === "scale") {
    if (method === "GET") return objectResponse(getScale(d.rest, r, ns, name), 200, ctx, { shape: "object" }, q.pretty);
    if (method === "PUT") {
      const scale = updateScale(d.rest, r, ns, name, await readDecoded(req, ctx), ctx);
      await durable(d);
      return objectResponse(scale, 200, ctx, { shape: "object" }, q.pretty);
    }
    if (method === "PATCH") {
      const type = patchType(req);
      const scale = patchScale(d.rest, r, ns, name, type, await readDecoded(req, ctx, true), ctx);
      await durable(d);
      return objectResponse(scale, 200, ctx, { shape: "object" }, q.pretty);
    }
    throw methodNotAllowed();
  }
  switch (method) {
    case "GET": {
      if (sub === "finalize") throw methodNotAllowed();
      const obj = get(d.rest, r, ns, name);
      if (neg.shape === "table") {
        const table = toTable(r.version, [obj], { includeObject: q.includeObject, tableVersion: neg.tableVersion, listMeta: { resourceVersion: obj.metadata.resourceVersion } });
        return jsonResponse(table, 200, {}, TABLE_TYPE(neg.tableVersion ?? "v1"));
      }
      return objectResponse(obj, 200, ctx, neg, q.pretty);
    }
    case "PUT": {
      const body = await readDecoded(req, ctx);
      const { object, created } = update(d.rest, r, ns, name, body, ctx, sub as Subresource | undefined);
      await durable(d);
      return objectResponse(object, created ? 201 : 200, ctx, neg, q.pretty);
    }
    case "PATCH": {
      if (sub === "finalize") throw methodNotAllowed();
      const type = patchType(req);
      // Refused before the body is read: a custom resource takes no strategic merge patch.
      if (type === "strategic" && r.resource.custom) throw unsupportedMediaType(CR_PATCH_UNSUPPORTED);
      if (type !== "apply" && q.force) throw badRequest("force: Invalid value: true: may not be specified for non-apply patch");
      const body = await readDecoded(req, ctx, true);
      const { object, created } = patch(d.rest, r, ns, name, type, body, ctx, { force: q.force, subresource: sub as Subresource | undefined });
      await durable(d);
      return objectResponse(object, created ? 201 : 200, ctx, neg, q.pretty);
    }
    case "DELETE": {
      if (sub) throw methodNotAllowed();
      const opts = await deleteOptions(req, q);
      if (opts.dryRun?.includes("All")) ctx.dryRun = true;
      const result = deleteObject(d.rest, r, ns, name, opts, ctx);
      await durable(d);
      if (result.kind === "terminating") return objectResponse(result.object, 200, ctx, neg, q.pretty);
      const o = result.object;
      return objectResponse(statusSuccess({ name: o.metadata.name, group: r.resource.group || undefined, kind: r.resource.plural, uid: o.metadata.uid }), 200, ctx, { shape: "object" }, q.pretty);
    }
    case "POST":
      throw methodNotAllowed();
    default:
      throw methodNotAllowed();
  }
}

function patchType(req: Request) {
  const ct = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const type = PATCH_CONTENT_TYPES[ct];
  if (!type || ct === "application/apply-patch+cbor") {
    throw unsupportedMediaType(
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
    );
  }
  return type;
}

async function deleteOptions(req: Request, q: ResourceQuery): Promise<DeleteOptions> {
  const bytes = await readBody(req);
  let opts: DeleteOptions = {};
  if (bytes.byteLength > 0) {
    const decoded = decodeBody(bytes, req.headers.get("content-type"));
    opts = parseDeleteOptions(decoded.value);
  }
  if (q.propagationPolicy !== undefined) opts = { ...opts, ...parseDeleteOptions({ propagationPolicy: q.propagationPolicy }) };
  if (q.orphanDependents !== undefined && !opts.propagationPolicy) opts.propagationPolicy = q.orphanDependents ? "Orphan" : "Background";
  if (q.gracePeriodSeconds !== undefined) opts.gracePeriodSeconds = q.gracePeriodSeconds;
  if (q.dryRun) opts.dryRun = ["All"];
  return opts;
}

