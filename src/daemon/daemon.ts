/**
 * Composes the daemon: data dir, PKI, store, registry, housekeeping controllers and the HTTPS
 * API; and takes it down in order (readyz fails, watches close, in-flight requests finish).
 * @module
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildApp } from "../api/app.ts";
import { Authenticator } from "../api/auth.ts";
import type { HealthCheck } from "../api/health.ts";
import { ApiMetrics } from "../api/metrics.ts";
import { OpenApiCache } from "../api/openapi.ts";
import { startServer, type RunningServer } from "../api/server.ts";
import { WatchHub } from "../api/watch-stream.ts";
import { parseListen, type Config } from "../config/config.ts";
import { log } from "../lib/log.ts";
import { CRDCleanup } from "../registry/lifecycle/crd-cleanup.ts";
import { GarbageCollector } from "../registry/lifecycle/gc.ts";
import { Housekeeping } from "../registry/lifecycle/housekeeping.ts";
import { NamespaceController } from "../registry/lifecycle/namespace.ts";
import { Registry } from "../registry/registry.ts";
import { systemContext } from "../registry/rest/context.ts";
import { create } from "../registry/rest/create.ts";
import type { RestDeps } from "../registry/rest/deps.ts";
import { openDatabase } from "../store/open.ts";
import { Store } from "../store/store.ts";
import { adminKubeconfig, ensurePki, writeSecretFile, type AppliancePki } from "./pki-files.ts";
import { VERSION } from "../version.ts";
import { bundledKinds, resolveReferenceVersions } from "../kinds/index.ts";
import { bindPoolUsage } from "../kinds/ipam/index.ts";
import { SecretBackendResolver } from "../controllers/proxmox/index.ts";
import { defaultProxmoxBackend } from "../providers/proxmox/default-backend.ts";
import { HttpBackend } from "../providers/proxmox/http.ts";
import { bundledHooks, syncBundledCRDs } from "../kinds/sync.ts";
import { Manager } from "../runtime/manager.ts";
import { controllerSetups } from "../controllers/index.ts";
import { directDialer } from "../providers/workload/dialer.ts";
import { SecretWorkloadClusters } from "../providers/workload/clusters.ts";
import type { Lab } from "../lab/lab.ts";
import { fetchLimitWarning } from "./fetch-limit.ts";

export const INITIAL_NAMESPACES = ["default", "kube-system", "kube-public"];
export const SHUTDOWN_TIMEOUT_MS = 30_000;

export interface Daemon {
  manager: Manager;
  lab?: Lab;
  port: number;
  url: string;
  dataDir: string;
  pki: AppliancePki;
  rest: RestDeps;
  kubeconfigPath: string;
  /** Resolves when housekeeping queues are drained (tests). */
  settle(): Promise<void>;
  /** Graceful stop: readyz fails, watches close, requests finish, the database closes. */
  shutdown(): Promise<void>;
}

function ensureNamespaces(rest: RestDeps): void {
  const ns = rest.registry.resolve("", "v1", "namespaces")!;
  for (const name of INITIAL_NAMESPACES) {
    if (rest.store.get("namespaces", "", name)) continue;
    create(rest, ns, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, systemContext("capx-appliance"));
  }
}

export async function startDaemon(config: Config): Promise<Daemon> {
  const dataDir = config.dataDir;
  const fresh = !existsSync(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (fresh) chmodSync(dataDir, 0o700);
  // `restore` refuses while this names a live `serve` process; a stale file (SIGKILL) is ignored.
  const pidFile = join(dataDir, "daemon.pid");
  writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
  const pki = await ensurePki(dataDir, config.tlsSANs);
  const db = openDatabase(join(dataDir, "state.db"), { synchronous: config.storage.synchronous, backupDir: join(dataDir, "backups") });
  const store = new Store(db);
  store.onCommitFailure = (e) => {
    // Writes of this batch were visible to readers already; serving on would show state that
    // is not on disk. Stop, and let systemd restart from what the database holds.
    log.error({ component: "store", err: String(e) }, "database commit failed; exiting");
    process.exit(70);
  };
  const kinds = bundledKinds();
  const registry = new Registry(store, bundledHooks(kinds));
  const rest: RestDeps = { store, registry, now: () => new Date() };
  resolveReferenceVersions(registry);
  // The IP pools' update and delete rules read which addresses are in use, controllers or not.
  bindPoolUsage(rest);
  ensureNamespaces(rest);
  syncBundledCRDs(rest, kinds);

  const gc = new GarbageCollector(rest);
  const namespaces = new NamespaceController(rest);
  const crdCleanup = new CRDCleanup(rest);
  const c = config.storage.compaction;
  const housekeeping = new Housekeeping(store, {
    intervalMs: config.storage.housekeepingIntervalSeconds * 1000,
    compaction: { minRetain: c.minRetain, maxRetain: c.maxRetain, minAgeMs: c.minAgeSeconds * 1000 },
  });
  housekeeping.runOnce();
  housekeeping.start();

  const manager = new Manager(rest);
  // Lab mode (simulated PVE, Talos nodes with their gRPC stack) loads only when asked for.
  const lab = config.lab.enabled ? await (await import("../lab/lab.ts")).startLab(manager, config) : undefined;
  const workloads = new SecretWorkloadClusters(manager.client("workload-access"), lab?.network ?? directDialer);
  const secrets = manager.informers.forKind("v1", "Secret");
  if (secrets) workloads.followSecrets(secrets);
  if (config.controllers) {
    const proxmox = new SecretBackendResolver(manager.client("proxmox-backends"), lab?.proxmox.backend ?? defaultProxmoxBackend(config.proxmox), (c) =>
      new HttpBackend({ url: c.url, token: c.tokenId, secret: c.secret, insecure: c.insecure, ...(c.rootCA ? { rootCa: c.rootCA } : {}), dialer: lab?.network ?? directDialer }),
    );
    for (const setup of controllerSetups()) setup(manager, { workloads, labProxyUrl: lab?.proxy.url, proxmox, dialer: lab?.network ?? directDialer });
    manager.start();
  }

  let shuttingDown = false;
  const metrics = new ApiMetrics();
  metrics.addTextSource(() => manager.metricsText());
  const watches = new WatchHub();
  const { host, port } = parseListen(config.listen);
  let server: RunningServer | undefined;
  const storeCheck: HealthCheck = {
    name: "etcd",
    check: () => (db.query("SELECT 1 AS ok").get() ? undefined : "database did not answer"),
  };
  const app = buildApp({
    rest,
    authenticator: new Authenticator(config.auth.tokens),
    metrics,
    watches,
    openapi: new OpenApiCache(registry),
    health: {
      live: [{ name: "ping", check: () => undefined }, { name: "log", check: () => undefined }, storeCheck],
      ready: [
        { name: "ping", check: () => undefined },
        { name: "log", check: () => undefined },
        storeCheck,
        { name: "shutdown", check: () => (shuttingDown ? "process is shutting down" : undefined) },
      ],
    },
    version: VERSION,
    serverAddress: () => `${host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host}:${server?.port ?? port}`,
  });
  server = await startServer({ host, port, certPem: pki.serving.certPem, keyPem: pki.serving.keyPem, caPem: pki.ca.certPem, fetch: app.fetch });
  const url = `https://127.0.0.1:${server.port}`;
  setTimeout(() => metrics.load(), 50).unref?.();
  const kubeconfigPath = join(dataDir, "admin.kubeconfig");
  writeSecretFile(kubeconfigPath, adminKubeconfig(pki, url));
  const fetchWarning = fetchLimitWarning();
  if (fetchWarning) log.warn({ component: "daemon" }, fetchWarning);
  log.info({ component: "daemon", lab: lab ? { proxy: lab.proxy.url } : false, listen: `${host}:${server.port}`, dataDir, adminKubeconfig: kubeconfigPath, version: VERSION, revision: store.revision }, "capx-appliance is serving");

  let stopping: Promise<void> | undefined;
  const settle = async () => {
    await store.durable();
    await gc.idle();
    await namespaces.idle();
    await crdCleanup.idle();
    await gc.idle();
    await manager.idle();
  };
  return {
    manager,
    lab,
    port: server.port,
    url,
    dataDir,
    pki,
    rest,
    kubeconfigPath,
    settle,
    shutdown() {
      stopping ??= (async () => {
        shuttingDown = true;
        log.info({ component: "daemon", openWatches: watches.size }, "shutting down");
        watches.closeAll();
        const srv = server!;
        const forced = setTimeout(() => srv.destroyAll(), SHUTDOWN_TIMEOUT_MS - 2000);
        await srv.close();
        clearTimeout(forced);
        await manager.stop();
        workloads.stop();
        await lab?.stop();
        housekeeping.stop();
        gc.stop();
        namespaces.stop();
        crdCleanup.stop();
        store.commit();
        db.close();
        if (existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() === String(process.pid)) rmSync(pidFile, { force: true });
        log.info({ component: "daemon" }, "stopped");
      })();
      return stopping;
    },
  };
}
