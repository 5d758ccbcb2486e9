import { describe, expect, it } from "bun:test";
import type { KObject } from "../lib/kobject.ts";
import { conditionFilter, formatParagraph, ObjectTree, objectNode, printTree, virtualNode, type Condition, type TreeOptions } from "./describe-tree.ts";

const NOW = Date.parse("2026-08-01T12:00:00Z");
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const cond = (type: string, status: string, reason: string, secondsAgo: number, extra: Partial<Condition> = {}): Condition => ({
  type,
  status,
  reason,
  lastTransitionTime: ago(secondsAgo),
  ...extra,
});

function capi(kind: string, name: string, conditions: Condition[], extra: Record<string, unknown> = {}, v1beta1: Condition[] = []): KObject {
  return {
    apiVersion: "cluster.x-k8s.io/v1beta2",
    kind,
    metadata: { name, namespace: "default", uid: `${kind}-${name}` },
    ...extra,
    status: { conditions, deprecated: { v1beta1: { conditions: v1beta1 } }, ...(extra.status as object) },
  };
}
function provider(apiVersion: string, kind: string, name: string, status: Record<string, unknown>, spec: Record<string, unknown> = {}): KObject {
  return { apiVersion, kind, metadata: { name, namespace: "default", uid: `${kind}-${name}` }, spec, status };
}
const machine = (name: string, ready: string, reason = ready === "True" ? "Ready" : "NotReady", secondsAgo = 60, cp = false) =>
  capi("Machine", name, [cond("Available", ready, reason, secondsAgo), cond("Ready", ready, reason, secondsAgo), cond("UpToDate", "True", "UpToDate", 300)], {
    spec: { version: "v1.32.0" },
    metadata: { name, namespace: "default", uid: `m-${name}`, labels: cp ? { "cluster.x-k8s.io/control-plane": "" } : {} },
  }, [cond("Ready", ready, reason, secondsAgo, ready === "True" ? {} : { severity: "Warning", message: "waiting" })]);

const defaults: TreeOptions = { v1beta1: false, grouping: true, echo: false, showConditions: "" };

/** Cluster + ProxmoxCluster + TalosControlPlane with 3 machines + one MachineDeployment with 2. */
function demo(opts: Partial<TreeOptions> = {}, machines = { cp: ["demo-cp-a", "demo-cp-b", "demo-cp-c"], workers: ["demo-w-a", "demo-w-b"] }) {
  const o = { ...defaults, ...opts };
  const cluster = capi("Cluster", "demo", [cond("Available", "True", "Available", 120)], {
    status: { controlPlane: { desiredReplicas: 3, replicas: 3, availableReplicas: 3, readyReplicas: 3, upToDateReplicas: 3 }, workers: { desiredReplicas: 2, replicas: 2, readyReplicas: 2 } },
  }, [cond("Ready", "True", "", 120)]);
  const tree = new ObjectTree(objectNode(cluster), o);
  tree.add(tree.root, objectNode(provider("infrastructure.cluster.x-k8s.io/v1alpha2", "ProxmoxCluster", "demo", { conditions: [cond("Ready", "True", "Ready", 120)] })), { metaName: "ClusterInfrastructure" });
  const cp = objectNode(
    provider("controlplane.cluster.x-k8s.io/v1alpha3", "TalosControlPlane", "demo-cp", { replicas: 3, readyReplicas: 3, updatedReplicas: 3, conditions: [cond("Ready", "True", "", 90), cond("Available", "True", "", 90)] }, { replicas: 3, version: "v1.32.0" }),
    { controlPlane: true },
  );
  tree.add(tree.root, cp, { metaName: "ControlPlane", grouping: true });
  for (const n of machines.cp) tree.add(cp, objectNode(machine(n, "True", "Ready", 60, true)));
  const workers = virtualNode("default", "WorkerGroup", "Workers");
  tree.add(tree.root, workers);
  const md = objectNode(capi("MachineDeployment", "demo-workers", [cond("Available", "True", "Available", 30)], { spec: { replicas: 2, template: { spec: { version: "v1.32.0" } } }, status: { replicas: 2, availableReplicas: 2, readyReplicas: 2, upToDateReplicas: 2 } }, [cond("Ready", "True", "", 30)]));
  tree.add(workers, md, { grouping: true });
  for (const n of machines.workers) {
    const m = objectNode(machine(n, n.endsWith("-bad") ? "False" : "True", undefined, 45));
    if (tree.add(md, m).visible) {
      tree.add(m, objectNode(provider("infrastructure.cluster.x-k8s.io/v1alpha2", "ProxmoxMachine", n, { conditions: [cond("Ready", "False", "CloningFailed", 40, { message: "TASK ERROR: storage 'local-lvm' does not exist" })] })), { metaName: "MachineInfrastructure", noEcho: true });
      tree.add(m, objectNode(provider("bootstrap.cluster.x-k8s.io/v1beta1", "TalosConfig", n, { conditions: [cond("Ready", "True", "", 40)] })), { metaName: "BootstrapConfig", noEcho: true });
    }
  }
  return tree;
}

describe("describe cluster tree (v1beta2 columns, clusterctl's default)", () => {
  it("groups machines with the same Available/Ready/UpToDate state and prints counters, versions and ages", () => {
    expect(printTree(demo(), NOW)).toBe(
      [
        "NAME                                                 REPLICAS  AVAILABLE  READY  UP TO DATE  STATUS  REASON     SINCE  MESSAGE",
        "Cluster default/demo                                 5/5       3          5      3           True    Available  2m",
        "├─ProxmoxCluster default/demo                                                                True    Ready      2m",
        "├─TalosControlPlane default/demo-cp, v1.32.0         3/3                  3      3           True               90s",
        "│ └─3 Machines...                                              3          3      3           True    Ready      60s    See demo-cp-a, demo-cp-b, ...",
        "└─Workers",
        "  └─MachineDeployment default/demo-workers, v1.32.0  2/2       2          2      2           True    Available  30s",
        "    └─2 Machines...                                            2          2      2           True    Ready      45s    See demo-w-a, demo-w-b",
        "",
      ]
        .join("\n"),
    );
  });

  it("keeps a machine whose state differs apart, with its failing infrastructure (not its Ready bootstrap) and the full message", () => {
    const out = printTree(demo({}, { cp: ["demo-cp-a"], workers: ["demo-w-a", "demo-w-bad", "demo-w-c"] }), NOW);
    const lines = out.split("\n");
    expect(lines).toContainEqual(expect.stringMatching(/^│ └─Machine default\/demo-cp-a, v1\.32\.0 +1 +1 +1 +1 +True +Ready +60s$/));
    expect(lines).toContainEqual(expect.stringMatching(/^    ├─2 Machines\.\.\. +2 +2 +2 +True +Ready +45s +See demo-w-a, demo-w-c$/));
    expect(lines).toContainEqual(expect.stringMatching(/^    └─Machine default\/demo-w-bad, v1\.32\.0 +1 +0 +0 +1 +False +NotReady +45s$/));
    expect(lines).toContainEqual(expect.stringMatching(/^      └─ProxmoxMachine default\/demo-w-bad +False +CloningFailed +40s +TASK ERROR: storage 'local-lvm' does not exist$/));
    expect(out).not.toContain("TalosConfig");
  });

  it("--grouping=false lists every machine; --echo also shows Ready infrastructure and bootstrap objects", () => {
    const ungrouped = printTree(demo({ grouping: false }), NOW);
    expect(ungrouped).not.toContain("Machines...");
    for (const m of ["demo-cp-a", "demo-cp-b", "demo-cp-c", "demo-w-a", "demo-w-b"]) expect(ungrouped).toContain(`Machine default/${m}, v1.32.0`);
    expect(ungrouped).toMatch(/│ ├─Machine default\/demo-cp-a, v1\.32\.0 .*\n│ ├─Machine default\/demo-cp-b.*\n│ └─Machine default\/demo-cp-c/);

    const echo = printTree(demo({ grouping: false, echo: true }), NOW);
    expect(echo).toMatch(/├─ProxmoxMachine default\/demo-w-a +False +CloningFailed/);
    expect(echo).toMatch(/└─TalosConfig default\/demo-w-b +True/);
  });

  it("--show-conditions lists a kind's conditions under its row (a + suffix: only the non-zero ones)", () => {
    const out = printTree(demo({ showConditions: "Cluster" }), NOW);
    expect(out).toMatch(/\nCluster default\/demo +5\/5 +3 +5 +3\n│ {11}└─Available +True +Available +2m\n├─ProxmoxCluster/);
    expect(conditionFilter("Machine", "m1", "machine/M1+")).toBe("nonzero");
    expect(conditionFilter("Machine", "m2", "Machine/m1,all")).toBe("all");
    expect(conditionFilter("ProxmoxCluster", "x", "Machine")).toBe("none");

    const nonZero = printTree(demo({ grouping: false, showConditions: "Machine/demo-w-a+" }), NOW);
    expect(nonZero).toMatch(/Machine default\/demo-w-a, v1\.32\.0 +1 +1 +1 +1\n {4}│ │ {11}├─Available +True +Ready +45s\n {4}│ │ {11}└─Ready +True +Ready +45s\n {4}│ └─ProxmoxMachine/);
    expect(nonZero).not.toContain("UpToDate");
  });

  it("wraps long messages at 100 columns on continuation rows that carry the tree's pipes", () => {
    const long = "Machine is not ready: " + "waiting for the Talos API on 10.10.0.21 to answer ".repeat(3).trim();
    const tree = new ObjectTree(objectNode(capi("Cluster", "c", [cond("Available", "False", "NotAvailable", 10, { message: long })])), defaults);
    tree.add(tree.root, objectNode(capi("Machine", "m", [cond("Ready", "False", "NotReady", 10, { message: "first\n* second" })])));
    const lines = printTree(tree, NOW).split("\n");
    expect(lines[1]).toMatch(/^Cluster default\/c +False +NotAvailable +10s +Machine is not ready: waiting .*answer waiting for the Talos API on$/);
    expect(lines[2]).toMatch(/^│ +10\.10\.0\.21 to answer waiting .* to answer$/);
    expect(lines[3]).toMatch(/^└─Machine default\/m +1 +0 +0 +0 +False +NotReady +10s +first$/);
    expect(lines[4]).toMatch(/^ {20,}\* second$/);
    expect(formatParagraph("a b", 100)).toBe("a b");
  });

  it("marks objects being deleted", () => {
    const c = capi("Cluster", "gone", []);
    c.metadata.deletionTimestamp = ago(5);
    expect(printTree(new ObjectTree(objectNode(c), defaults), NOW)).toContain("\n!! DELETED !! Cluster default/gone\n");
  });
});

describe("describe cluster tree (--v1beta2=false: READY SEVERITY REASON SINCE MESSAGE)", () => {
  it("reads the deprecated v1beta1 conditions, groups on Ready status, severity and reason", () => {
    const out = printTree(demo({ v1beta1: true }, { cp: ["demo-cp-a", "demo-cp-b"], workers: ["demo-w-a", "demo-w-bad", "demo-w-c"] }), NOW);
    const lines = out.split("\n");
    expect(lines[0]).toBe("NAME                                                 READY  SEVERITY  REASON         SINCE  MESSAGE");
    expect(lines[1]).toMatch(/^Cluster default\/demo +True +2m$/);
    expect(lines).toContainEqual(expect.stringMatching(/^│ └─2 Machines\.\.\. +True +Ready +60s +See demo-cp-a, demo-cp-b$/));
    expect(lines).toContainEqual(expect.stringMatching(/^    └─Machine default\/demo-w-bad, v1\.32\.0 +False +Warning +NotReady +45s +waiting$/));
    expect(lines).toContainEqual(expect.stringMatching(/^      └─ProxmoxMachine default\/demo-w-bad +False +CloningFailed +40s +TASK ERROR/));
  });
});
