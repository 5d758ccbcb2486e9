/**
 * LIST with selectors, paging (limit/continue from one snapshot) and resourceVersion semantics.
 * @module
 */
import { ApiError, badRequest, expired, methodNotAllowed } from "../../lib/api-errors.ts";
import type { KObject } from "../../lib/kobject.ts";
import { CompactedError } from "../../store/store.ts";
import type { Resolved } from "../registry.ts";
import { apiVersionOf } from "../types.ts";
import { toVersion } from "./codec.ts";
import { parseRow, type RestDeps } from "./deps.ts";
import { compileFilter, type SelectorOptions } from "./filter.ts";

export interface ListOptions extends SelectorOptions {
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KObject[];
}

interface ContinueToken {
  v: 1;
  rv: number;
  ns: string;
  name: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify(t)).toString("base64url");
}

function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, "base64url").toString()) as ContinueToken;
    if (t.v === 1 && Number.isInteger(t.rv) && typeof t.ns === "string" && typeof t.name === "string") return t;
  } catch {
    // fall through
  }
  throw badRequest("invalid continue token: the continue value is not valid");
}

function parseRv(s: string, what = "resourceVersion"): number {
  if (!/^\d+$/.test(s)) throw badRequest(`invalid ${what}: ${s}`);
  return Number(s);
}

function tooLarge(requested: number, current: number): ApiError {
  return new ApiError(504, "Timeout", `Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
    retryAfterSeconds: 1,
  });
}

/** Resolves the revision a list reads at (also used by watch-list). */
export function listRevision(d: RestDeps, opts: ListOptions): { atRevision?: number; after?: { namespace: string; name: string } } {
  const match = opts.resourceVersionMatch;
  if (match !== undefined && match !== "" && match !== "NotOlderThan" && match !== "Exact") {
    throw badRequest(`resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
  }
  if (opts.continue) {
    if (opts.resourceVersion && opts.resourceVersion !== "0") throw badRequest("specifying resource version is not allowed when using continue");
    if (match) throw badRequest("resourceVersionMatch is forbidden when continue is provided");
    const t = decodeContinue(opts.continue);
    if (t.rv < d.store.compactedRevision) {
      throw expired(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
      );
    }
    return { atRevision: t.rv, after: { namespace: t.ns, name: t.name } };
  }
  const rvText = opts.resourceVersion;
  if (!rvText) {
    if (match) throw badRequest("resourceVersionMatch is forbidden unless resourceVersion is provided");
    return {};
  }
  const rv = parseRv(rvText);
  const current = d.store.revision;
  if (match === "Exact") {
    if (rv === 0) throw badRequest('resourceVersionMatch "Exact" is forbidden for resourceVersion "0"');
    if (rv > current) throw tooLarge(rv, current);
    return { atRevision: rv };
  }
  if (rv > current) throw tooLarge(rv, current);
  return {};
}

export function list(d: RestDeps, r: Resolved, namespace: string | undefined, opts: ListOptions = {}): ListResult {
  const { resource, version } = r;
  if (!resource.verbs.includes("list")) throw methodNotAllowed();
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 0)) throw badRequest(`invalid limit: ${opts.limit}`);
  const filter = compileFilter(r, opts);
  const { atRevision, after } = listRevision(d, opts);
  const limit = opts.limit && opts.limit > 0 ? opts.limit : undefined;
  const ns = resource.namespaced ? namespace || undefined : undefined;
  const items: KObject[] = [];
  let cursor = after;
  let revision = atRevision;
  let more = false;
  let lastKey: { namespace: string; name: string } | undefined;
  try {
    for (;;) {
      const want = limit ? limit - items.length : undefined;
      const batch = d.store.list(resource.qualified, { namespace: ns, atRevision: revision, after: cursor, limit: want ? Math.max(want, 50) : undefined });
      revision = batch.revision;
      let i = 0;
      for (; i < batch.rows.length; i++) {
        const row = batch.rows[i]!;
        const obj = parseRow(row);
        cursor = { namespace: row.namespace, name: row.name };
        if (!filter(obj)) continue;
        items.push(toVersion(resource, obj, version.name));
        lastKey = cursor;
        if (limit && items.length >= limit) {
          i++;
          break;
        }
      }
      const leftInBatch = i < batch.rows.length;
      if (limit && items.length >= limit) {
        more = leftInBatch || batch.more;
        break;
      }
      if (!batch.more) break;
    }
  } catch (e) {
    if (e instanceof CompactedError) throw expired(`too old resource version: ${e.requested} (${e.compacted})`);
    throw e;
  }
  const metadata: ListResult["metadata"] = { resourceVersion: String(revision ?? d.store.revision) };
  if (more && lastKey) {
    metadata.continue = encodeContinue({ v: 1, rv: revision!, ns: lastKey.namespace, name: lastKey.name });
    if (filter.matchesAll && revision === d.store.revision) {
      metadata.remainingItemCount = d.store.countAfter(resource.qualified, ns, lastKey);
    }
  }
  return { apiVersion: apiVersionOf(resource.group, version.name), kind: resource.listKind, metadata, items };
}
