/**
 * Watch responses: a chunked JSON stream of `{"type","object"}` lines. A newline goes out first
 * so the response headers are flushed at once (kubectl wait would otherwise block); watches end
 * at `timeoutSeconds` (default 30–60 min, as upstream), when the client goes away, when the
 * client cannot keep up, or at shutdown.
 * @module
 */
import { expired } from "../lib/api-errors.ts";
import type { KObject } from "../lib/kobject.ts";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { takeFault } from "../lib/faults.ts";
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

/** Where a watch's lines go: the node response itself, or a web stream (in-process requests). */
interface WatchSink {
  /** Returns false when the client is too far behind. */
  write(line: string): boolean;
  end(): void;
}

/** Minimal view of node's ServerResponse used for direct writes. */
export interface NodeResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string, cb?: () => void): boolean;
  end(): unknown;
  writableLength?: number;
  socket?: { write(chunk: string | Uint8Array): boolean; writableLength?: number } | null;
  on(event: "close", cb: () => void): unknown;
}

/**
 * A sink on node's response. Once the headers and the first chunk are on the wire, each event
 * goes to the socket as one complete HTTP chunk in one write, skipping the HTTP layer's
 * per-write buffering (the fan-out to many watchers is the hot path); the response's own end()
 * still writes the final chunk.
 */
/**
 * The HTTP chunk for a line, encoded once: every watcher of an event sends the same bytes, and
 * the last line is remembered because a fan-out writes it to each socket in a row.
 */
let lastLine = "";
let lastChunk = Buffer.alloc(0);
function chunkOf(line: string): Buffer {
  if (line !== lastLine) {
    const body = Buffer.from(line);
    lastChunk = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n")]);
    lastLine = line;
  }
  return lastChunk;
}

function nodeSink(res: NodeResponse): WatchSink {
  let direct = false;
  let ending = false;
  const queued: string[] = [];
  res.write("\n", () => {
    direct = Boolean(res.socket);
    for (const line of queued.splice(0)) write(line);
    if (ending) res.end();
  });
  const write = (line: string): boolean => {
    if (!direct) {
      queued.push(line);
      return true;
    }
    const socket = res.socket;
    if (!socket) return false;
    socket.write(chunkOf(line));
    return (socket.writableLength ?? 0) < MAX_QUEUED_BYTES;
  };
  const end = () => {
    if (direct) res.end();
    else ending = true;
  };
  return { write, end };
}

export function serveWatch(
  d: ResourceHandlerDeps,
  req: Request,
  r: Resolved,
  namespace: string | undefined,
  q: ResourceQuery,
  neg: Negotiated,
  meta: RequestMeta,
  nodeRes?: NodeResponse,
): Response {
  meta.verb = "WATCH";
  let handle: WatchHandle | undefined;
  let timers: ReturnType<typeof setTimeout>[] = [];
  let closed = false;
  let sentColumns = false;
  let events = 0;
  let sink: WatchSink | undefined;
  const early: string[] = [];
  let unregister = () => {};

  const close = () => {
    if (closed) return;
    closed = true;
    handle?.stop();
    for (const t of timers) clearTimeout(t);
    timers = [];
    unregister();
    d.onWatchEvents?.(r.resource.group, r.version.name, r.resource.kind, events);
    sink?.end();
  };

  const encode = (e: WatchEvent): string => {
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
    return `{"type":"${e.type}","object":${body}}\n`;
  };

  const send = (e: WatchEvent) => {
    if (closed) return;
    events++;
    const line = encode(e);
    if (!sink) early.push(line);
    else if (!sink.write(line)) close();
    if (e.type === "ERROR") close();
  };

  // Start the watch before any byte is sent: a bad selector or resourceVersion must still
  // become an error response. Events produced meanwhile wait in `early`.
  if (q.resourceVersion && q.resourceVersion !== "0" && takeFault("watch-expired")) {
    send({ type: "ERROR", object: expired(`too old resource version: ${q.resourceVersion} (${Number(q.resourceVersion) + 1})`).toStatus() });
  } else {
    handle = watch(d.rest, r, namespace, q, send);
  }

  const headers = { "Content-Type": "application/json", "Cache-Control": "no-cache, private" };
  let response: Response;
  if (nodeRes) {
    nodeRes.writeHead(200, { ...headers, "Transfer-Encoding": "chunked" });
    // The first write flushes the headers at once (kubectl wait blocks until it sees them).
    sink = nodeSink(nodeRes);
    nodeRes.on("close", close);
    response = RESPONSE_ALREADY_SENT;
  } else {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
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
    sink = {
      write: (line) => {
        controller.enqueue(encoder.encode(line));
        return (controller.desiredSize ?? 0) > -MAX_QUEUED_BYTES;
      },
      end: () => {
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      },
    };
    response = new Response(stream, { status: 200, headers });
  }
  for (const line of early.splice(0)) sink.write(line);
  if (closed) {
    sink.end();
    return response;
  }
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
  return response;
}
