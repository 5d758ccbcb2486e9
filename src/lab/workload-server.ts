/**
 * A lab workload cluster's Kubernetes API: the appliance's own API server code on its own scope
 * of the lab's shared SQLite database (or a database of its own), serving Nodes, Pods (with
 * eviction) and the usual built-in kinds, over HTTPS with a serving certificate from the
 * cluster's CA and client certificates checked against it.
 * Its TLS front listens on loopback (the HTTP server behind it is shared by all lab clusters:
 * src/lab/http-fronts.ts) and is announced on the lab LAN at the cluster's endpoint.
 * @module
 */
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildApp } from "../api/app.ts";
import { Authenticator } from "../api/auth.ts";
import { ApiMetrics } from "../api/metrics.ts";
import { OpenApiCache } from "../api/openapi.ts";
import { WatchHub } from "../api/watch-stream.ts";
import { writeSecretFile } from "../daemon/pki-files.ts";
import { certInfo } from "../providers/pki/cert-info.ts";
import type { LabNetwork } from "../providers/workload/dialer.ts";
import { nodeDefinition } from "../registry/builtin/node.ts";
import { podDefinition } from "../registry/builtin/pod.ts";
import { workloadClusterKinds } from "../registry/builtin/workload-kinds.ts";
import { GarbageCollector } from "../registry/lifecycle/gc.ts";
import { NamespaceController } from "../registry/lifecycle/namespace.ts";
import { Registry } from "../registry/registry.ts";
import { systemContext } from "../registry/rest/context.ts";
import { create } from "../registry/rest/create.ts";
import type { RestDeps } from "../registry/rest/deps.ts";
import { openDatabase } from "../store/open.ts";
import { StoreScopes } from "../store/scoped-store.ts";
import { Store, type ObjectStore } from "../store/store.ts";
import { VERSION } from "../version.ts";
import { acquireHttpFronts } from "./http-fronts.ts";

export interface WorkloadServerOptions {
  /** Where its database and serving certificate live. */
  dir: string;
  /** The cluster's CA (`<cluster>-ca`). */
  caPem: string;
  caKeyPem: string;
  /** The cluster endpoint on the lab LAN. */
  host: string;
  port: number;
  network: LabNetwork;
  /**
   * The shared database of the lab's workload clusters and this cluster's scope in it; without
   * it the server keeps its own database in `dir`.
   */
  shared?: { scopes: StoreScopes; scope: string };
}

export interface WorkloadServer {
  rest: RestDeps;
  localPort: number;
  close(): Promise<void>;
}

const NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

async function servingCert(o: WorkloadServerOptions): Promise<{ certPem: string; keyPem: string }> {
  const crt = join(o.dir, "serving.crt");
  const key = join(o.dir, "serving.key");
  if (existsSync(crt) && existsSync(key)) {
    const pair = { certPem: readFileSync(crt, "utf8"), keyPem: readFileSync(key, "utf8") };
    if (certInfo(pair.certPem).ipAddresses.includes(o.host)) return pair;
  }
  const { issueCertificate } = await import("../providers/pki/certs.ts");
  const pair = await issueCertificate(
    { certPem: o.caPem, keyPem: o.caKeyPem },
    {
      commonName: "kube-apiserver",
      dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
      ipAddresses: [o.host, "127.0.0.1"],
      usage: "server",
      days: 365,
    },
  );
  writeSecretFile(crt, pair.certPem);
  writeSecretFile(key, pair.keyPem);
  return pair;
}

export async function startWorkloadServer(o: WorkloadServerOptions): Promise<WorkloadServer> {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const serving = await servingCert(o);
  const own = o.shared ? undefined : new Store(openDatabase(join(o.dir, "state.db"), { synchronous: "NORMAL" }));
  if (o.shared) importOwnDatabase(o.dir, o.shared.scopes, o.shared.scope);
  const store: ObjectStore = own ?? o.shared!.scopes.scope(o.shared!.scope);
  const registry = new Registry(store, new Map(), [nodeDefinition, podDefinition, ...workloadClusterKinds]);
  const rest: RestDeps = { store, registry, now: () => new Date() };
  const nsRes = registry.resolve("", "v1", "namespaces")!;
  for (const name of NAMESPACES) {
    if (!store.get("namespaces", "", name)) create(rest, nsRes, undefined, { metadata: { name } }, systemContext("kube-apiserver"));
  }
  const gc = new GarbageCollector(rest);
  const namespaces = new NamespaceController(rest);
  const watches = new WatchHub();
  const app = buildApp({
    rest,
    authenticator: new Authenticator([]),
    metrics: new ApiMetrics({ queueBeforeLoad: false }),
    watches,
    openapi: new OpenApiCache(registry),
    health: { live: [{ name: "ping", check: () => undefined }], ready: [{ name: "ping", check: () => undefined }] },
    version: VERSION,
    serverAddress: () => `${o.host}:${o.port}`,
  });
  // In-flight requests: at close, connections go once these have answered (at most 2 s).
  let inflight = 0;
  const { fronts, release } = acquireHttpFronts();
  const front = fronts.listen(
    { certPem: serving.certPem, keyPem: serving.keyPem, caPem: o.caPem, rejectUnauthorized: false },
    {
      async fetch(req, env) {
        inflight++;
        try {
          return await app.fetch(req, env);
        } finally {
          inflight--;
        }
      },
    },
  );
  const unlisten = o.network.listen(o.host, o.port, front.port);
  return {
    rest,
    localPort: front.port,
    async close() {
      unlisten();
      front.stop();
      watches.closeAll();
      for (let waited = 0; inflight > 0 && waited < 2000; waited += 20) await Bun.sleep(20);
      front.destroyAll();
      release();
      gc.stop();
      namespaces.stop();
      store.commit();
      own?.database.close();
    },
  };
}

/**
 * A cluster kept by an earlier version has its own `state.db`: its objects move into the shared
 * database (new resourceVersions, as after an etcd restore) and the file goes.
 */
function importOwnDatabase(dir: string, scopes: StoreScopes, scope: string): void {
  const path = join(dir, "state.db");
  if (!existsSync(path)) return;
  if (!scopes.has(scope)) {
    const db = new Database(path, { readonly: true });
    try {
      const rows = db.query("SELECT resource, body, expires_at AS expiresAt FROM objects ORDER BY rv").all() as { resource: string; body: string; expiresAt: number | null }[];
      const store = scopes.scope(scope);
      store.transaction(() => {
        for (const r of rows) store.create(r.resource, JSON.parse(r.body), { expiresAt: r.expiresAt });
      });
      store.commit();
    } finally {
      db.close();
    }
  }
  for (const f of ["state.db", "state.db-wal", "state.db-shm"]) rmSync(join(dir, f), { force: true });
}
