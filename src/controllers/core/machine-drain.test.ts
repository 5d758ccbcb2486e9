import { describe, expect, it } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { drainConditionMessage, filterPods, podsToDrain, type EvictionResult } from "./machine-drain.ts";
import { managedAnnotations, managedLabels, propagateMachineTaints, summarizeNodeConditions, type Taint } from "./machine-node.ts";
import { setReady, templateDiffs } from "./machine-status.ts";
import { setCondition } from "../../runtime/conditions.ts";

function pod(name: string, meta: Partial<KObject["metadata"]> = {}, extra: { phase?: string; volumes?: unknown[] } = {}): KObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "ns", ...meta },
    spec: { nodeName: "n", ...(extra.volumes ? { volumes: extra.volumes } : {}) },
    status: { phase: extra.phase ?? "Running" },
  };
}

const rs = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "1", controller: true };
const ds = { apiVersion: "apps/v1", kind: "DaemonSet", name: "ds", uid: "2", controller: true };

describe("drain pod filters", () => {
  it("skips DaemonSet, mirror and drain=skip Pods; waits for wait-completed; evicts the rest", () => {
    const list = filterPods([
      pod("web", { ownerReferences: [rs] }),
      pod("daemon", { ownerReferences: [ds] }),
      pod("daemon-done", { ownerReferences: [ds] }, { phase: "Succeeded" }),
      pod("static", { annotations: { "kubernetes.io/config.mirror": "x" } }),
      pod("skip", { ownerReferences: [rs], labels: { "cluster.x-k8s.io/drain": "Skip" } }),
      pod("batch", { ownerReferences: [rs], labels: { "cluster.x-k8s.io/drain": "wait-completed" } }),
      pod("bare", {}, { volumes: [{ name: "scratch", emptyDir: {} }] }),
      pod("done", {}, { phase: "Failed" }),
    ]);
    const byName = Object.fromEntries(list.map((p) => [p.pod.metadata.name, p.status]));
    expect(byName.web).toEqual({ behavior: "Drain", reason: "Okay" });
    expect(byName.daemon).toEqual({ behavior: "Skip", reason: "Warning", message: "ignoring DaemonSet-managed Pod" });
    expect(byName["daemon-done"]).toEqual({ behavior: "Drain", reason: "Okay" });
    expect(byName.static).toEqual({ behavior: "Skip", reason: "Skip" });
    expect(byName.skip).toEqual({ behavior: "Skip", reason: "Skip" });
    expect(byName.batch).toEqual({ behavior: "WaitCompleted", reason: "WaitCompleted" });
    expect(byName.bare).toEqual({ behavior: "Drain", reason: "Warning", message: "evicting Pod with local storage, evicting Pod that has no controller" });
    expect(byName.done).toEqual({ behavior: "Drain", reason: "Okay" });
    expect(podsToDrain(list).map((p) => p.metadata.name)).toEqual(["web", "daemon-done", "batch", "bare", "done"]);
  });

  it("ignores Pods stuck in deletion on an unreachable Node", () => {
    const old = new Date(Date.now() - 5000).toISOString();
    const list = filterPods([pod("stuck", { ownerReferences: [rs], deletionTimestamp: old })], 1);
    expect(list[0]!.status.behavior).toBe("Skip");
    expect(filterPods([pod("stuck", { ownerReferences: [rs], deletionTimestamp: old })], 0)[0]!.status.behavior).toBe("Drain");
  });

  it("describes what blocks the drain as upstream does", () => {
    const r: EvictionResult = {
      deletionTimestampSet: [pod("a"), pod("b"), pod("c"), pod("d")],
      failedEviction: new Map([
        ["Cannot evict pod as it would violate the pod's disruption budget.", [pod("db")]],
        ["connection reset", [pod("x"), pod("y")]],
      ]),
      waitCompletedNow: [pod("job")],
      notFound: [],
      ignored: [],
    };
    expect(drainConditionMessage(r, "2026-01-01T00:00:00Z")).toBe(
      [
        "Drain not completed yet (started at 2026-01-01T00:00:00Z):",
        "* Pods ns/a, ns/b, ns/c, ... (1 more): deletionTimestamp set, but still not removed from the Node",
        "* Pod ns/db: cannot evict pod as it would violate the pod's disruption budget.",
        "* Pods ns/x, ns/y: failed to evict Pod, connection reset",
        "* Pod ns/job: waiting for completion",
      ].join("\n"),
    );
  });
});

describe("node sync helpers", () => {
  it("selects the labels and annotations that sync", () => {
    expect(
      managedLabels({
        "node-role.kubernetes.io/control-plane": "",
        "node-role.kubernetes.io": "x",
        "node-restriction.kubernetes.io/a": "1",
        "x.node-restriction.kubernetes.io/b": "2",
        "node.cluster.x-k8s.io/c": "3",
        "y.node.cluster.x-k8s.io/d": "4",
        "foo.node-role.kubernetes.io/e": "no",
        "cluster.x-k8s.io/cluster-name": "no",
      }),
    ).toEqual({
      "node-role.kubernetes.io/control-plane": "",
      "node-role.kubernetes.io": "x",
      "node-restriction.kubernetes.io/a": "1",
      "x.node-restriction.kubernetes.io/b": "2",
      "node.cluster.x-k8s.io/c": "3",
      "y.node.cluster.x-k8s.io/d": "4",
    });
    const m: KObject = {
      kind: "Machine",
      metadata: { name: "m", namespace: "ns", ownerReferences: [{ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "MachineSet", name: "ms", uid: "u", controller: true }], annotations: { "node.cluster.x-k8s.io/a": "1", other: "2" } },
      spec: { clusterName: "c" },
    };
    expect(managedAnnotations(m)).toEqual({
      "cluster.x-k8s.io/cluster-name": "c",
      "cluster.x-k8s.io/cluster-namespace": "ns",
      "cluster.x-k8s.io/machine": "m",
      "cluster.x-k8s.io/owner-kind": "MachineSet",
      "cluster.x-k8s.io/owner-name": "ms",
      "node.cluster.x-k8s.io/a": "1",
    });
  });

  it("propagates Always taints with tracking and OnInitialization taints once", () => {
    const annotations: Record<string, string> = {};
    const taints: Taint[] = [];
    propagateMachineTaints(annotations, taints, [
      { key: "a", value: "1", effect: "NoSchedule", propagation: "Always" },
      { key: "b", effect: "NoExecute", propagation: "OnInitialization" },
    ]);
    expect(taints).toEqual([{ key: "a", value: "1", effect: "NoSchedule" }, { key: "b", effect: "NoExecute" }]);
    expect(annotations["cluster.x-k8s.io/taints-from-machine"]).toBe("a:NoSchedule");
    // Value change updates in place; a dropped Always taint goes; OnInitialization is not re-added.
    const later: Taint[] = [{ key: "a", value: "1", effect: "NoSchedule" }];
    propagateMachineTaints(annotations, later, [
      { key: "a", value: "2", effect: "NoSchedule", propagation: "Always" },
      { key: "b", effect: "NoExecute", propagation: "OnInitialization" },
    ]);
    expect(later).toEqual([{ key: "a", value: "2", effect: "NoSchedule" }]);
    propagateMachineTaints(annotations, later, []);
    expect(later).toEqual([]);
    expect(annotations["cluster.x-k8s.io/taints-from-machine"]).toBe("");
  });

  it("summarizes Node conditions", () => {
    const node = (conditions: unknown[]): KObject => ({ metadata: { name: "n" }, status: { conditions } });
    expect(summarizeNodeConditions(node([{ type: "Ready", status: "True" }, { type: "MemoryPressure", status: "False" }, { type: "DiskPressure", status: "False" }, { type: "PIDPressure", status: "False" }]))).toEqual({
      status: "True",
      reason: "NodeHealthy",
      message: "",
    });
    expect(summarizeNodeConditions(node([{ type: "Ready", status: "Unknown", message: "Kubelet stopped posting node status." }, { type: "MemoryPressure", status: "Unknown", message: "Kubelet stopped posting node status." }, { type: "DiskPressure", status: "False" }, { type: "PIDPressure", status: "False" }]))).toEqual({
      status: "Unknown",
      reason: "NodeHealthyUnknown",
      message: "* Node.AllConditions: Kubelet stopped posting node status.",
    });
    expect(summarizeNodeConditions(node([{ type: "Ready", status: "True" }, { type: "DiskPressure", status: "True", message: "disk full" }]))).toEqual({
      status: "False",
      reason: "NodeNotHealthy",
      message: "* Node.MemoryPressure: Condition not yet reported\n* Node.DiskPressure: disk full\n* Node.PIDPressure: Condition not yet reported",
    });
  });
});

describe("Machine status helpers", () => {
  it("summarizes Ready from its conditions and readiness gates", () => {
    const m: KObject = { metadata: { name: "m" }, spec: { readinessGates: [{ conditionType: "EtcdHealthy" }] } };
    for (const [type, status] of [
      ["Deleting", "False"],
      ["Updating", "False"],
      ["BootstrapConfigReady", "True"],
      ["InfrastructureReady", "True"],
      ["NodeHealthy", "True"],
    ] as const) {
      setCondition(m, { type, status, reason: "X" });
    }
    setReady(m);
    expect((m.status as { conditions: { type: string; status: string; message: string }[] }).conditions.find((c) => c.type === "Ready")).toMatchObject({
      status: "Unknown",
      reason: "ReadyUnknown",
      message: "* EtcdHealthy: Condition not yet reported",
    });
    setCondition(m, { type: "EtcdHealthy", status: "True", reason: "X" });
    setCondition(m, { type: "InfrastructureReady", status: "False", reason: "NotReady", message: "* VM: booting\n* Disk: resizing" });
    setReady(m);
    expect((m.status as { conditions: { type: string; message: string }[] }).conditions.find((c) => c.type === "Ready")!.message).toBe("* InfrastructureReady:\n  * VM: booting\n  * Disk: resizing");
  });

  it("compares MachineSet and MachineDeployment templates as mdutil does", () => {
    const ref = (kind: string, name: string) => ({ apiGroup: "g", kind, name });
    expect(templateDiffs({ version: "v1.31.0", infrastructureRef: ref("PMT", "a"), bootstrap: { configRef: ref("TCT", "b") } }, { version: "v1.31.0", infrastructureRef: ref("PMT", "a"), bootstrap: { configRef: ref("TCT", "b") } })).toEqual([]);
    expect(
      templateDiffs(
        { version: "v1.31.0", infrastructureRef: ref("ProxmoxMachineTemplate", "a"), bootstrap: { configRef: ref("TalosConfigTemplate", "b") }, failureDomain: "x" },
        { version: "v1.32.0", infrastructureRef: ref("ProxmoxMachineTemplate", "a2"), bootstrap: { configRef: ref("TalosConfigTemplate", "b2") } },
      ),
    ).toEqual(["Version v1.31.0, v1.32.0 required", "TalosConfig is not up-to-date", "ProxmoxMachine is not up-to-date", "Failure domain x,  required"]);
  });
});
