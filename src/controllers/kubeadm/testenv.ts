/**
 * Test environment of the KubeadmConfig controller tests (not used at run time): an in-process
 * store and registry with every bundled kind and its admission, a manager running only the
 * kubeadm controller, and an in-memory workload cluster for the bootstrap-token Secrets (which can
 * be made unreachable or kubeconfig-less).
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KObject } from "../../lib/kobject.ts";
import { bundledKinds, resolveReferenceVersions } from "../../kinds/index.ts";
import { bundledHooks, syncBundledCRDs } from "../../kinds/sync.ts";
import { directDialer } from "../../providers/workload/dialer.ts";
import { GarbageCollector } from "../../registry/lifecycle/gc.ts";
import { Registry } from "../../registry/registry.ts";
import { systemContext } from "../../registry/rest/context.ts";
import { create } from "../../registry/rest/create.ts";
import type { RestDeps } from "../../registry/rest/deps.ts";
import type { Client } from "../../runtime/client.ts";
import { Manager } from "../../runtime/manager.ts";
import { openDatabase } from "../../store/open.ts";
import { Store } from "../../store/store.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { setupKubeadmControllers } from "./index.ts";
import { KUBEADMCONFIG_VERSION } from "./kubeadmconfig.ts";
import { WorkloadSecretError, type WorkloadSecretAccess, type WorkloadSecretClient } from "./workload-secrets.ts";
import { cloneData } from "../../lib/clone.ts";

export const NS = "default";

/** A workload cluster's Secrets in memory; `state` switches what forCluster / calls do. */
export class FakeWorkloadSecrets implements WorkloadSecretAccess, WorkloadSecretClient {
  secrets = new Map<string, KObject>();
  state: "ok" | "no-kubeconfig" | "unreachable" = "ok";
  updates = 0;

  async forCluster(): Promise<WorkloadSecretClient | undefined> {
    return this.state === "no-kubeconfig" ? undefined : this;
  }

  #check(): void {
    if (this.state === "unreachable") throw new TypeError("fetch failed: connect ECONNREFUSED");
  }

  async get(namespace: string, name: string): Promise<KObject | undefined> {
    this.#check();
    const s = this.secrets.get(`${namespace}/${name}`);
    return s ? cloneData(s) : undefined;
  }

  async create(secret: KObject): Promise<KObject> {
    this.#check();
    const key = `${secret.metadata.namespace}/${secret.metadata.name}`;
    if (this.secrets.has(key)) throw new WorkloadSecretError(409, `secret ${key} exists`);
    this.secrets.set(key, cloneData(secret));
    return secret;
  }

  async update(secret: KObject): Promise<KObject> {
    this.#check();
    this.updates++;
    this.secrets.set(`${secret.metadata.namespace}/${secret.metadata.name}`, cloneData(secret));
    return secret;
  }

  tokenSecrets(): KObject[] {
    return [...this.secrets.values()].filter((s) => s.metadata.namespace === "kube-system" && s.metadata.name!.startsWith("bootstrap-token-"));
  }
}

export interface KubeadmTestEnv {
  d: RestDeps;
  m: Manager;
  client: Client;
  workload: FakeWorkloadSecrets;
  close(): Promise<void>;
}

export async function startKubeadmEnv(opts: { tokenTtlMs?: number } = {}): Promise<KubeadmTestEnv> {
  const dir = mkdtempSync(join(tmpdir(), "capx-kubeadm-"));
  const store = new Store(openDatabase(join(dir, "state.db"), { synchronous: "NORMAL" }));
  const kinds = bundledKinds();
  const registry = new Registry(store, bundledHooks(kinds));
  const d: RestDeps = { store, registry, now: () => new Date() };
  resolveReferenceVersions(registry);
  create(d, registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: NS } }, systemContext("test"));
  syncBundledCRDs(d, kinds);
  const gc = new GarbageCollector(d);
  const workload = new FakeWorkloadSecrets();
  const m = new Manager(d);
  setupKubeadmControllers(m, { dialer: directDialer, workloads: workload, requeueMs: 100, tokenTtlMs: opts.tokenTtlMs });
  const client = m.client("test");
  m.start();
  return {
    d,
    m,
    client,
    workload,
    async close() {
      await m.stop();
      gc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Cluster whose infrastructure is provisioned, with an endpoint and networks (no control-plane provider). */
export async function createCluster(client: Client, name: string, opts: { provisioned?: boolean } = {}): Promise<KObject> {
  await client.create({
    apiVersion: CAPI_VERSION,
    kind: "Cluster",
    metadata: { name, namespace: NS },
    spec: {
      infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxCluster", name },
      controlPlaneEndpoint: { host: "10.10.0.5", port: 6443 },
      clusterNetwork: { pods: { cidrBlocks: ["10.244.0.0/16"] }, services: { cidrBlocks: ["10.96.0.0/12"] }, serviceDomain: "cluster.local" },
    },
  });
  if (opts.provisioned === false) return client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name })!;
  return setClusterStatus(client, name, { initialization: { infrastructureProvisioned: true } });
}

export function setClusterStatus(client: Client, name: string, status: Record<string, unknown>): Promise<KObject> {
  return client.patch({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name }, "merge", { status }, { subresource: "status" });
}

/** A Machine (control plane or worker) with its KubeadmConfig, owned by it as a MachineSet/KCP would. */
export async function machineWithConfig(client: Client, cluster: string, name: string, spec: Record<string, unknown>, opts: { controlPlane?: boolean; version?: string } = {}): Promise<void> {
  const machine = await client.create({
    apiVersion: CAPI_VERSION,
    kind: "Machine",
    metadata: { name, namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": cluster, ...(opts.controlPlane ? { "cluster.x-k8s.io/control-plane": "" } : {}) } },
    spec: {
      clusterName: cluster,
      version: opts.version ?? "v1.33.1",
      bootstrap: { configRef: { apiGroup: "bootstrap.cluster.x-k8s.io", kind: "KubeadmConfig", name } },
      infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachine", name },
    },
  });
  await client.create({
    apiVersion: KUBEADMCONFIG_VERSION,
    kind: "KubeadmConfig",
    metadata: { name, namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": cluster }, ownerReferences: [{ apiVersion: CAPI_VERSION, kind: "Machine", name, uid: machine.metadata.uid!, controller: true }] },
    spec,
  });
}

export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
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
    await Bun.sleep(20);
  }
}
