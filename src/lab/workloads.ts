/**
 * Lab workload clusters: for every Cluster whose control-plane endpoint is on the lab LAN and
 * whose `<cluster>-ca` exists, a workload API server runs at that endpoint (state in
 * one shared database, DATA_DIR/lab/workloads.db, a scope per cluster; its serving certificate in
 * DATA_DIR/lab/workloads/<namespace>/<name>; both kept across restarts); it goes away with the Cluster.
 * Later lab pieces (simulated nodes) start it only when a control-plane node boots; until then
 * the endpoint plus CA stand for "a control plane exists".
 * @module
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { KObject } from "../lib/kobject.ts";
import { log } from "../lib/log.ts";
import type { LabNetwork } from "../providers/workload/dialer.ts";
import type { Manager } from "../runtime/manager.ts";
import { StoreScopes } from "../store/scoped-store.ts";
import { openDatabase } from "../store/open.ts";
import { Store } from "../store/store.ts";
import { startWorkloadServer, type WorkloadServer } from "./workload-server.ts";

/** Simulated clusters' objects are few and small: SQLite's default cache, not the appliance store's. */
const LAB_CACHE_KIB = 2000;

const unb64 = (s: unknown) => (typeof s === "string" ? Buffer.from(s, "base64").toString() : "");

export class LabWorkloads {
  #servers = new Map<string, Promise<WorkloadServer | undefined>>();
  #stopped = false;
  readonly #client;
  /** DATA_DIR/lab/workloads.db: every workload cluster's objects, one scope each. */
  #scopes: StoreScopes | undefined;

  constructor(
    private readonly m: Manager,
    private readonly network: LabNetwork,
    private readonly dataDir: string,
  ) {
    this.#client = m.client("lab-workloads");
  }

  start(): void {
    const clusters = this.m.informers.forKind("cluster.x-k8s.io/v1beta2", "Cluster");
    const secrets = this.m.informers.forKind("v1", "Secret");
    clusters?.addHandler((type, c) => (type === "DELETED" ? void this.#remove(c) : void this.#ensure(c)));
    secrets?.addHandler((type, s) => {
      if (type === "DELETED" || !s.metadata.name?.endsWith("-ca")) return;
      const c = clusters?.get(s.metadata.namespace, s.metadata.name.slice(0, -3));
      if (c) void this.#ensure(c);
    });
  }

  /** The running workload server of a cluster (tests, lab nodes). */
  server(namespace: string, name: string): Promise<WorkloadServer | undefined> {
    return this.#servers.get(`${namespace}/${name}`) ?? Promise.resolve(undefined);
  }

  /** The running workload server announced at a lab endpoint (lab Talos nodes' kubelets). */
  async serverAt(host: string, port: number): Promise<WorkloadServer | undefined> {
    const local = this.network.lookup(host, port)?.port;
    if (local === undefined) return undefined;
    for (const s of await Promise.all([...this.#servers.values()])) if (s?.localPort === local) return s;
    return undefined;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const all = [...this.#servers.values()];
    this.#servers.clear();
    for (const s of await Promise.all(all)) await s?.close();
    this.#scopes?.base.commit();
    this.#scopes?.base.database.close();
    this.#scopes = undefined;
  }

  #shared(): StoreScopes {
    return (this.#scopes ??= new StoreScopes(new Store(openDatabase(join(this.dataDir, "lab", "workloads.db"), { synchronous: "NORMAL", cacheKiB: LAB_CACHE_KIB }))));
  }

  #dir(c: KObject): string {
    return join(this.dataDir, "lab", "workloads", c.metadata.namespace!, c.metadata.name!);
  }

  #ensure(c: KObject): Promise<WorkloadServer | undefined> | undefined {
    if (this.#stopped || c.metadata.deletionTimestamp) return undefined;
    const key = `${c.metadata.namespace}/${c.metadata.name}`;
    const existing = this.#servers.get(key);
    if (existing) return existing;
    const ep = (c.spec as { controlPlaneEndpoint?: { host?: string; port?: number } } | undefined)?.controlPlaneEndpoint;
    if (!ep?.host || !ep.port || !this.network.inLab(ep.host)) return undefined;
    const ca = this.#client.get({ apiVersion: "v1", kind: "Secret", namespace: c.metadata.namespace, name: `${c.metadata.name}-ca` });
    const data = (ca?.data ?? {}) as Record<string, string>;
    if (!data["tls.crt"] || !data["tls.key"]) return undefined;
    const started = startWorkloadServer({
      dir: this.#dir(c),
      caPem: unb64(data["tls.crt"]),
      caKeyPem: unb64(data["tls.key"]),
      host: ep.host,
      port: ep.port,
      network: this.network,
      shared: { scopes: this.#shared(), scope: key },
    }).then(
      (s) => {
        log.info({ component: "lab", cluster: key, endpoint: `${ep.host}:${ep.port}`, localPort: s.localPort }, "lab workload API server is up");
        return s;
      },
      (e) => {
        log.error({ component: "lab", cluster: key, err: String(e) }, "lab workload API server failed to start");
        this.#servers.delete(key);
        return undefined;
      },
    );
    this.#servers.set(key, started);
    return started;
  }

  async #remove(c: KObject): Promise<void> {
    const key = `${c.metadata.namespace}/${c.metadata.name}`;
    const s = this.#servers.get(key);
    this.#servers.delete(key);
    await (await s)?.close();
    if (!this.#stopped) this.#shared().drop(key);
    rmSync(this.#dir(c), { recursive: true, force: true });
    log.info({ component: "lab", cluster: key }, "lab workload cluster removed");
  }
}
