/**
 * Watch responses: a chunked JSON stream of `{"type","object"}` lines. A newline goes out first
 * so the response headers are flushed at once (kubectl wait would otherwise block); watches end
 * at `timeoutSeconds` (default 30–60 min, as upstream), when the client goes away, when the
 * client cannot keep up, or at shutdown.
 * @module
 */
import { expired } from "../lib/api-errors.ts";
import type { KObject } from "../lib/kobject.ts";
import { takeFault } from "./faults.ts";
import type { Resolved } from "../registry/registry.ts";
import { watch, type WatchEvent, type WatchHandle } from "../registry/rest/watch.ts";
import { toTable } from "../registry/table/table.ts";
import type { Negotiated } from "./negotiate.ts";
import type { ResourceQuery } from "./query.ts";
import type { RequestMeta, ResourceHandlerDeps } from "./resources.ts";

const BOOKMARK_INTERVAL_MS = 60_000;
/** A watcher this far behind is cut off; it re-lists or re-watches. */
const MAX_QUEUED_BYTES = 32 * 1024 * 1024;

export class WatchHub {
  #open = new Set<() => void>();

  get size(): number {
    return this.#open.size;
  }

  add(close: () => void): () => void {
    this.#open.add(close);
    return () => this.#open.delete(close);
  }

  closeAll(): void {
    for (const close of [...this.#open]) close();
    this.#open.clear();
  }
}

const encoder = new TextEncoder();

/** One serialisation per object, shared by every watcher that sends the same object. */
const encodedObjects = new WeakMap<object, string>();
function objectJson(o: object): string {
  let s = encodedObjects.get(o);
  if (s === undefined) {
    s = JSON.stringify(o);
    encodedObjects.set(o, s);
  }
  return s;
}

export function serveWatch(
  d: ResourceHandlerDeps,
  req: Request,
  r: Resolved,
  namespace: string | undefined,
  q: ResourceQuery,
  neg: Negotiated,
  meta: RequestMeta,
): Response {
  meta.verb = "WATCH";
  let handle: WatchHandle | undefined;
  let timers: ReturnType<typeof setTimeout>[] = [];
  let closed = false;
  let sentColumns = false;
  let events = 0;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let unregister = () => {};

  const close = () => {
    if (closed) return;
    closed = true;
    handle?.stop();
    for (const t of timers) clearTimeout(t);
    timers = [];
    unregister();
    d.onWatchEvents?.(r.resource.group, r.version.name, r.resource.kind, events);
    try {
      controller.close();
    } catch {
      // already closed by the client
    }
  };

  const encode = (e: WatchEvent): Uint8Array => {
    let object: unknown = e.object;
    if (neg.shape === "table" && (e.type === "ADDED" || e.type === "MODIFIED" || e.type === "DELETED")) {
      object = toTable(r.version, [e.object as KObject], {
        includeObject: q.includeObject,
        withColumns: !sentColumns,
        tableVersion: neg.tableVersion,
        listMeta: { resourceVersion: (e.object as KObject).metadata.resourceVersion },
      });
      sentColumns = true;
    }
    const body = object === e.object ? objectJson(object as object) : JSON.stringify(object);
    return encoder.encode(`{"type":${JSON.stringify(e.type)},"object":${body}}\n`);
  };

  const send = (e: WatchEvent) => {
    if (closed) return;
    events++;
    controller.enqueue(encode(e));
    if ((controller.desiredSize ?? 0) < -MAX_QUEUED_BYTES) close();
    if (e.type === "ERROR") close();
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        c.enqueue(encoder.encode("\n"));
      },
      cancel() {
        close();
      },
    },
    { highWaterMark: 0, size: (chunk) => chunk?.byteLength ?? 0 },
  );

  // Starting the watch may throw (bad selector, too-large RV): that must become an error response.
  if (q.resourceVersion && q.resourceVersion !== "0" && takeFault("watch-expired")) {
    send({ type: "ERROR", object: expired(`too old resource version: ${q.resourceVersion} (${Number(q.resourceVersion) + 1})`).toStatus() });
    return new Response(stream, { status: 200, headers: { "Content-Type": "application/json" } });
  }
  handle = watch(d.rest, r, namespace, q, send);
  if (closed) handle.stop();
  unregister = d.watches.add(close);
  const timeoutMs = q.timeoutSeconds ? q.timeoutSeconds * 1000 : (1800 + Math.random() * 1800) * 1000;
  timers.push(setTimeout(close, timeoutMs));
  if (q.allowWatchBookmarks) {
    const tick = () => {
      handle?.bookmark();
      if (!closed) timers.push(setTimeout(tick, BOOKMARK_INTERVAL_MS));
    };
    timers.push(setTimeout(tick, BOOKMARK_INTERVAL_MS));
  }
  req.signal?.addEventListener?.("abort", close);
  return new Response(stream, {
    status: 200,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" },
  });
}
