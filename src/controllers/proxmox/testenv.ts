/**
 * Test environment of the Proxmox controller tests (not used at run time): an in-process store
 * and registry with every bundled kind and its admission, the manager running the real Cluster,
 * Machine, IPAM and Proxmox controllers, and a lab PVE (instant latencies) reached through the
 * in-process backend. Builders for the objects a cluster needs.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KObject } from "../../lib/kobject.ts";
import { bundledKinds, resolveReferenceVersions } from "../../kinds/index.ts";
import { bundledHooks, syncBundledCRDs } from "../../kinds/sync.ts";
import { HttpBackend } from "../../providers/proxmox/http.ts";
import { InProcessBackend } from "../../providers/proxmox/inprocess.ts";
import { createLabPve, INSTANT_LATENCIES, type LabFaults, type LabLatencies, type LabHttps, type LabPve, type LabResponse } from "../../providers/proxmox/lab/index.ts";
import type { ProxmoxBackend } from "../../providers/proxmox/types.ts";
import { SecretWorkloadClusters } from "../../providers/workload/clusters.ts";
import { directDialer, LabNetwork } from "../../providers/workload/dialer.ts";
import { LabWorkloads } from "../../lab/workloads.ts";
import { GarbageCollector } from "../../registry/lifecycle/gc.ts";
import { Registry } from "../../registry/registry.ts";
import { systemContext } from "../../registry/rest/context.ts";
import { create } from "../../registry/rest/create.ts";
import type { RestDeps } from "../../registry/rest/deps.ts";
import type { Client } from "../../runtime/client.ts";
import { Manager } from "../../runtime/manager.ts";
import { openDatabase } from "../../store/open.ts";
import { Store } from "../../store/store.ts";
import { setupClusterController } from "../core/cluster.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { setupMachineController } from "../core/machine.ts";
import { setupIpamControllers } from "../ipam/index.ts";
import { SecretBackendResolver } from "./backend-resolver.ts";
import { INFRA_GROUP, INFRA_VERSION } from "./constants.ts";
import { setupProxmoxControllers, type ProxmoxControllersEnv } from "./index.ts";

export const NS = "default";

/** `USER@REALM!TOKENID=SECRET` → the token id and its secret. */
function splitToken(token: string): { token: string; secret: string } {
  const i = token.lastIndexOf("=");
  return { token: token.slice(0, i), secret: token.slice(i + 1) };
}
export const CLUSTER = "c1";

export interface ProxmoxTestEnv {
  dir: string;
  d: RestDeps;
  lab: LabPve;
  /** With `labWorkloads`: the workload API servers of the clusters. */
  workloadServers?: LabWorkloads;
  backend: ProxmoxBackend;
  m: Manager;
  client: Client;
  /** Stops the controllers (the "daemon" dies); the store and the lab PVE stay. */
  stopControllers(): Promise<void>;
  /** Starts a fresh manager with fresh controllers on the same store and lab (a restart). */
  restartControllers(): Promise<void>;
  close(): Promise<void>;
}

export interface EnvOptions {
  latencies?: Partial<LabLatencies>;
  faults?: Partial<LabFaults>;
  controllers?: Partial<ProxmoxControllersEnv>;
  /** Start the Proxmox controllers (default true). */
  start?: boolean;
  /**
   * Stands between the backend and the lab PVE for every request: to change the lab's world at
   * that moment (remove a file PVE is about to read) or to lose the answer as a dying process
   * would — never to make up an answer; `forward` is the lab's own.
   */
  wrapRequest?: (call: { method: string; path: string }, forward: () => Promise<LabResponse>, lab: LabPve) => Promise<LabResponse>;
  /** Run lab workload API servers on the simulated LAN (as lab mode does) and reach them through it. */
  labWorkloads?: boolean;
  /** `http`: the controllers reach the lab PVE through proxmox-api over its HTTPS API (bootstrap data as ISOs). */
  backend?: "inprocess" | "http";
}

export async function startProxmoxEnv(opts: EnvOptions = {}): Promise<ProxmoxTestEnv> {
  const dir = mkdtempSync(join(tmpdir(), "capx-proxmox-"));
  const store = new Store(openDatabase(join(dir, "state.db"), { synchronous: "NORMAL" }));
  const kinds = bundledKinds();
  const registry = new Registry(store, bundledHooks(kinds));
  const d: RestDeps = { store, registry, now: () => new Date() };
  resolveReferenceVersions(registry);
  create(d, registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: NS } }, systemContext("test"));
  syncBundledCRDs(d, kinds);
  const gc = new GarbageCollector(d);
  const lab = createLabPve({ dataDir: dir, latencies: { ...INSTANT_LATENCIES, ...opts.latencies }, faults: opts.faults });
  const wrap = opts.wrapRequest;
  const entry = wrap
    ? { token: lab.token, storagePath: lab.storagePath, request: ((method, path, ...rest) => wrap({ method, path }, () => lab.request(method, path, ...rest), lab)) as LabPve["request"] }
    : lab;
  let backend: ProxmoxBackend = new InProcessBackend(entry, { execPollMs: 5 });
  let https: LabHttps | undefined;
  if (opts.backend === "http") {
    https = await lab.serveHttps({ host: "127.0.0.1", port: 0 });
    backend = new HttpBackend({ url: https.url, ...splitToken(https.token), rootCa: https.caPem, pollMs: 10 });
  }

  const network = opts.labWorkloads ? new LabNetwork() : undefined;
  let servers: LabWorkloads | undefined;
  const build = () => {
    const m = new Manager(d);
    const workloads = new SecretWorkloadClusters(m.client("workload-access"), network ?? directDialer);
    const secrets = m.informers.forKind("v1", "Secret");
    if (secrets) workloads.followSecrets(secrets);
    if (network) {
      servers = new LabWorkloads(m, network, dir);
      servers.start();
    }
    setupClusterController(m);
    setupMachineController(m, workloads);
    setupIpamControllers(m);
    setupProxmoxControllers(m, {
      resolver: new SecretBackendResolver(m.client("proxmox-backends"), backend, () => {
        throw new Error("no http backend in these tests");
      }),
      taskPollMs: 10,
      requeueMs: 100,
      retryBaseMs: 50,
      retryMaxMs: 1_000,
      workloads,
      ...opts.controllers,
    });
    return m;
  };
  let m = build();
  if (opts.start !== false) m.start();
  const env: ProxmoxTestEnv = {
    dir,
    d,
    lab,
    get workloadServers() {
      return servers;
    },
    backend,
    m,
    client: m.client("test"),
    async stopControllers() {
      await servers?.stop();
      await env.m.stop();
    },
    async restartControllers() {
      m = build();
      env.m = m;
      env.client = m.client("test");
      m.start();
    },
    async close() {
      await servers?.stop();
      await env.m.stop();
      gc.stop();
      await https?.close();
      await lab.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}

export function clusterObjects(opts: { pcSpec?: Record<string, unknown>; cluster?: string } = {}): KObject[] {
  const name = opts.cluster ?? CLUSTER;
  return [
    {
      apiVersion: CAPI_VERSION,
      kind: "Cluster",
      metadata: { name, namespace: NS },
      spec: { infrastructureRef: { apiGroup: INFRA_GROUP, kind: "ProxmoxCluster", name } },
    },
    {
      apiVersion: INFRA_VERSION,
      kind: "ProxmoxCluster",
      metadata: { name, namespace: NS },
      spec: {
        controlPlaneEndpoint: { host: "10.10.0.5", port: 6443 },
        ipv4Config: { addresses: ["10.10.0.100-10.10.0.150"], prefix: 24, gateway: "10.10.0.1" },
        dnsServers: ["10.10.0.1"],
        allowedNodes: ["pve1", "pve2", "pve3"],
        ...opts.pcSpec,
      },
    },
  ];
}

export function bootstrapSecret(name: string, userData = "#cloud-config\nruncmd: [echo hello]\n", cluster = CLUSTER): KObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": cluster } },
    type: "cluster.x-k8s.io/secret",
    data: { value: Buffer.from(userData).toString("base64"), format: Buffer.from("cloud-config").toString("base64") },
  } as KObject;
}

/** A Machine with its ProxmoxMachine (same name) and bootstrap Secret. */
export function machineObjects(name: string, pmSpec: Record<string, unknown> = {}, opts: { controlPlane?: boolean; cluster?: string } = {}): KObject[] {
  const cluster = opts.cluster ?? CLUSTER;
  const labels = { "cluster.x-k8s.io/cluster-name": cluster, ...(opts.controlPlane ? { "cluster.x-k8s.io/control-plane": "" } : {}) };
  return [
    bootstrapSecret(`${name}-bootstrap`, undefined, cluster),
    {
      apiVersion: INFRA_VERSION,
      kind: "ProxmoxMachine",
      metadata: { name, namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": cluster } },
      spec: {
        sourceNode: "pve1",
        templateID: 9001,
        numSockets: 1,
        numCores: 2,
        memoryMiB: 2048,
        disks: { bootVolume: { disk: "scsi0", sizeGb: 12 } },
        network: { networkDevices: [{ name: "net0", bridge: "vmbr0", defaultIPv4: true }] },
        ...pmSpec,
      },
    },
    {
      apiVersion: CAPI_VERSION,
      kind: "Machine",
      metadata: { name, namespace: NS, labels },
      spec: {
        clusterName: cluster,
        version: "v1.32.3",
        bootstrap: { dataSecretName: `${name}-bootstrap` },
        infrastructureRef: { apiGroup: INFRA_GROUP, kind: "ProxmoxMachine", name },
      },
    },
  ];
}

export async function createAll(client: Client, objs: KObject[]): Promise<void> {
  for (const o of objs) await client.create(o);
}

/** Polls `check` (sync or async) until it returns something truthy. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await Bun.sleep(10);
  }
}

export function pmOf(client: Client, name: string): KObject | undefined {
  return client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxMachine", namespace: NS, name });
}

export function conditionOf(obj: KObject | undefined, type: string): { status: string; reason: string; message?: string } | undefined {
  return (obj?.status as { conditions?: { type: string; status: string; reason: string; message?: string }[] } | undefined)?.conditions?.find((c) => c.type === type);
}
