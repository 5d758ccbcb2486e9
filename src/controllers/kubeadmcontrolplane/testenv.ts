/**
 * Test environment of the KubeadmControlPlane controller tests (not used at run time): an
 * in-process store and registry with every bundled kind and its admission, a manager running only
 * the KCP controller, and a fake etcd that records what it is asked. The test plays the Machine
 * controller (it reports a Node and an address on a Machine).
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KObject } from "../../lib/kobject.ts";
import { bundledKinds, resolveReferenceVersions } from "../../kinds/index.ts";
import { bundledHooks, syncBundledCRDs } from "../../kinds/sync.ts";
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
import type { EtcdMachine, EtcdMemberState, EtcdMembership } from "./etcd.ts";
import { setupKubeadmControlPlaneControllers } from "./index.ts";
import { KCP_CLEANUP_HOOK } from "./kcp-machines.ts";

export const NS = "default";

/**
 * Records leadership moves and member removals; `available` false stands for "no etcd client".
 * Members are the Machines with a Node that were not removed; those named in `unhealthy`
 * (machine names) report unhealthy.
 */
export class FakeEtcd implements EtcdMembership {
  available = true;
  unhealthy = new Set<string>();
  calls: { op: "forwardLeadership" | "removeMember"; machine: string; to?: string; machineExisted: boolean; hookPresent: boolean }[] = [];
  readonly #removed = new Set<string>();
  constructor(private readonly client: () => Client) {}

  #get(m: EtcdMachine) {
    return this.client().get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name: m.machine });
  }

  #record(op: "forwardLeadership" | "removeMember", m: EtcdMachine, to?: string): void {
    const mm = this.#get(m);
    const hookPresent = Boolean(mm && KCP_CLEANUP_HOOK in (mm.metadata.annotations ?? {}));
    this.calls.push({ op, machine: m.machine, ...(to ? { to } : {}), machineExisted: Boolean(mm && !mm.metadata.deletionTimestamp), hookPresent });
  }

  async forwardLeadership(leaving: EtcdMachine, candidate: EtcdMachine): Promise<void> {
    this.#record("forwardLeadership", leaving, candidate.machine);
  }

  async removeMember(leaving: EtcdMachine): Promise<void> {
    this.#record("removeMember", leaving);
    this.#removed.add(leaving.machine);
  }

  /** Every Machine with a Node whose member was not removed (as etcd lists them, whoever is asked). */
  async members(): Promise<EtcdMemberState[]> {
    return this.client()
      .list(CAPI_VERSION, "Machine", NS)
      .filter((m) => (m.status as { nodeRef?: { name?: string } } | undefined)?.nodeRef?.name && !this.#removed.has(m.metadata.name!))
      .map((m) => ({ name: (m.status as { nodeRef: { name: string } }).nodeRef.name, learner: false, healthy: !this.unhealthy.has(m.metadata.name!) }));
  }

  removed(): string[] {
    return this.calls.filter((c) => c.op === "removeMember").map((c) => c.machine);
  }
}

export interface KcpTestEnv {
  d: RestDeps;
  m: Manager;
  client: Client;
  etcd: FakeEtcd;
  /** What the workload cluster says about kube-system/kubeadm-config (the KCP's init probe). */
  kubeadmConfig: { exists: boolean };
  close(): Promise<void>;
}

export async function startKcpEnv(): Promise<KcpTestEnv> {
  const dir = mkdtempSync(join(tmpdir(), "capx-kcp-"));
  const store = new Store(openDatabase(join(dir, "state.db"), { synchronous: "NORMAL" }));
  const kinds = bundledKinds();
  const registry = new Registry(store, bundledHooks(kinds));
  const d: RestDeps = { store, registry, now: () => new Date() };
  resolveReferenceVersions(registry);
  create(d, registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: NS } }, systemContext("test"));
  syncBundledCRDs(d, kinds);
  const gc = new GarbageCollector(d);
  const m = new Manager(d);
  const client = m.client("test");
  const etcd = new FakeEtcd(() => client);
  const kubeadmConfig = { exists: false };
  setupKubeadmControlPlaneControllers(m, { etcd: () => (etcd.available ? etcd : undefined), initProbe: async () => kubeadmConfig.exists, requeueMs: 50 });
  m.start();
  return {
    d,
    m,
    client,
    etcd,
    kubeadmConfig,
    async close() {
      await m.stop();
      gc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A provisioned Cluster whose control plane is KubeadmControlPlane `kcp`, with three failure domains. */
export async function createCluster(client: Client, name: string, kcp: string): Promise<KObject> {
  await client.create({
    apiVersion: CAPI_VERSION,
    kind: "Cluster",
    metadata: { name, namespace: NS },
    spec: {
      infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxCluster", name },
      controlPlaneRef: { apiGroup: "controlplane.cluster.x-k8s.io", kind: "KubeadmControlPlane", name: kcp },
      controlPlaneEndpoint: { host: "10.10.0.5", port: 6443 },
    },
  });
  const failureDomains = ["fd-a", "fd-b", "fd-c"].map((n) => ({ name: n, controlPlane: true }));
  return client.patch({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name }, "merge", { status: { initialization: { infrastructureProvisioned: true }, failureDomains } }, { subresource: "status" });
}

let nextAddress = 100;

/** Plays the Machine controller: the machine's Node registered (nodeRef) with an address. */
export async function nodeUp(client: Client, name: string): Promise<void> {
  await client.patch(
    { apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name },
    "merge",
    { status: { nodeRef: { name }, addresses: [{ type: "InternalIP", address: `10.10.0.${nextAddress++}` }] } },
    { subresource: "status" },
  );
}

export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
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
