/**
 * Diagnostic (not part of `bun run bench`): what one create costs at each layer of the daemon,
 * in one process, sequentially (no HTTP client, no concurrency), on a fresh database per layer.
 *
 *   raw tx              objects + changes INSERT in one IMMEDIATE transaction (body prepared)
 *   raw tx + JSON       the bare server's work: JSON.parse, stamp metadata, JSON.stringify, raw tx
 *   Store.create        src/store (existence check, owners index, change record, listeners)
 *   rest create()       src/registry/rest/create.ts (admission, defaults, managedFields, codec)
 *   app.fetch           the Hono app (routing, auth, RBAC, metrics, body decode, response)
 *   app.fetch + N watch the same with N in-process watch streams being read
 *
 * `bun test/bench/create-layers.ts [--sync FULL|NORMAL] [--count N] [--watchers N]`
 * Prints {"usPerCreate": {layer: [wall µs, CPU µs]}}.
 * @module
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildApp } from "../../src/api/app.ts";
import { Authenticator, type PeerIdentity } from "../../src/api/auth.ts";
import { ApiMetrics } from "../../src/api/metrics.ts";
import { OpenApiCache } from "../../src/api/openapi.ts";
import { WatchHub } from "../../src/api/watch-stream.ts";
import { Registry } from "../../src/registry/registry.ts";
import { systemContext } from "../../src/registry/rest/context.ts";
import { create } from "../../src/registry/rest/create.ts";
import type { RestDeps } from "../../src/registry/rest/deps.ts";
import { openDatabase } from "../../src/store/open.ts";
import { Store } from "../../src/store/store.ts";
import { configMap, now, round, tempDir } from "./common.ts";

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { sync: { type: "string" }, count: { type: "string" }, watchers: { type: "string" } } });
const sync = (values.sync ?? "NORMAL") as "FULL" | "NORMAL";
const N = Number(values.count ?? 3000);
const W = Number(values.watchers ?? 100);
const root = tempDir("capx-layers-");
let dbn = 0;
const fresh = () => openDatabase(join(root, `l${dbn++}.db`), { synchronous: sync });
/** label → [wall µs, CPU µs (user+system, all threads)] per create */
const out: Record<string, [number, number] | number> = {};

function record(label: string, t0: number, c0: NodeJS.CpuUsage, n: number): void {
  const c = process.cpuUsage(c0);
  out[label] = [round(((now() - t0) / n) * 1000, 1), round((c.user + c.system) / n, 1)];
}
function time(label: string, fn: (i: number) => unknown, n = N): void {
  for (let i = 0; i < 200; i++) fn(-1 - i); // warm-up
  const t0 = now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(i);
  record(label, t0, c0, n);
}
async function timeAsync(label: string, fn: (i: number) => Promise<unknown>, n = N): Promise<void> {
  for (let i = 0; i < 200; i++) await fn(-1 - i);
  const t0 = now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn(i);
  record(label, t0, c0, n);
}
const nameOf = (i: number) => (i < 0 ? `warm-${-i}` : `cm-${i}`);

{
  const db = fresh();
  const ins = db.query("INSERT INTO objects (resource, namespace, name, uid, rv, body, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const log = db.query("INSERT INTO changes (rv, resource, namespace, name, type, body, prev_body, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  const tx = db.transaction((name: string, rv: number, body: string) => {
    ins.run("configmaps", "bench", name, "uid", rv, body, null);
    log.run(rv, "configmaps", "bench", name, "ADDED", body, null, Date.now());
  });
  const body = JSON.stringify(configMap("bench", "x"));
  let rv = 0;
  time("raw tx", (i) => tx.immediate(nameOf(i), ++rv, body));
  const text = JSON.stringify(configMap("bench", "x"));
  time("raw tx + JSON (bare server work)", (i) => {
    const o = JSON.parse(text) as { metadata: Record<string, unknown> };
    o.metadata.name = `j-${nameOf(i)}`;
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = new Date().toISOString();
    o.metadata.resourceVersion = String(++rv);
    tx.immediate(o.metadata.name as string, rv, JSON.stringify(o));
  });
  db.close();
}

{
  const store = new Store(fresh());
  time("Store.create", (i) => {
    const o = configMap("bench", nameOf(i)) as never as { metadata: Record<string, unknown> };
    o.metadata.uid = randomUUID();
    store.create("configmaps", o as never);
  });
  store.database.close();
}

function deps(): RestDeps {
  const store = new Store(fresh());
  const registry = new Registry(store);
  const rest: RestDeps = { store, registry, now: () => new Date() };
  const ns = registry.resolve("", "v1", "namespaces")!;
  create(rest, ns, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } }, systemContext("bench"));
  return rest;
}

{
  const rest = deps();
  const cm = rest.registry.resolve("", "v1", "configmaps")!;
  const user = { name: "capx-admin", groups: ["system:masters", "system:authenticated"] };
  time("rest create()", (i) => create(rest, cm, "bench", configMap("bench", nameOf(i)) as never, { user, fieldManager: "bench", warnings: [] }));
  (rest.store as Store).database.close();
}

const peer: PeerIdentity = { presented: true, verified: true, user: { name: "capx-admin", groups: ["system:masters", "system:authenticated"] } };
function app(rest: RestDeps) {
  return buildApp({
    rest,
    authenticator: new Authenticator([]),
    metrics: new ApiMetrics(),
    watches: new WatchHub(),
    openapi: new OpenApiCache(rest.registry),
    health: { live: [], ready: [] },
    version: "bench",
    serverAddress: () => "127.0.0.1:6443",
  });
}
const post = (a: ReturnType<typeof app>, name: string) =>
  a.fetch(
    new Request("https://127.0.0.1/api/v1/namespaces/bench/configmaps", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(configMap("bench", name)),
    }),
    { peer },
  );

{
  const rest = deps();
  const a = app(rest);
  await timeAsync("app.fetch (Hono app, no transport)", async (i) => {
    const r = await post(a, nameOf(i));
    await r.text();
    if (r.status !== 201) throw new Error(`${r.status}`);
  });
  (rest.store as Store).database.close();
}

{
  const rest = deps();
  const a = app(rest);
  let events = 0;
  for (let w = 0; w < W; w++) {
    const r = await a.fetch(new Request("https://127.0.0.1/api/v1/namespaces/bench/configmaps?watch=1", { headers: { accept: "application/json" } }), { peer });
    const reader = r.body!.getReader();
    (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        for (const b of value) if (b === 10) events++;
      }
    })();
  }
  await timeAsync(
    `app.fetch + ${W} watch streams read`,
    async (i) => {
      const r = await post(a, nameOf(i));
      await r.text();
      // let the watch readers drain
      await new Promise((res) => setImmediate(res));
    },
    Math.min(N, 1000),
  );
  out[`(events delivered to in-process watchers)`] = events;
  (rest.store as Store).database.close();
}

console.log(JSON.stringify({ sync, count: N, usPerCreate: out }));
process.exit(0);
