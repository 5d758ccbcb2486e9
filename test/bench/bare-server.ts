/**
 * The baseline servers: the least a Bun HTTPS server must do for the same requests, with no
 * Kubernetes API machinery. `bun bare-server.ts '{"mode":"node"|"bun","pkiDir":...,"db":...,"sync":...}'`
 *
 * - mode `node`: node:tls (client certificate requested, verified against the CA, identity
 *   recorded per socket) handing sockets to node:http — the daemon's transport, minus Hono.
 * - mode `bun`: Bun.serve with TLS (client certificate requested as well).
 * - mode `hono` (a layer probe, not a baseline): mode `node` with the requests going through
 *   @hono/node-server's getRequestListener and a Hono app — the daemon's exact transport stack
 *   with the same minimal handler.
 *
 * Routes: GET /readyz; POST /api/v1/namespaces/NS/configmaps (JSON.parse, stamp uid/
 * creationTimestamp/resourceVersion, JSON.stringify, one IMMEDIATE transaction with an
 * `objects` row + a `changes` row — the daemon's schema and PRAGMAs via src/store/open.ts —,
 * fan the event out to the watchers, answer 201 with the object); GET .../configmaps?watch=1
 * (a chunked stream of `{"type","object"}` lines, a newline first); GET /stats (connections).
 * Prints `{"port":N}` when listening.
 * @module
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import type { Database } from "bun:sqlite";

interface Options {
  mode: "node" | "bun" | "hono";
  pkiDir: string;
  /** SQLite file; without it POST only parses and answers (for startup/RSS baselines no request is made). */
  db?: string;
  sync?: "FULL" | "NORMAL";
  port?: number;
}

const o = JSON.parse(process.argv[2] ?? "{}") as Options;
const pem = (f: string) => readFileSync(join(o.pkiDir, f), "utf8");
const certPem = pem("serving.crt");
const keyPem = pem("serving.key");
const caPem = pem("ca.crt");

let db: Database | undefined;
let insert: ((key: [string, string, string], uid: string, rv: number, body: string) => void) | undefined;
let rev = 0;
if (o.db) {
  // Imported only when needed, so the startup baseline does not load drizzle.
  const { openDatabase } = await import("../../src/store/open.ts");
  db = openDatabase(o.db, { synchronous: o.sync ?? "FULL" });
  const ins = db.query("INSERT INTO objects (resource, namespace, name, uid, rv, body, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const log = db.query("INSERT INTO changes (rv, resource, namespace, name, type, body, prev_body, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  const tx = db.transaction((key: [string, string, string], uid: string, rv: number, body: string) => {
    ins.run(key[0], key[1], key[2], uid, rv, body, null);
    log.run(rv, key[0], key[1], key[2], "ADDED", body, null, Date.now());
  });
  insert = (key, uid, rv, body) => tx.immediate(key, uid, rv, body);
  rev = (db.query("SELECT MAX(rv) AS m FROM changes").get() as { m: number | null }).m ?? 0;
}

const PATH = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps$/;

/** Fan-out targets: each gets every event line. */
const watchers = new Set<(line: Uint8Array) => void>();
const encoder = new TextEncoder();

/** The create itself; returns [status, body]. */
function create(namespace: string, text: string): [number, string] {
  let obj: { metadata: Record<string, unknown> };
  try {
    obj = JSON.parse(text);
  } catch {
    return [400, '{"kind":"Status","code":400}'];
  }
  const name = String(obj.metadata?.name ?? "");
  if (!name) return [422, '{"kind":"Status","code":422}'];
  obj.metadata.namespace = namespace;
  obj.metadata.uid = randomUUID();
  obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const rv = rev + 1;
  obj.metadata.resourceVersion = String(rv);
  const body = JSON.stringify(obj);
  if (insert) {
    try {
      insert(["configmaps", namespace, name], obj.metadata.uid as string, rv, body);
    } catch (e) {
      if (/UNIQUE|PRIMARY/.test(String(e))) return [409, '{"kind":"Status","code":409}'];
      throw e;
    }
  }
  rev = rv;
  if (watchers.size) {
    const line = encoder.encode(`{"type":"ADDED","object":${body}}\n`);
    for (const w of watchers) w(line);
  }
  return [201, body];
}

let connections = 0;

/** node:http request handler of modes `node` and `hono`. */
let handler: http.RequestListener;

if (o.mode === "hono") {
  const { Hono } = await import("hono");
  const { getRequestListener } = await import("@hono/node-server");
  const app = new Hono<{ Bindings: { incoming?: { socket?: { peerUser?: string } } } }>();
  const json = { "content-type": "application/json" };
  app.get("/readyz", () => new Response("ok", { headers: { "content-type": "text/plain; charset=utf-8" } }));
  app.use("*", async (c, next) => {
    if (!c.env?.incoming?.socket?.peerUser) return new Response('{"kind":"Status","code":401}', { status: 401, headers: json });
    await next();
  });
  app.post("/api/v1/namespaces/:ns/configmaps", async (c) => {
    const [status, body] = create(c.req.param("ns"), await c.req.text());
    return new Response(body, { status, headers: json });
  });
  app.get("/api/v1/namespaces/:ns/configmaps", (c) => {
    let w: ((line: Uint8Array) => void) | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(encoder.encode("\n"));
        w = (line) => ctl.enqueue(line);
        watchers.add(w);
      },
      cancel() {
        if (w) watchers.delete(w);
      },
    });
    return new Response(stream, { headers: { ...json, "cache-control": "no-cache, private" } });
  });
  handler = getRequestListener(app.fetch as Parameters<typeof getRequestListener>[0]) as unknown as http.RequestListener;
} else {
  handler = (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (path === "/readyz") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      res.end("ok");
      return;
    }
    if (!(req.socket as tls.TLSSocket & { peerUser?: string }).peerUser) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end('{"kind":"Status","code":401}');
      return;
    }
    if (path === "/stats") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ connections }));
      return;
    }
    const m = PATH.exec(path);
    if (m && req.method === "POST") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const [status, body] = create(m[1]!, Buffer.concat(chunks).toString("utf8"));
        res.writeHead(status, { "content-type": "application/json" });
        res.end(body);
      });
      return;
    }
    if (m && req.method === "GET" && /[?&]watch=(1|true)/.test(url)) {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-cache, private" });
      res.write("\n");
      const w = (line: Uint8Array) => void res.write(line);
      watchers.add(w);
      res.on("close", () => watchers.delete(w));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end('{"kind":"Status","code":404}');
  };
}

if (o.mode === "node" || o.mode === "hono") {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 65_000;
  const tlsServer = tls.createServer(
    { cert: certPem, key: keyPem, ca: caPem, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"], minVersion: "TLSv1.2" },
    (socket) => {
      connections++;
      const cert = socket.getPeerCertificate();
      if (socket.authorized && cert?.subject?.CN) (socket as tls.TLSSocket & { peerUser?: string }).peerUser = String(cert.subject.CN);
      socket.on("error", () => socket.destroy());
      server.emit("connection", socket);
    },
  );
  tlsServer.on("tlsClientError", () => {});
  tlsServer.listen(o.port ?? 0, "127.0.0.1", () => {
    console.log(JSON.stringify({ port: (tlsServer.address() as AddressInfo).port }));
  });
} else {
  const json = { "content-type": "application/json" };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: o.port ?? 0,
    idleTimeout: 0,
    tls: { cert: certPem, key: keyPem, ca: caPem, requestCert: true, rejectUnauthorized: false },
    async fetch(req) {
      const url = req.url;
      const start = url.indexOf("/", 8);
      const q = url.indexOf("?", start);
      const path = q < 0 ? url.slice(start) : url.slice(start, q);
      if (path === "/readyz") return new Response("ok", { headers: { "content-type": "text/plain; charset=utf-8" } });
      const m = PATH.exec(path);
      if (m && req.method === "POST") {
        const [status, body] = create(m[1]!, await req.text());
        return new Response(body, { status, headers: json });
      }
      if (m && req.method === "GET" && /[?&]watch=(1|true)/.test(url)) {
        let w: ((line: Uint8Array) => void) | undefined;
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(encoder.encode("\n"));
            w = (line) => c.enqueue(line);
            watchers.add(w);
          },
          cancel() {
            if (w) watchers.delete(w);
          },
        });
        return new Response(stream, { headers: { ...json, "cache-control": "no-cache, private" } });
      }
      return new Response('{"kind":"Status","code":404}', { status: 404, headers: json });
    },
  });
  console.log(JSON.stringify({ port: server.port }));
}

process.on("SIGTERM", () => {
  db?.close();
  process.exit(0);
});
