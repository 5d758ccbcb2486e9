/**
 * WATCH: synthetic ADDED events for the current state (resourceVersion unset or 0), or a replay
 * of the change log after a given revision, then live changes — all delivered in revision
 * order without gaps (the replay and the subscription happen in the same tick). Selector
 * transitions become ADDED/DELETED as upstream. A revision older than the log → one ERROR
 * event (410 Expired).
 * @module
 */
import { expired, methodNotAllowed, type Status } from "../../lib/api-errors.ts";
import type { KObject } from "../../lib/kobject.ts";
import { CompactedError, type Change } from "../../store/store.ts";
import type { Resolved } from "../registry.ts";
import { apiVersionOf } from "../types.ts";
import { toVersion } from "./codec.ts";
import { parseRow, type RestDeps } from "./deps.ts";
import { compileFilter, type SelectorOptions } from "./filter.ts";
import { listRevision } from "./list.ts";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent {
  type: WatchEventType;
  object: KObject | Status;
}

export interface WatchOptions extends SelectorOptions {
  resourceVersion?: string;
  resourceVersionMatch?: string;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
}

export interface WatchHandle {
  /** Stops delivery. */
  stop(): void;
  /** Sends a BOOKMARK at the current revision (no-op unless bookmarks were allowed). */
  bookmark(): void;
}

const INITIAL_EVENTS_END = "k8s.io/initial-events-end";

export function watch(
  d: RestDeps,
  r: Resolved,
  namespace: string | undefined,
  opts: WatchOptions,
  send: (e: WatchEvent) => void,
): WatchHandle {
  const { resource, version } = r;
  if (!resource.verbs.includes("watch")) throw methodNotAllowed();
  const filter = compileFilter(r, opts);
  const ns = resource.namespaced ? namespace || undefined : undefined;
  const apiVersion = apiVersionOf(resource.group, version.name);
  let lastRv = 0;
  let stopped = false;

  const inScope = (c: Change) => c.resource === resource.qualified && (ns === undefined || c.namespace === ns);
  const out = (type: WatchEventType, obj: KObject) => send({ type, object: toVersion(resource, obj, version.name) });

  const deliver = (c: Change) => {
    if (stopped || c.rv <= lastRv || !inScope(c)) return;
    lastRv = c.rv;
    const now = c.object;
    if (c.type === "ADDED") {
      if (filter(now)) out("ADDED", now);
      return;
    }
    const before = c.prev;
    const was = before ? filter(before) : false;
    if (c.type === "DELETED") {
      if (was || (!before && filter(now))) out("DELETED", now);
      return;
    }
    const is = filter(now);
    if (is && was) out("MODIFIED", now);
    else if (is) out("ADDED", now);
    else if (was && before) out("DELETED", { ...before, metadata: { ...before.metadata, resourceVersion: String(c.rv) } });
  };

  const bookmarkObject = (rv: number, extra?: Record<string, string>): KObject => ({
    apiVersion,
    kind: resource.kind,
    metadata: { resourceVersion: String(rv), ...(extra ? { annotations: extra } : {}) },
  });

  const rvText = opts.resourceVersion ?? "";
  const initial = opts.sendInitialEvents ?? (rvText === "" || rvText === "0");
  try {
    if (initial) {
      const { atRevision } = rvText && rvText !== "0" ? listRevision(d, { resourceVersion: rvText, resourceVersionMatch: opts.resourceVersionMatch }) : { atRevision: undefined };
      const rows = d.store.list(resource.qualified, { namespace: ns, atRevision }).rows;
      lastRv = atRevision ?? d.store.revision;
      for (const row of rows) {
        const obj = parseRow(row);
        if (filter(obj)) out("ADDED", obj);
      }
      if (opts.sendInitialEvents && opts.allowWatchBookmarks) {
        send({ type: "BOOKMARK", object: bookmarkObject(lastRv, { [INITIAL_EVENTS_END]: "true" }) });
      }
      if (atRevision !== undefined) replay(atRevision);
    } else {
      const from = Number(rvText);
      if (!Number.isInteger(from) || from < 0) throw expired(`invalid resource version: ${rvText}`);
      lastRv = from;
      replay(from);
    }
  } catch (e) {
    if (e instanceof CompactedError) {
      send({ type: "ERROR", object: expired(`too old resource version: ${e.requested} (${e.compacted})`).toStatus() });
      return { stop() {}, bookmark() {} };
    }
    throw e;
  }
  const unsubscribe = d.store.subscribe(deliver);

  function replay(from: number): void {
    let after = from;
    for (;;) {
      const batch = d.store.changesSince(after, resource.qualified);
      if (batch.length === 0) break;
      for (const c of batch) deliver(c);
      after = batch[batch.length - 1]!.rv;
    }
    lastRv = Math.max(lastRv, d.store.revision);
  }

  return {
    stop() {
      stopped = true;
      unsubscribe();
    },
    bookmark() {
      if (!stopped && opts.allowWatchBookmarks) send({ type: "BOOKMARK", object: bookmarkObject(Math.max(lastRv, d.store.revision)) });
    },
  };
}
