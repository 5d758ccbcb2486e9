import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capiCRDs } from "../../kinds/capi/crds.ts";
import { syncBundledCRDs } from "../../kinds/sync.ts";
import type { KObject } from "../../lib/kobject.ts";
import type { WorkloadClient, WorkloadClusters } from "../../providers/workload/types.ts";
import type { CRDObject } from "../../registry/crd/to-resource.ts";
import { applyMergePatch } from "../../registry/patch/index.ts";
import { Registry } from "../../registry/registry.ts";
import { systemContext } from "../../registry/rest/context.ts";
import { create } from "../../registry/rest/create.ts";
import type { RestDeps } from "../../registry/rest/deps.ts";
import type { Client } from "../../runtime/client.ts";
import { getCondition, getV1Beta1Condition } from "../../runtime/conditions.ts";
import { Manager } from "../../runtime/manager.ts";
import { openDatabase } from "../../store/open.ts";
import { Store } from "../../store/store.ts";
import { setupMachineController } from "./machine.ts";

// ---------------------------------------------------------------------------------------------
// A workload cluster in memory: Nodes and Pods in Maps, recording cordons, evictions, deletions.
// ---------------------------------------------------------------------------------------------

class FakeWorkload implements WorkloadClient {
  readonly server = "fake://workload";
  nodes = new Map<string, KObject>();
  pods = new Map<string, KObject>();
  log: string[] = [];
  failDeleteNode = false;
  #rv = 1;

  addNode(name: string, providerID: string, extra: { labels?: Record<string, string>; taints?: unknown[]; ready?: string } = {}): KObject {
    const node: KObject = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, resourceVersion: String(this.#rv++), labels: extra.labels ?? { "kubernetes.io/hostname": name } },
      spec: { providerID, ...(extra.taints ? { taints: extra.taints } : {}) },
      status: {
        conditions: [
          { type: "Ready", status: extra.ready ?? "True", reason: "KubeletReady", lastTransitionTime: new Date().toISOString() },
          { type: "MemoryPressure", status: "False" },
          { type: "DiskPressure", status: "False" },
          { type: "PIDPressure", status: "False" },
        ],
        nodeInfo: {
          architecture: "amd64",
          bootID: "b",
          containerRuntimeVersion: "containerd://2.0.0",
          kernelVersion: "6.12",
          kubeProxyVersion: "",
          kubeletVersion: "v1.32.0",
          machineID: "m",
          operatingSystem: "linux",
          osImage: "Talos",
          systemUUID: "u",
        },
      },
    };
    this.nodes.set(name, node);
    return node;
  }

  addPod(namespace: string, name: string, nodeName: string, extra: Partial<KObject["metadata"]> & { phase?: string } = {}): void {
    const { phase, ...meta } = extra;
    this.pods.set(`${namespace}/${name}`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, ...meta },
      spec: { nodeName },
      status: { phase: phase ?? "Running" },
    });
  }

  async listNodes(): Promise<KObject[]> {
    return [...this.nodes.values()].map((n) => structuredClone(n));
  }

  async getNode(name: string): Promise<KObject | undefined> {
    const n = this.nodes.get(name);
    return n && structuredClone(n);
  }

  async patchNode(name: string, patch: Record<string, unknown>): Promise<KObject> {
    const node = this.nodes.get(name);
    if (!node) throw Object.assign(new Error(`nodes "${name}" not found`), { code: 404 });
    const rv = (patch.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (rv && rv !== node.metadata.resourceVersion) throw Object.assign(new Error("conflict"), { code: 409 });
    const next = applyMergePatch(node, patch) as KObject;
    next.metadata.resourceVersion = String(this.#rv++);
    if ((patch.spec as { unschedulable?: boolean } | undefined)?.unschedulable) this.log.push(`cordon ${name}`);
    this.nodes.set(name, next);
    return structuredClone(next);
  }

  async deleteNode(name: string): Promise<void> {
    if (this.failDeleteNode) throw new Error("connection refused");
    if (!this.nodes.delete(name)) throw Object.assign(new Error(`nodes "${name}" not found`), { code: 404 });
    this.log.push(`delete node ${name}`);
  }

  async listPodsOnNode(nodeName: string): Promise<KObject[]> {
    return [...this.pods.values()].filter((p) => (p.spec as { nodeName?: string }).nodeName === nodeName).map((p) => structuredClone(p));
  }

  async evictPod(namespace: string, name: string): Promise<"evicted" | "gone" | "blocked"> {
    const key = `${namespace}/${name}`;
    const pod = this.pods.get(key);
    if (!pod) return "gone";
    if (pod.metadata.labels?.pdb === "blocked") return "blocked";
    this.pods.delete(key); // terminates at once
    this.log.push(`evict ${key}`);
    return "evicted";
  }
}

// ---------------------------------------------------------------------------------------------
// Environment: a store, the bundled CAPI CRDs, test provider CRDs, the Machine controller.
// ---------------------------------------------------------------------------------------------

const INFRA = "infrastructure.cluster.x-k8s.io";
const BOOT = "bootstrap.cluster.x-k8s.io";

function providerCRD(group: string, kind: string): CRDObject {
  const plural = `${kind.toLowerCase()}s`;
  const open = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [{ name: "v1alpha1", served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: "object", properties: { spec: open, status: open } } } }],
    },
  } as unknown as CRDObject;
}

/** TestMachine/TestConfig speak the v1beta2 contract, LegacyMachine/LegacyConfig the v1beta1 one. */
const TEST_CRDS = [providerCRD(INFRA, "TestMachine"), providerCRD(INFRA, "LegacyMachine"), providerCRD(BOOT, "TestConfig"), providerCRD(BOOT, "LegacyConfig")];

const dirs: string[] = [];
const managers: Manager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Env {
  d: RestDeps;
  m: Manager;
  client: Client;
  workload: FakeWorkload;
  connected: Set<string>;
}

function setup(): Env {
  const dir = mkdtempSync(join(tmpdir(), "capx-machine-"));
  dirs.push(dir);
  const store = new Store(openDatabase(join(dir, "s.db"), { synchronous: "NORMAL" }));
  const registry = new Registry(store);
  const d: RestDeps = { store, registry, now: () => new Date() };
  create(d, registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: "default" } }, systemContext("t"));
  syncBundledCRDs(
    d,
    capiCRDs.map((crd) => ({ crd })),
  );
  syncBundledCRDs(
    d,
    TEST_CRDS.map((crd) => ({ crd })),
  );
  const m = new Manager(d);
  managers.push(m);
  const workload = new FakeWorkload();
  const connected = new Set<string>(["default/c1"]);
  const workloads: WorkloadClusters = { forCluster: async (ns, name) => (connected.has(`${ns}/${name}`) ? workload : undefined) };
  setupMachineController(m, workloads, {
    drainRetryIntervalMs: 30,
    volumeDetachRetryIntervalMs: 30,
    nodeSyncIntervalMs: 40,
    externalReadyWaitMs: 40,
    nodeDeletionRetryMs: 20,
  });
  m.start();
  return { d, m, client: m.client("test"), workload, connected };
}

async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 4500): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

const CAPI = "cluster.x-k8s.io/v1beta2";

async function createCluster(client: Client, name = "c1", spec: Record<string, unknown> = {}): Promise<KObject> {
  await client.create({ apiVersion: CAPI, kind: "Cluster", metadata: { name, namespace: "default" }, spec: { controlPlaneEndpoint: { host: "10.10.0.2", port: 6443 }, ...spec } });
  const now = new Date().toISOString().slice(0, 19) + "Z";
  return client.patch(
    { apiVersion: CAPI, kind: "Cluster", namespace: "default", name },
    "merge",
    {
      status: {
        initialization: { infrastructureProvisioned: true, controlPlaneInitialized: true },
        conditions: [
          { type: "InfrastructureReady", status: "True", reason: "Ready", message: "", lastTransitionTime: now },
          { type: "ControlPlaneInitialized", status: "True", reason: "Initialized", message: "", lastTransitionTime: now },
        ],
      },
    },
    { subresource: "status" },
  );
}

async function createProvider(client: Client, group: string, kind: string, name: string, metadata: Partial<KObject["metadata"]> = {}): Promise<KObject> {
  return client.create({ apiVersion: `${group}/v1alpha1`, kind, metadata: { name, namespace: "default", ...metadata }, spec: {} });
}

function patchProvider(client: Client, group: string, kind: string, name: string, body: Record<string, unknown>, subresource?: "status"): Promise<KObject> {
  return client.patch({ apiVersion: `${group}/v1alpha1`, kind, namespace: "default", name }, "merge", body, subresource ? { subresource } : {});
}

function getProvider(client: Client, group: string, kind: string, name: string): KObject | undefined {
  return client.get({ apiVersion: `${group}/v1alpha1`, kind, namespace: "default", name });
}

function machine(client: Client, name: string): KObject | undefined {
  return client.get({ apiVersion: CAPI, kind: "Machine", namespace: "default", name });
}

async function createMachine(
  client: Client,
  name: string,
  opts: { infraKind?: string; bootKind?: string; labels?: Record<string, string>; annotations?: Record<string, string>; spec?: Record<string, unknown> } = {},
): Promise<KObject> {
  return client.create({
    apiVersion: CAPI,
    kind: "Machine",
    metadata: { name, namespace: "default", labels: opts.labels, annotations: opts.annotations },
    spec: {
      clusterName: "c1",
      bootstrap: { configRef: { apiGroup: BOOT, kind: opts.bootKind ?? "TestConfig", name: `${name}-boot` } },
      infrastructureRef: { apiGroup: INFRA, kind: opts.infraKind ?? "TestMachine", name: `${name}-infra` },
      ...(opts.spec ?? {}),
    },
  });
}

function phase(o: KObject | undefined): string | undefined {
  return (o?.status as { phase?: string } | undefined)?.phase;
}

/** A Machine with bootstrap and infrastructure ready and a Node in the workload cluster. */
async function runningMachine(e: Env, name: string, opts: Parameters<typeof createMachine>[2] = {}, node: Parameters<FakeWorkload["addNode"]>[2] = {}): Promise<KObject> {
  await createProvider(e.client, BOOT, "TestConfig", `${name}-boot`);
  await createProvider(e.client, INFRA, "TestMachine", `${name}-infra`);
  await createMachine(e.client, name, opts);
  await patchProvider(e.client, BOOT, "TestConfig", `${name}-boot`, { status: { initialization: { dataSecretCreated: true }, dataSecretName: `${name}-data` } }, "status");
  await patchProvider(e.client, INFRA, "TestMachine", `${name}-infra`, { spec: { providerID: `test://${name}` } });
  await patchProvider(e.client, INFRA, "TestMachine", `${name}-infra`, { status: { initialization: { provisioned: true } } }, "status");
  e.workload.addNode(`${name}-node`, `test://${name}`, node);
  return waitFor(`${name} Running`, () => {
    const m = machine(e.client, name);
    return phase(m) === "Running" && getCondition(m!, "Ready")?.status === "True" && m;
  });
}

// ---------------------------------------------------------------------------------------------

describe("Machine controller: provisioning", () => {
  for (const contract of ["v1beta2", "v1beta1"] as const) {
    it(`goes Pending → Provisioning → Provisioned → Running (${contract} provider contract)`, async () => {
      const e = setup();
      const { client } = e;
      const bootKind = contract === "v1beta2" ? "TestConfig" : "LegacyConfig";
      const infraKind = contract === "v1beta2" ? "TestMachine" : "LegacyMachine";
      const cluster = await createCluster(client);
      // Created by a MachineSet: the Machine takes over as controller.
      const msRef = { apiVersion: CAPI, kind: "MachineSet", name: "ms", uid: "00000000-0000-0000-0000-000000000001", controller: true };
      await createProvider(client, BOOT, bootKind, "m1-boot", { ownerReferences: [msRef] });
      await createProvider(client, INFRA, infraKind, "m1-infra", { ownerReferences: [msRef] });
      await createMachine(client, "m1", { bootKind, infraKind });

      let m = await waitFor("Pending with finalizer", () => {
        const x = machine(client, "m1");
        return x?.metadata.finalizers?.includes("machine.cluster.x-k8s.io") && phase(x) === "Pending" && x;
      });
      expect(m.metadata.labels?.["cluster.x-k8s.io/cluster-name"]).toBe("c1");
      expect(m.metadata.ownerReferences).toEqual([{ apiVersion: CAPI, kind: "Cluster", name: "c1", uid: cluster.metadata.uid! }]);
      expect(getCondition(m, "BootstrapConfigReady")).toMatchObject({ status: "False", reason: "NotReady" });
      expect(getCondition(m, "InfrastructureReady")).toMatchObject({ status: "False", reason: "NotReady" });
      expect(getCondition(m, "Ready")?.status).toBe("False");
      expect(getCondition(m, "Deleting")).toMatchObject({ status: "False", reason: "NotDeleting" });
      expect(getCondition(m, "Paused")).toMatchObject({ status: "False", reason: "NotPaused" });
      for (const [kind, group] of [
        [bootKind, BOOT],
        [infraKind, INFRA],
      ] as const) {
        const p = await waitFor(`${kind} adopted`, () => {
          const o = getProvider(client, group, kind, kind === bootKind ? "m1-boot" : "m1-infra");
          return o?.metadata.ownerReferences?.some((r) => r.kind === "Machine") && o;
        });
        expect(p.metadata.ownerReferences).toEqual([{ apiVersion: CAPI, kind: "Machine", name: "m1", uid: m.metadata.uid!, controller: true, blockOwnerDeletion: true }]);
        expect(p.metadata.labels?.["cluster.x-k8s.io/cluster-name"]).toBe("c1");
      }

      // Bootstrap data ready → Provisioning, dataSecretName copied.
      const bootStatus = contract === "v1beta2" ? { initialization: { dataSecretCreated: true }, dataSecretName: "m1-data" } : { ready: true, dataSecretName: "m1-data" };
      await patchProvider(client, BOOT, bootKind, "m1-boot", { status: bootStatus }, "status");
      m = await waitFor("Provisioning", () => {
        const x = machine(client, "m1");
        return phase(x) === "Provisioning" && x;
      });
      expect((m.spec as { bootstrap: { dataSecretName?: string } }).bootstrap.dataSecretName).toBe("m1-data");
      expect((m.status as { initialization?: unknown }).initialization).toEqual({ bootstrapDataSecretCreated: true });
      expect(getCondition(m, "BootstrapConfigReady")).toMatchObject({ status: "True", reason: "Ready" });

      // Infrastructure provisioned → Provisioned (no Node yet); providerID, addresses, failure domain copied.
      await patchProvider(client, INFRA, infraKind, "m1-infra", { spec: { providerID: "test://m1" } });
      const infraStatus = contract === "v1beta2" ? { initialization: { provisioned: true } } : { ready: true };
      await patchProvider(client, INFRA, infraKind, "m1-infra", { status: { ...infraStatus, addresses: [{ type: "InternalIP", address: "10.10.0.5" }], failureDomain: "pve1" } }, "status");
      m = await waitFor("Provisioned", () => {
        const x = machine(client, "m1");
        return phase(x) === "Provisioned" && x;
      });
      expect((m.spec as { providerID?: string }).providerID).toBe("test://m1");
      expect((m.status as { addresses?: unknown }).addresses).toEqual([{ type: "InternalIP", address: "10.10.0.5" }]);
      expect((m.status as { failureDomain?: string }).failureDomain).toBe("pve1");
      expect(getCondition(m, "InfrastructureReady")).toMatchObject({ status: "True" });
      expect(getCondition(m, "NodeHealthy")).toMatchObject({ status: "Unknown", reason: "InspectionFailed", message: "Waiting for a Node with spec.providerID test://m1 to exist" });

      // The Node registers → nodeRef, nodeInfo, Running, Ready, Available.
      e.workload.addNode("worker-1", "test://m1");
      m = await waitFor("Running", () => {
        const x = machine(client, "m1");
        return phase(x) === "Running" && getCondition(x!, "Available")?.status === "True" && x;
      });
      expect((m.status as { nodeRef?: unknown }).nodeRef).toEqual({ name: "worker-1" });
      expect((m.status as { nodeInfo?: { kubeletVersion?: string } }).nodeInfo?.kubeletVersion).toBe("v1.32.0");
      expect(getCondition(m, "NodeReady")).toMatchObject({ status: "True", reason: "NodeReady" });
      expect(getCondition(m, "NodeHealthy")).toMatchObject({ status: "True", reason: "NodeHealthy" });
      expect(getCondition(m, "Ready")).toMatchObject({ status: "True", reason: "Ready" });
      expect(getV1Beta1Condition(m, "Ready")?.status).toBe("True");
      expect((m.status as { initialization?: unknown }).initialization).toEqual({ bootstrapDataSecretCreated: true, infrastructureProvisioned: true });
      expect((m.status as { observedGeneration?: number }).observedGeneration).toBe(m.metadata.generation);
      const events = client.list("v1", "Event", "default").filter((ev) => (ev.involvedObject as { name?: string }).name === "m1");
      expect(events.map((ev) => ev.reason)).toContain("SuccessfulSetNodeRef");
      // Steady state: Node polls write nothing.
      const rv = machine(client, "m1")!.metadata.resourceVersion;
      const nodeRv = e.workload.nodes.get("worker-1")!.metadata.resourceVersion;
      await Bun.sleep(250);
      expect(machine(client, "m1")!.metadata.resourceVersion).toBe(rv);
      expect(e.workload.nodes.get("worker-1")!.metadata.resourceVersion).toBe(nodeRv);
    });
  }

  it("skips the BootstrapConfig when spec.bootstrap.dataSecretName is given", async () => {
    const e = setup();
    await createCluster(e.client);
    await createProvider(e.client, INFRA, "TestMachine", "m2-infra");
    await e.client.create({
      apiVersion: CAPI,
      kind: "Machine",
      metadata: { name: "m2", namespace: "default" },
      spec: { clusterName: "c1", bootstrap: { dataSecretName: "my-data" }, infrastructureRef: { apiGroup: INFRA, kind: "TestMachine", name: "m2-infra" } },
    });
    const m = await waitFor("reconciled", () => {
      const x = machine(e.client, "m2");
      return getCondition(x ?? { metadata: {} }, "BootstrapConfigReady") && x;
    });
    expect(getCondition(m, "BootstrapConfigReady")).toMatchObject({ status: "True", reason: "DataSecretProvided" });
    expect(phase(m)).toBe("Pending");
  });

  it("keeps conditions other controllers own", async () => {
    const e = setup();
    await createCluster(e.client);
    await runningMachine(e, "m3");
    const now = new Date().toISOString().slice(0, 19) + "Z";
    const cur = machine(e.client, "m3")!;
    const conditions = [
      ...((cur.status as { conditions: unknown[] }).conditions ?? []),
      { type: "HealthCheckSucceeded", status: "False", reason: "UnhealthyNode", message: "x", lastTransitionTime: now },
      { type: "OwnerRemediated", status: "False", reason: "WaitingForRemediation", message: "", lastTransitionTime: now },
    ];
    await e.client.patch({ apiVersion: CAPI, kind: "Machine", namespace: "default", name: "m3" }, "merge", { status: { conditions } }, { subresource: "status" });
    const m = await waitFor("Ready False from HealthCheckSucceeded", () => {
      const x = machine(e.client, "m3");
      return getCondition(x!, "Ready")?.status === "False" && x;
    });
    expect(getCondition(m, "Ready")?.message).toBe("* HealthCheckSucceeded: x");
    await Bun.sleep(150); // several node polls later
    const later = machine(e.client, "m3")!;
    expect(getCondition(later, "HealthCheckSucceeded")).toMatchObject({ status: "False", reason: "UnhealthyNode" });
    expect(getCondition(later, "OwnerRemediated")).toMatchObject({ status: "False", reason: "WaitingForRemediation" });
  });

  it("stops at Paused while the Cluster is paused", async () => {
    const e = setup();
    await createCluster(e.client, "c1", { paused: true });
    await createProvider(e.client, BOOT, "TestConfig", "p-boot");
    await createProvider(e.client, INFRA, "TestMachine", "p-infra");
    await createMachine(e.client, "p");
    const m = await waitFor("Paused", () => {
      const x = machine(e.client, "p");
      return getCondition(x!, "Paused")?.status === "True" && x;
    });
    expect(getCondition(m, "Paused")).toMatchObject({ reason: "Paused", message: "Cluster spec.paused is set to true" });
    expect(phase(m)).toBeUndefined();
    expect(getProvider(e.client, BOOT, "TestConfig", "p-boot")!.metadata.ownerReferences).toBeUndefined();
  });
});

describe("Machine controller: Node", () => {
  it("syncs labels, annotations and taints from the Machine to the Node", async () => {
    const e = setup();
    await createCluster(e.client);
    await runningMachine(
      e,
      "n1",
      {
        labels: { "node-role.kubernetes.io/worker": "", "node.cluster.x-k8s.io/pool": "a", "pool.node-restriction.kubernetes.io/zone": "z1", app: "not-synced" },
        annotations: { "node.cluster.x-k8s.io/note": "hello", "other/annotation": "not-synced" },
        spec: {
          taints: [
            { key: "dedicated", value: "gpu", effect: "NoSchedule", propagation: "Always" },
            { key: "warmup", effect: "NoExecute", propagation: "OnInitialization" },
          ],
        },
      },
      { labels: { keep: "me" }, taints: [{ key: "node.cluster.x-k8s.io/uninitialized", effect: "NoSchedule" }, { key: "foreign", effect: "NoSchedule" }] },
    );
    let node: KObject = await waitFor("node synced", () => {
      const n = e.workload.nodes.get("n1-node")!;
      return n.metadata.annotations?.["cluster.x-k8s.io/machine"] !== undefined && n;
    });
    expect(node.metadata.labels).toEqual({
      keep: "me",
      "node-role.kubernetes.io/worker": "",
      "node.cluster.x-k8s.io/pool": "a",
      "pool.node-restriction.kubernetes.io/zone": "z1",
    });
    expect(node.metadata.annotations).toEqual({
      "cluster.x-k8s.io/cluster-name": "c1",
      "cluster.x-k8s.io/cluster-namespace": "default",
      "cluster.x-k8s.io/machine": "n1",
      "node.cluster.x-k8s.io/note": "hello",
      "cluster.x-k8s.io/labels-from-machine": "node-role.kubernetes.io/worker,node.cluster.x-k8s.io/pool,pool.node-restriction.kubernetes.io/zone",
      "cluster.x-k8s.io/annotations-from-machine": "node.cluster.x-k8s.io/note",
      "cluster.x-k8s.io/taints-from-machine": "dedicated:NoSchedule",
    });
    expect((node.spec as { taints: unknown[] }).taints).toEqual([
      { key: "foreign", effect: "NoSchedule" },
      { key: "dedicated", value: "gpu", effect: "NoSchedule" },
      { key: "warmup", effect: "NoExecute" },
    ]);

    // Someone removes the OnInitialization taint: it stays removed. The Machine drops a label,
    // an annotation and its Always taint: they leave the Node too.
    await e.workload.patchNode("n1-node", { spec: { taints: [{ key: "foreign", effect: "NoSchedule" }, { key: "dedicated", value: "gpu", effect: "NoSchedule" }] } });
    await e.client.patch({ apiVersion: CAPI, kind: "Machine", namespace: "default", name: "n1" }, "json", [
      { op: "remove", path: "/metadata/labels/node.cluster.x-k8s.io~1pool" },
      { op: "remove", path: "/metadata/annotations/node.cluster.x-k8s.io~1note" },
      { op: "replace", path: "/spec/taints", value: [{ key: "warmup", effect: "NoExecute", propagation: "OnInitialization" }] },
    ]);
    await waitFor("node re-synced", () => {
      const n = e.workload.nodes.get("n1-node")!;
      return !("node.cluster.x-k8s.io/pool" in (n.metadata.labels ?? {})) && !("node.cluster.x-k8s.io/note" in (n.metadata.annotations ?? {})) && n;
    });
    await waitFor("taint removed", () => ((e.workload.nodes.get("n1-node")!.spec as { taints: { key: string }[] }).taints.every((t) => t.key !== "dedicated") ? true : undefined));
    node = e.workload.nodes.get("n1-node")!;
    expect(node.metadata.labels).toEqual({ keep: "me", "node-role.kubernetes.io/worker": "", "pool.node-restriction.kubernetes.io/zone": "z1" });
    expect(node.metadata.annotations?.["cluster.x-k8s.io/annotations-from-machine"]).toBe("");
    expect(node.metadata.annotations?.["cluster.x-k8s.io/taints-from-machine"]).toBe("");
    expect((node.spec as { taints: unknown[] }).taints).toEqual([{ key: "foreign", effect: "NoSchedule" }]);
  });

  it("reports a NotReady Node and a deleted Node", async () => {
    const e = setup();
    await createCluster(e.client);
    await runningMachine(e, "r1");
    const node = e.workload.nodes.get("r1-node")!;
    (node.status as { conditions: { type: string; status: string; message?: string }[] }).conditions[0] = { type: "Ready", status: "False", message: "kubelet stopped posting" };
    let m = await waitFor("NodeReady False", () => {
      const x = machine(e.client, "r1");
      return getCondition(x!, "NodeReady")?.status === "False" && x;
    });
    expect(getCondition(m, "NodeReady")).toMatchObject({ reason: "NodeNotReady", message: "* Node.Ready: kubelet stopped posting" });
    expect(getCondition(m, "NodeHealthy")).toMatchObject({ status: "False", reason: "NodeNotHealthy", message: "* Node.Ready: kubelet stopped posting" });
    expect(getCondition(m, "Ready")).toMatchObject({ status: "False", reason: "NotReady" });
    expect(getCondition(m, "Available")).toMatchObject({ status: "False", reason: "NotReady" });
    e.workload.nodes.delete("r1-node");
    m = await waitFor("NodeDeleted", () => {
      const x = machine(e.client, "r1");
      return getCondition(x!, "NodeHealthy")?.reason === "NodeDeleted" && x;
    });
    expect(getCondition(m, "NodeHealthy")?.message).toBe("Node r1-node has been deleted while the Machine still exists");
  });
});

describe("Machine controller: deletion", () => {
  it("runs hooks, drains, then deletes infrastructure, bootstrap and Node in order", async () => {
    const e = setup();
    const { client, workload } = e;
    await createCluster(e.client);
    // A control-plane member must remain for the worker's Node to be drained and deleted.
    await runningMachine(e, "cp0", { labels: { "cluster.x-k8s.io/control-plane": "" } });
    await runningMachine(e, "w1", {
      annotations: { "pre-drain.delete.hook.machine.cluster.x-k8s.io/backup": "", "pre-terminate.delete.hook.machine.cluster.x-k8s.io/detach": "" },
    });
    const rs = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "u1", controller: true };
    const ds = { apiVersion: "apps/v1", kind: "DaemonSet", name: "cni", uid: "u2", controller: true };
    workload.addPod("app", "web-1", "w1-node", { ownerReferences: [rs] });
    workload.addPod("app", "bare", "w1-node");
    workload.addPod("kube-system", "cni-x", "w1-node", { ownerReferences: [ds] });
    workload.addPod("app", "keeper", "w1-node", { ownerReferences: [rs], labels: { "cluster.x-k8s.io/drain": "skip" } });
    workload.addPod("kube-system", "static", "w1-node", { annotations: { "kubernetes.io/config.mirror": "x" } });
    workload.addPod("app", "other-node", "cp0-node", { ownerReferences: [rs] });
    // Finalizers hold infra and bootstrap objects so the order is visible.
    await patchProvider(client, INFRA, "TestMachine", "w1-infra", { metadata: { finalizers: ["test/hold"] } });
    await patchProvider(client, BOOT, "TestConfig", "w1-boot", { metadata: { finalizers: ["test/hold"] } });

    await client.delete({ apiVersion: CAPI, kind: "Machine", namespace: "default", name: "w1" });
    let m = await waitFor("pre-drain hook", () => {
      const x = machine(client, "w1");
      return getCondition(x!, "Deleting")?.reason === "WaitingForPreDrainHook" && x;
    });
    expect(getCondition(m, "Deleting")).toMatchObject({ status: "True", message: "Waiting for pre-drain hooks to succeed (hooks: pre-drain.delete.hook.machine.cluster.x-k8s.io/backup)" });
    expect(phase(m)).toBe("Deleting");
    expect(getCondition(m, "Ready")).toMatchObject({ status: "False", message: "* Deleting: Machine deletion in progress, stage: WaitingForPreDrainHook" });
    await Bun.sleep(100);
    expect(workload.log).toEqual([]);

    await client.patch({ apiVersion: CAPI, kind: "Machine", namespace: "default", name: "w1" }, "json", [
      { op: "remove", path: "/metadata/annotations/pre-drain.delete.hook.machine.cluster.x-k8s.io~1backup" },
    ]);
    m = await waitFor("pre-terminate hook", () => {
      const x = machine(client, "w1");
      return getCondition(x!, "Deleting")?.reason === "WaitingForPreTerminateHook" && x;
    });
    expect(workload.log).toEqual(["cordon w1-node", "evict app/bare", "evict app/web-1"]);
    expect([...workload.pods.keys()].sort()).toEqual(["app/keeper", "app/other-node", "kube-system/cni-x", "kube-system/static"]);
    expect((workload.nodes.get("w1-node")!.spec as { unschedulable?: boolean }).unschedulable).toBe(true);
    expect(getV1Beta1Condition(m, "DrainingSucceeded")?.status).toBe("True");
    const deletion = (m.status as { deletion?: Record<string, string> }).deletion!;
    expect(Object.keys(deletion).sort()).toEqual(["nodeDrainStartTime", "waitForNodeVolumeDetachStartTime", "waitForPreDrainHookStartTime", "waitForPreTerminateHookStartTime"]);
    expect(getProvider(client, INFRA, "TestMachine", "w1-infra")!.metadata.deletionTimestamp).toBeUndefined();

    await client.patch({ apiVersion: CAPI, kind: "Machine", namespace: "default", name: "w1" }, "json", [
      { op: "remove", path: "/metadata/annotations/pre-terminate.delete.hook.machine.cluster.x-k8s.io~1detach" },
    ]);
    m = await waitFor("infra deleting", () => {
      const x = machine(client, "w1");
      return getCondition(x!, "Deleting")?.reason === "WaitingForInfrastructureDeletion" && x;
    });
    expect(getCondition(m, "Deleting")?.message).toBe("Waiting for TestMachine to be deleted");
    expect(getProvider(client, INFRA, "TestMachine", "w1-infra")!.metadata.deletionTimestamp).toBeDefined();
    expect(getProvider(client, BOOT, "TestConfig", "w1-boot")!.metadata.deletionTimestamp).toBeUndefined();

    await patchProvider(client, INFRA, "TestMachine", "w1-infra", { metadata: { finalizers: null } });
    await waitFor("bootstrap deleting", () => getCondition(machine(client, "w1")!, "Deleting")?.reason === "WaitingForBootstrapDeletion");
    expect(getProvider(client, BOOT, "TestConfig", "w1-boot")!.metadata.deletionTimestamp).toBeDefined();
    expect(workload.nodes.has("w1-node")).toBe(true);

    await patchProvider(client, BOOT, "TestConfig", "w1-boot", { metadata: { finalizers: null } });
    await waitFor("Machine gone", () => !machine(client, "w1"));
    expect(workload.log.at(-1)).toBe("delete node w1-node");
    expect(workload.nodes.has("cp0-node")).toBe(true);
    const reasons = client
      .list("v1", "Event", "default")
      .filter((ev) => (ev.involvedObject as { name?: string }).name === "w1")
      .map((ev) => ev.reason);
    expect(reasons).toContain("SuccessfulDrainNode");
    expect(reasons).toContain("NodeDrained");
    expect(reasons).toContain("NodeVolumesDetached");
  });

  it("waits for Pods an eviction cannot remove yet (PodDisruptionBudget)", async () => {
    const e = setup();
    await createCluster(e.client);
    await runningMachine(e, "cp0", { labels: { "cluster.x-k8s.io/control-plane": "" } });
    await runningMachine(e, "w2");
    e.workload.addPod("app", "db-0", "w2-node", { ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: "u", controller: true }], labels: { pdb: "blocked" } });
    await e.client.delete({ apiVersion: CAPI, kind: "Machine", namespace: "default", name: "w2" });
    const m = await waitFor("draining", () => {
      const x = machine(e.client, "w2");
      return getCondition(x!, "Deleting")?.reason === "DrainingNode" && getCondition(x!, "Deleting")?.message?.includes("db-0") && x;
    });
    expect(getCondition(m, "Deleting")!.message).toMatch(/^Drain not completed yet \(started at .*\):\n\* Pod app\/db-0: cannot evict pod as it would violate the pod's disruption budget\.$/);
    e.workload.pods.get("app/db-0")!.metadata.labels = {};
    await waitFor("Machine gone", () => !machine(e.client, "w2"));
    expect(e.workload.log).toContain("evict app/db-0");
  });

  it("waits for the Node's volumes to detach before terminating", async () => {
    const e = setup();
    await createCluster(e.client);
    await runningMachine(e, "cp0", { labels: { "cluster.x-k8s.io/control-plane": "" } });
    await runningMachine(e, "w4");
    const node = e.workload.nodes.get("w4-node")!;
    (node.status as Record<string, unknown>).volumesAttached = [{ name: "kubernetes.io/csi/csi.proxmox^vm-100-disk-1", devicePath: "" }];
    await e.client.delete({ apiVersion: CAPI, kind: "Machine", namespace: "default", name: "w4" });
    const m = await waitFor("waiting for volumes", () => {
      const x = machine(e.client, "w4");
      return getCondition(x!, "Deleting")?.reason === "WaitingForVolumeDetach" && x;
    });
    expect(getCondition(m, "Deleting")!.message).toContain("* Node with .status.volumesAttached entries: kubernetes.io/csi/csi.proxmox^vm-100-disk-1");
    expect(getProvider(e.client, INFRA, "TestMachine", "w4-infra")!.metadata.deletionTimestamp).toBeUndefined();
    delete (e.workload.nodes.get("w4-node")!.status as Record<string, unknown>).volumesAttached;
    await waitFor("Machine gone", () => !machine(e.client, "w4"));
    expect(e.workload.nodes.has("w4-node")).toBe(false);
  });

  it("skips drain with exclude-node-draining and leaves the Node of the last control-plane Machine", async () => {
    const e = setup();
    await createCluster(e.client);
    await runningMachine(e, "cp1", { labels: { "cluster.x-k8s.io/control-plane": "" }, annotations: { "machine.cluster.x-k8s.io/exclude-node-draining": "" } });
    e.workload.addPod("app", "web", "cp1-node", { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "u", controller: true }] });
    await e.client.delete({ apiVersion: CAPI, kind: "Machine", namespace: "default", name: "cp1" });
    await waitFor("Machine gone", () => !machine(e.client, "cp1"));
    // No control-plane member left: neither drained nor deleted (upstream errNoControlPlaneNodes).
    expect(e.workload.log).toEqual([]);
    expect(e.workload.nodes.has("cp1-node")).toBe(true);
  });

  it("gives up deleting the Node after spec.deletion.nodeDeletionTimeoutSeconds", async () => {
    const e = setup();
    await createCluster(e.client);
    await runningMachine(e, "cp0", { labels: { "cluster.x-k8s.io/control-plane": "" } });
    await runningMachine(e, "w3", { spec: { deletion: { nodeDeletionTimeoutSeconds: 1 } } });
    e.workload.failDeleteNode = true;
    await e.client.delete({ apiVersion: CAPI, kind: "Machine", namespace: "default", name: "w3" });
    await waitFor("DeletingNode", () => getCondition(machine(e.client, "w3") ?? { metadata: {} }, "Deleting")?.reason === "DeletingNode");
    await waitFor("Machine gone", () => !machine(e.client, "w3"), 5000);
    expect(e.workload.nodes.has("w3-node")).toBe(true);
    const reasons = e.client
      .list("v1", "Event", "default")
      .filter((ev) => (ev.involvedObject as { name?: string }).name === "w3")
      .map((ev) => ev.reason);
    expect(reasons).toContain("FailedDeleteNode");
  });
});
