import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capiCRDs } from "../../kinds/capi/crds.ts";
import { syncBundledCRDs } from "../../kinds/sync.ts";
import type { KObject } from "../../lib/kobject.ts";
import type { WorkloadClient, WorkloadClusters } from "../../providers/workload/types.ts";
import { Registry } from "../../registry/registry.ts";
import { systemContext } from "../../registry/rest/context.ts";
import { create } from "../../registry/rest/create.ts";
import type { RestDeps } from "../../registry/rest/deps.ts";
import type { Client } from "../../runtime/client.ts";
import { getCondition, getV1Beta1Condition } from "../../runtime/conditions.ts";
import { Manager } from "../../runtime/manager.ts";
import { openDatabase } from "../../store/open.ts";
import { Store } from "../../store/store.ts";
import { setupMachineHealthCheckController } from "./machinehealthcheck.ts";
import { parseUnhealthyRange, remediationAllowed, scaledValue } from "./machinehealthcheck-targets.ts";

/** The workload cluster's Nodes, in memory (the health check only reads Nodes). */
class FakeNodes implements WorkloadClient {
  readonly server = "fake://workload";
  nodes = new Map<string, KObject>();

  set(name: string, ready: string, since = new Date()): void {
    this.nodes.set(name, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name },
      status: { conditions: [{ type: "Ready", status: ready, reason: ready === "True" ? "KubeletReady" : "KubeletNotReady", lastTransitionTime: since.toISOString() }] },
    });
  }
  async listNodes(): Promise<KObject[]> {
    return [...this.nodes.values()];
  }
  async getNode(name: string): Promise<KObject | undefined> {
    return this.nodes.get(name);
  }
  async patchNode(): Promise<KObject> {
    throw new Error("not used");
  }
  async deleteNode(): Promise<void> {
    throw new Error("not used");
  }
  async listPodsOnNode(): Promise<KObject[]> {
    return [];
  }
  async evictPod(): Promise<"evicted"> {
    throw new Error("not used");
  }
}

const CAPI = "cluster.x-k8s.io/v1beta2";
const dirs: string[] = [];
const managers: Manager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(): { client: Client; nodes: FakeNodes } {
  const dir = mkdtempSync(join(tmpdir(), "capx-mhc-"));
  dirs.push(dir);
  const store = new Store(openDatabase(join(dir, "s.db"), { synchronous: "NORMAL" }));
  const registry = new Registry(store);
  const d: RestDeps = { store, registry, now: () => new Date() };
  create(d, registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: "default" } }, systemContext("t"));
  syncBundledCRDs(
    d,
    capiCRDs.map((crd) => ({ crd })),
  );
  const m = new Manager(d);
  managers.push(m);
  const nodes = new FakeNodes();
  const workloads: WorkloadClusters = { forCluster: async () => nodes };
  setupMachineHealthCheckController(m, workloads, { resyncIntervalMs: 200 });
  m.start();
  return { client: m.client("test"), nodes };
}

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 4500): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

const rfc = (d = new Date()) => `${d.toISOString().slice(0, 19)}Z`;

async function createCluster(client: Client, spec: Record<string, unknown> = {}): Promise<KObject> {
  await client.create({ apiVersion: CAPI, kind: "Cluster", metadata: { name: "c1", namespace: "default" }, spec: { controlPlaneEndpoint: { host: "10.10.0.2", port: 6443 }, ...spec } });
  return client.patch(
    { apiVersion: CAPI, kind: "Cluster", namespace: "default", name: "c1" },
    "merge",
    {
      status: {
        initialization: { infrastructureProvisioned: true, controlPlaneInitialized: true },
        conditions: [
          { type: "InfrastructureReady", status: "True", reason: "Ready", message: "", lastTransitionTime: rfc() },
          { type: "ControlPlaneInitialized", status: "True", reason: "Initialized", message: "", lastTransitionTime: rfc() },
        ],
      },
    },
    { subresource: "status" },
  );
}

/** A Machine of MachineSet "ms" with `status.nodeRef` (when node is given). */
async function createMachine(client: Client, name: string, node: string | undefined, meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}, conditions: unknown[] = []): Promise<KObject> {
  await client.create({
    apiVersion: CAPI,
    kind: "Machine",
    metadata: {
      name,
      namespace: "default",
      labels: { "cluster.x-k8s.io/cluster-name": "c1", pool: "a", ...(meta.labels ?? {}) },
      annotations: meta.annotations,
      ownerReferences: [{ apiVersion: CAPI, kind: "MachineSet", name: "ms", uid: "00000000-0000-0000-0000-000000000001", controller: true }],
    },
    spec: {
      clusterName: "c1",
      bootstrap: { dataSecretName: "data" },
      infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "TestMachine", name },
    },
  });
  return client.patch(
    { apiVersion: CAPI, kind: "Machine", namespace: "default", name },
    "merge",
    { status: { ...(node ? { nodeRef: { name: node } } : {}), phase: node ? "Running" : "Provisioned", conditions: [{ type: "InfrastructureReady", status: "True", reason: "Ready", message: "", lastTransitionTime: rfc() }, ...conditions] } },
    { subresource: "status" },
  );
}

async function createMHC(client: Client, spec: Record<string, unknown> = {}, annotations?: Record<string, string>): Promise<void> {
  await client.create({
    apiVersion: CAPI,
    kind: "MachineHealthCheck",
    metadata: { name: "mhc", namespace: "default", annotations },
    spec: {
      clusterName: "c1",
      selector: { matchLabels: { pool: "a" } },
      checks: {
        unhealthyNodeConditions: [
          { type: "Ready", status: "False", timeoutSeconds: 300 },
          { type: "Ready", status: "Unknown", timeoutSeconds: 300 },
        ],
      },
      ...spec,
    },
  });
}

const get = (client: Client, kind: string, name: string) => client.get({ apiVersion: CAPI, kind, namespace: "default", name });
const mhcStatus = (client: Client) => get(client, "MachineHealthCheck", "mhc")?.status as Record<string, unknown> | undefined;
const tenMinutesAgo = () => new Date(Date.now() - 600_000);

describe("MachineHealthCheck controller", () => {
  it("marks a Machine whose Node is NotReady past the timeout and leaves healthy ones healthy", async () => {
    const { client, nodes } = setup();
    const cluster = await createCluster(client);
    nodes.set("node-a", "True");
    nodes.set("node-b", "False", tenMinutesAgo());
    await createMachine(client, "m-a", "node-a");
    await createMachine(client, "m-b", "node-b");
    await createMachine(client, "other", "node-a", { labels: { pool: "b" } });
    await createMHC(client);

    const b = await waitFor("m-b unhealthy", () => {
      const m = get(client, "Machine", "m-b");
      return getCondition(m!, "HealthCheckSucceeded")?.status === "False" && m;
    });
    expect(getCondition(b, "HealthCheckSucceeded")).toMatchObject({
      reason: "UnhealthyNode",
      message: "Health check failed:\n  * Condition Ready on Node is reporting status False with reason KubeletNotReady for more than 5m0s",
    });
    expect(getCondition(b, "OwnerRemediated")).toMatchObject({ status: "False", reason: "WaitingForRemediation", message: "Waiting for remediation" });
    expect(getV1Beta1Condition(b, "HealthCheckSucceeded")).toMatchObject({ status: "False", reason: "UnhealthyNode", severity: "Warning" });
    expect(getV1Beta1Condition(b, "OwnerRemediated")).toMatchObject({ status: "False", reason: "WaitingForRemediation" });
    const a = await waitFor("m-a healthy", () => {
      const m = get(client, "Machine", "m-a");
      return getCondition(m!, "HealthCheckSucceeded")?.status === "True" && m;
    });
    expect(getCondition(a, "HealthCheckSucceeded")?.reason).toBe("HealthCheckSucceeded");
    expect(getCondition(a, "OwnerRemediated")).toBeUndefined();
    expect(getCondition(get(client, "Machine", "other")!, "HealthCheckSucceeded")).toBeUndefined();
    // Conditions of other writers survive.
    expect(getCondition(b, "InfrastructureReady")?.status).toBe("True");

    const mhc = await waitFor("MHC status", () => {
      const x = get(client, "MachineHealthCheck", "mhc");
      return (x?.status as { currentHealthy?: number } | undefined)?.currentHealthy === 1 && x;
    });
    expect(mhc.status).toMatchObject({ expectedMachines: 2, currentHealthy: 1, remediationsAllowed: 1, targets: ["m-a", "m-b"], observedGeneration: 1 });
    expect(getCondition(mhc, "RemediationAllowed")).toMatchObject({ status: "True", reason: "RemediationAllowed" });
    expect(getCondition(mhc, "Paused")).toMatchObject({ status: "False", reason: "NotPaused" });
    expect(mhc.metadata.labels?.["cluster.x-k8s.io/cluster-name"]).toBe("c1");
    expect(mhc.metadata.ownerReferences).toEqual([{ apiVersion: CAPI, kind: "Cluster", name: "c1", uid: cluster.metadata.uid! }]);
    const events = client.list("v1", "Event", "default").filter((e) => (e.involvedObject as { name?: string }).name === "m-b");
    expect(events.map((e) => e.reason)).toContain("MachineMarkedUnhealthy");
  });

  it("waits until a Node condition has held for its timeout", async () => {
    const { client, nodes } = setup();
    await createCluster(client);
    nodes.set("node-a", "Unknown");
    await createMachine(client, "m-a", "node-a");
    await createMHC(client, { checks: { unhealthyNodeConditions: [{ type: "Ready", status: "Unknown", timeoutSeconds: 2 }] } });
    await waitFor("first check", () => mhcStatus(client)?.expectedMachines === 1);
    expect(mhcStatus(client)).toMatchObject({ currentHealthy: 0 });
    expect(getCondition(get(client, "Machine", "m-a")!, "HealthCheckSucceeded")).toBeUndefined();
    const m = await waitFor("unhealthy after the timeout", () => {
      const x = get(client, "Machine", "m-a");
      return getCondition(x!, "HealthCheckSucceeded")?.status === "False" && x;
    });
    expect(getCondition(m, "HealthCheckSucceeded")?.message).toContain("Condition Ready on Node is reporting status Unknown with reason KubeletNotReady for more than 2s");
  });

  it("short-circuits with triggerIf.unhealthyLessThanOrEqualTo and unhealthyInRange", async () => {
    const { client, nodes } = setup();
    await createCluster(client);
    nodes.set("node-a", "True");
    nodes.set("node-b", "False", tenMinutesAgo());
    nodes.set("node-c", "False", tenMinutesAgo());
    for (const x of ["a", "b", "c"]) await createMachine(client, `m-${x}`, `node-${x}`);
    await createMHC(client, { remediation: { triggerIf: { unhealthyLessThanOrEqualTo: "40%" } } });
    const mhc = await waitFor("TooManyUnhealthy", () => {
      const x = get(client, "MachineHealthCheck", "mhc");
      return getCondition(x!, "RemediationAllowed")?.status === "False" && x;
    });
    expect(getCondition(mhc, "RemediationAllowed")).toMatchObject({
      reason: "TooManyUnhealthy",
      message: "Remediation is not allowed, the number of not started or unhealthy machines exceeds maxUnhealthy (total: 3, unhealthy: 2, maxUnhealthy: 40%)",
    });
    expect(mhc.status).toMatchObject({ expectedMachines: 3, currentHealthy: 1, remediationsAllowed: 0 });
    const b = await waitFor("m-b marked", () => {
      const x = get(client, "Machine", "m-b");
      return getCondition(x!, "HealthCheckSucceeded")?.status === "False" && x;
    });
    expect(getCondition(b, "OwnerRemediated")).toBeUndefined();
    const events = client.list("v1", "Event", "default").filter((e) => (e.involvedObject as { kind?: string }).kind === "MachineHealthCheck");
    expect(events.map((e) => e.reason)).toContain("RemediationRestricted");

    // unhealthyInRange wins over unhealthyLessThanOrEqualTo.
    await client.patch({ apiVersion: CAPI, kind: "MachineHealthCheck", namespace: "default", name: "mhc" }, "merge", { spec: { remediation: { triggerIf: { unhealthyInRange: "[1-3]" } } } });
    const allowed = await waitFor("allowed", () => {
      const x = get(client, "MachineHealthCheck", "mhc");
      return getCondition(x!, "RemediationAllowed")?.status === "True" && x;
    });
    expect(allowed.status).toMatchObject({ remediationsAllowed: 1 });
    await waitFor("OwnerRemediated", () => getCondition(get(client, "Machine", "m-c")!, "OwnerRemediated")?.reason === "WaitingForRemediation");
    await client.patch({ apiVersion: CAPI, kind: "MachineHealthCheck", namespace: "default", name: "mhc" }, "merge", { spec: { remediation: { triggerIf: { unhealthyInRange: "[3-5]" } } } });
    const denied = await waitFor("out of range", () => {
      const x = get(client, "MachineHealthCheck", "mhc");
      return getCondition(x!, "RemediationAllowed")?.status === "False" && x;
    });
    expect(getCondition(denied, "RemediationAllowed")?.message).toBe(
      "Remediation is not allowed, the number of not started or unhealthy machines does not fall within the range (total: 3, unhealthy: 2, unhealthyRange: [3-5])",
    );
  });

  it("ignores Machines with skip-remediation or paused annotations", async () => {
    const { client, nodes } = setup();
    await createCluster(client);
    nodes.set("node-a", "False", tenMinutesAgo());
    await createMachine(client, "skipped", "node-a", { annotations: { "cluster.x-k8s.io/skip-remediation": "" } });
    await createMachine(client, "paused", "node-a", { annotations: { "cluster.x-k8s.io/paused": "" } });
    await createMachine(client, "checked", "node-a");
    await createMHC(client);
    await waitFor("checked marked", () => getCondition(get(client, "Machine", "checked")!, "HealthCheckSucceeded")?.status === "False");
    await waitFor("MHC status", () => mhcStatus(client)?.expectedMachines !== undefined);
    expect(mhcStatus(client)).toMatchObject({ expectedMachines: 1, targets: ["checked"] });
    for (const name of ["skipped", "paused"]) {
      const m = get(client, "Machine", name)!;
      expect(getCondition(m, "HealthCheckSucceeded")).toBeUndefined();
      expect(getCondition(m, "OwnerRemediated")).toBeUndefined();
    }
  });

  it("does nothing while the MachineHealthCheck or its Cluster is paused", async () => {
    const { client, nodes } = setup();
    await createCluster(client);
    nodes.set("node-a", "False", tenMinutesAgo());
    await createMachine(client, "m-a", "node-a");
    await createMHC(client, {}, { "cluster.x-k8s.io/paused": "" });
    const mhc = await waitFor("Paused", () => {
      const x = get(client, "MachineHealthCheck", "mhc");
      return getCondition(x!, "Paused")?.status === "True" && x;
    });
    expect(getCondition(mhc, "Paused")?.message).toBe("MachineHealthCheck has the cluster.x-k8s.io/paused annotation");
    await Bun.sleep(300);
    expect(getCondition(get(client, "Machine", "m-a")!, "HealthCheckSucceeded")).toBeUndefined();
    expect((get(client, "MachineHealthCheck", "mhc")!.status as { expectedMachines?: number }).expectedMachines).toBeUndefined();

    // Unpaused MHC, paused Cluster.
    await client.patch({ apiVersion: CAPI, kind: "Cluster", namespace: "default", name: "c1" }, "merge", { spec: { paused: true } });
    await client.patch({ apiVersion: CAPI, kind: "MachineHealthCheck", namespace: "default", name: "mhc" }, "merge", { metadata: { annotations: null } });
    await waitFor("Cluster paused", () => getCondition(get(client, "MachineHealthCheck", "mhc")!, "Paused")?.message === "Cluster spec.paused is set to true");
    await Bun.sleep(300);
    expect(getCondition(get(client, "Machine", "m-a")!, "HealthCheckSucceeded")).toBeUndefined();
    await client.patch({ apiVersion: CAPI, kind: "Cluster", namespace: "default", name: "c1" }, "merge", { spec: { paused: false } });
    await waitFor("checked after unpause", () => getCondition(get(client, "Machine", "m-a")!, "HealthCheckSucceeded")?.status === "False");
  });

  it("reports the remediate annotation, a deleted Node, a Node that never started, and Machine conditions", async () => {
    const { client, nodes } = setup();
    await createCluster(client);
    nodes.set("node-a", "True");
    await createMachine(client, "annotated", "node-a", { annotations: { "cluster.x-k8s.io/remediate-machine": "" } });
    await createMachine(client, "node-gone", "node-x");
    await createMachine(client, "no-node", undefined);
    const past = rfc(tenMinutesAgo());
    await createMachine(client, "bad-infra", "node-a", {}, [{ type: "BootstrapConfigReady", status: "False", reason: "Failed", message: "", lastTransitionTime: past }]);
    await createMHC(client, {
      checks: {
        nodeStartupTimeoutSeconds: 1,
        unhealthyMachineConditions: [{ type: "BootstrapConfigReady", status: "False", timeoutSeconds: 60 }],
      },
    });
    const reason = (name: string) => getCondition(get(client, "Machine", name)!, "HealthCheckSucceeded");
    await waitFor("all marked", () => ["annotated", "node-gone", "no-node", "bad-infra"].every((n) => reason(n)?.status === "False"));
    expect(reason("annotated")).toMatchObject({ reason: "HasRemediateAnnotation", message: "Health check failed: marked for remediation via cluster.x-k8s.io/remediate-machine annotation" });
    expect(reason("node-gone")).toMatchObject({ reason: "NodeDeleted", message: "Health check failed:\n  * Node node-x has been deleted" });
    expect(reason("no-node")).toMatchObject({ reason: "NodeStartupTimeout", message: "Health check failed:\n  * Node failed to report startup in 1s" });
    expect(reason("bad-infra")).toMatchObject({
      reason: "UnhealthyMachine",
      message: "Health check failed:\n  * Condition BootstrapConfigReady on Machine is reporting status False with reason Failed for more than 1m0s",
    });
  });

  it("does not take over a remediation the owner has started, and lets a disabled startup timeout wait forever", async () => {
    const { client, nodes } = setup();
    await createCluster(client);
    nodes.set("node-a", "False", tenMinutesAgo());
    await createMachine(client, "in-progress", "node-a", {}, [{ type: "OwnerRemediated", status: "False", reason: "MachineDeleting", message: "deleting", lastTransitionTime: rfc() }]);
    await createMachine(client, "waiting", undefined);
    await createMHC(client, { checks: { nodeStartupTimeoutSeconds: 0, unhealthyNodeConditions: [{ type: "Ready", status: "False", timeoutSeconds: 60 }] } });
    await waitFor("marked", () => getCondition(get(client, "Machine", "in-progress")!, "HealthCheckSucceeded")?.status === "False");
    expect(getCondition(get(client, "Machine", "in-progress")!, "OwnerRemediated")).toMatchObject({ reason: "MachineDeleting", message: "deleting" });
    await Bun.sleep(300);
    expect(getCondition(get(client, "Machine", "waiting")!, "HealthCheckSucceeded")).toBeUndefined();
    await waitFor("MHC status", () => mhcStatus(client)?.expectedMachines !== undefined);
    expect(mhcStatus(client)).toMatchObject({ expectedMachines: 2, currentHealthy: 0 });
  });
});

describe("remediation budget", () => {
  it("scales int-or-percent down and parses ranges", () => {
    expect(scaledValue("40%", 3)).toBe(1);
    expect(scaledValue("100%", 7)).toBe(7);
    expect(scaledValue(2, 10)).toBe(2);
    expect(scaledValue("3", 10)).toBe(3);
    expect(() => scaledValue("x", 1)).toThrow();
    expect(parseUnhealthyRange("[1-3]")).toEqual([1, 3]);
    expect(() => parseUnhealthyRange("[3-1]")).toThrow("max value 1 cannot be less than min value 3 for unhealthyRange");
  });

  it("allows remediation within the budget", () => {
    const spec = (triggerIf: Record<string, unknown>) => ({ clusterName: "c", remediation: { triggerIf } });
    expect(remediationAllowed(spec({}), 5, 0)).toEqual({ allowed: true, count: 0 });
    expect(remediationAllowed(spec({ unhealthyLessThanOrEqualTo: 2 }), 5, 3)).toEqual({ allowed: true, count: 0 });
    expect(remediationAllowed(spec({ unhealthyLessThanOrEqualTo: 2 }), 5, 2).allowed).toBe(false);
    expect(remediationAllowed(spec({ unhealthyLessThanOrEqualTo: 0, unhealthyInRange: "[1-4]" }), 5, 3)).toEqual({ allowed: true, count: 2 });
    expect(remediationAllowed(spec({ unhealthyInRange: "[3-4]" }), 5, 3).allowed).toBe(false);
  });
});
