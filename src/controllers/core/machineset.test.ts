import { afterEach, describe, expect, it } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { getCondition } from "../../runtime/conditions.ts";
import { mustFormatLabelValue } from "../../kinds/capi/webhooks/machineset.ts";
import { CAPI_VERSION } from "./contract.ts";
import { deletePriorityFunc, machineSetTestHooks, machinesToDeletePrioritized, setupMachineSetController, sortMachinesToRemediate } from "./machineset.ts";
import { CLUSTER, machineSet, machineTemplate, NS, startEnv, TEST_GROUP, TEST_VERSION, waitFor, type TestEnv } from "./mdutil-testenv.ts";

const RANDOM = "[bcdfghjklmnpqrstvwxz2456789]{5}";
let env: TestEnv | undefined;

afterEach(async () => {
  machineSetTestHooks.beforeMachineCreate = undefined;
  await env?.close();
  env = undefined;
});

async function start(opts: { autoReady?: boolean } = {}): Promise<TestEnv> {
  env = await startEnv([setupMachineSetController], opts);
  return env;
}

const get = (e: TestEnv, kind: string, name: string, apiVersion = CAPI_VERSION) => e.client.get({ apiVersion, kind, namespace: NS, name });
const machinesOf = (e: TestEnv, ms: string) =>
  e.client.list(CAPI_VERSION, "Machine", NS).filter((m) => m.metadata.ownerReferences?.some((r) => r.kind === "MachineSet" && r.name === ms));
const live = (list: KObject[]) => list.filter((m) => !m.metadata.deletionTimestamp);
const names = (list: KObject[]) => list.map((m) => m.metadata.name!).sort();

async function patchSpec(e: TestEnv, kind: string, name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Promise<void> {
  await e.client.patch({ apiVersion: CAPI_VERSION, kind, namespace: NS, name }, "merge", { metadata, spec });
}

describe("MachineSet controller: scale up", () => {
  it("creates Machines and their bootstrap / infrastructure clones with upstream's names, labels, annotations and owners", async () => {
    const e = await start();
    const ms = machineSet("ms1", 3);
    const tmpl = (ms.spec as { template: { metadata: Record<string, unknown> } }).template;
    tmpl.metadata = { labels: { ...(tmpl.metadata.labels as object), tier: "worker" }, annotations: { "team.example/owner": "ops" } };
    await e.client.create(ms);
    await e.m.idle();

    const stored = get(e, "MachineSet", "ms1")!;
    expect(stored.metadata.finalizers).toEqual(["cluster.x-k8s.io/machineset"]);
    expect(stored.metadata.labels?.["cluster.x-k8s.io/cluster-name"]).toBe(CLUSTER);
    expect(stored.metadata.ownerReferences).toEqual([{ apiVersion: CAPI_VERSION, kind: "Cluster", name: CLUSTER, uid: e.cluster.metadata.uid! }]);

    const machines = machinesOf(e, "ms1");
    expect(machines).toHaveLength(3);
    for (const m of machines) {
      const name = m.metadata.name!;
      expect(name).toMatch(new RegExp(`^ms1-${RANDOM}$`));
      expect(m.metadata.labels).toEqual({
        "cluster.x-k8s.io/cluster-name": CLUSTER,
        "cluster.x-k8s.io/set-name": "ms1",
        tier: "worker",
      });
      expect(m.metadata.annotations).toEqual({ "team.example/owner": "ops" });
      expect(m.metadata.finalizers).toEqual(["machine.cluster.x-k8s.io"]);
      expect(m.metadata.ownerReferences).toEqual([
        { apiVersion: CAPI_VERSION, kind: "MachineSet", name: "ms1", uid: stored.metadata.uid!, controller: true, blockOwnerDeletion: true },
      ]);
      // (toMatchObject: with the Machine webhook wired, deletion.nodeDeletionTimeoutSeconds is defaulted.)
      expect(m.spec).toMatchObject({
        clusterName: CLUSTER,
        version: "v1.31.0",
        bootstrap: { configRef: { apiGroup: TEST_GROUP, kind: "TestConfig", name } },
        infrastructureRef: { apiGroup: TEST_GROUP, kind: "TestMachine", name },
      });

      const infra = get(e, "TestMachine", name, TEST_VERSION)!;
      expect(infra.spec).toEqual({ cpu: 2 });
      expect(infra.metadata.labels).toEqual({ "from-template": "infra-a", ...m.metadata.labels });
      expect(infra.metadata.annotations).toEqual({
        "template-annotation": "infra-a",
        "team.example/owner": "ops",
        "cluster.x-k8s.io/cloned-from-name": "infra-a",
        "cluster.x-k8s.io/cloned-from-groupkind": `TestMachineTemplate.${TEST_GROUP}`,
      });
      expect(infra.metadata.ownerReferences).toEqual([
        { apiVersion: CAPI_VERSION, kind: "MachineSet", name: "ms1", uid: stored.metadata.uid!, controller: true, blockOwnerDeletion: true },
      ]);
      const boot = get(e, "TestConfig", name, TEST_VERSION)!;
      expect(boot.spec).toEqual({ format: "cloud-config" });
      expect(boot.metadata.annotations?.["cluster.x-k8s.io/cloned-from-groupkind"]).toBe(`TestConfigTemplate.${TEST_GROUP}`);
      expect(boot.metadata.annotations?.["cluster.x-k8s.io/cloned-from-name"]).toBe("boot-a");
    }
    // Templates become owned (not controlled) by the Cluster.
    const tmplObj = get(e, "TestMachineTemplate", "infra-a", TEST_VERSION)!;
    expect(tmplObj.metadata.ownerReferences).toEqual([{ apiVersion: CAPI_VERSION, kind: "Cluster", name: CLUSTER, uid: e.cluster.metadata.uid! }]);

    const status = stored.status as Record<string, unknown>;
    expect(status).toMatchObject({
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      upToDateReplicas: 3,
      observedGeneration: stored.metadata.generation,
      selector: "cluster.x-k8s.io/cluster-name=c1,cluster.x-k8s.io/set-name=ms1",
      versions: [{ version: "v1.31.0", replicas: 3 }],
      deprecated: { v1beta1: { fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3 } },
    });
    for (const [type, st, reason] of [
      ["MachinesReady", "True", "Ready"],
      ["MachinesUpToDate", "True", "UpToDate"],
      ["ScalingUp", "False", "NotScalingUp"],
      ["ScalingDown", "False", "NotScalingDown"],
      ["Remediating", "False", "NotRemediating"],
      ["Deleting", "False", "NotDeleting"],
      ["Paused", "False", "NotPaused"],
    ]) {
      expect(getCondition(stored, type!)).toMatchObject({ status: st, reason });
    }
    const events = e.client.list("v1", "Event", NS).filter((ev) => ev.reason === "SuccessfulCreate");
    expect(events.length).toBeGreaterThan(0);
  });

  it("names Machines from spec.machineNaming.template and cuts long names as upstream; set-name is hashed past 63 characters", async () => {
    const e = await start();
    await e.client.create(machineSet("ms-named", 1, { machineNaming: { template: "{{ .cluster.name }}-{{ .machineSet.name }}-w-{{ .random }}" } }));
    const longName = `ms-${"x".repeat(67)}`;
    // As the MachineSet webhook defaults it: the selector label value hashed.
    const hashed = mustFormatLabelValue(longName);
    const long0 = machineSet(longName, 1);
    const lspec = long0.spec as { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } };
    lspec.selector.matchLabels["cluster.x-k8s.io/set-name"] = hashed;
    lspec.template.metadata.labels["cluster.x-k8s.io/set-name"] = hashed;
    await e.client.create(long0);
    await e.m.idle();
    const [named] = machinesOf(e, "ms-named");
    expect(named!.metadata.name).toMatch(new RegExp(`^c1-ms-named-w-${RANDOM}$`));
    const [long] = machinesOf(e, longName);
    expect(long!.metadata.name).toHaveLength(63);
    expect(long!.metadata.name!.slice(0, 58)).toBe(longName.slice(0, 58));
    expect(long!.metadata.labels?.["cluster.x-k8s.io/set-name"]).toBe(hashed);
    expect(hashed).toMatch(/^hash_[A-Za-z0-9_-]+_z$/);
  });

  it("honours cluster.x-k8s.io/disable-machine-create", async () => {
    const e = await start();
    const ms = machineSet("ms1", 2);
    ms.metadata.annotations = { "cluster.x-k8s.io/disable-machine-create": "true" };
    await e.client.create(ms);
    await e.m.idle();
    expect(machinesOf(e, "ms1")).toHaveLength(0);
    expect(getCondition(get(e, "MachineSet", "ms1")!, "ScalingUp")).toMatchObject({ status: "True", reason: "ScalingUp" });
    await e.client.patch({ apiVersion: CAPI_VERSION, kind: "MachineSet", namespace: NS, name: "ms1" }, "merge", {
      metadata: { annotations: { "cluster.x-k8s.io/disable-machine-create": "false" } },
    });
    await e.m.idle();
    expect(machinesOf(e, "ms1")).toHaveLength(2);
  });

  it("waits for a missing template and reports it in ScalingUp", async () => {
    const e = await start();
    const ms = machineSet("ms1", 1);
    (ms.spec as { template: { spec: Record<string, unknown> } }).template.spec.infrastructureRef = { apiGroup: TEST_GROUP, kind: "TestMachineTemplate", name: "missing" };
    await e.client.create(ms);
    await e.m.idle();
    expect(machinesOf(e, "ms1")).toHaveLength(0);
    expect(e.client.list(TEST_VERSION, "TestConfig", NS)).toHaveLength(0);
    expect(getCondition(get(e, "MachineSet", "ms1")!, "ScalingUp")?.message).toBe(
      "Scaling up from 0 to 1 replicas is blocked because:\n* TestMachineTemplate does not exist",
    );
  });

  it("deletes the clones when the Machine cannot be created", async () => {
    const e = await start();
    let failures = 1;
    machineSetTestHooks.beforeMachineCreate = () => {
      if (failures-- > 0) throw new Error("injected failure");
    };
    await e.client.create(machineSet("ms1", 1));
    await e.m.idle();
    const machines = machinesOf(e, "ms1");
    expect(machines).toHaveLength(1);
    // Only the clones of the Machine that exists are left.
    expect(names(e.client.list(TEST_VERSION, "TestMachine", NS).filter((o) => !o.metadata.deletionTimestamp))).toEqual(names(machines));
    expect(names(e.client.list(TEST_VERSION, "TestConfig", NS).filter((o) => !o.metadata.deletionTimestamp))).toEqual(names(machines));
  });

  it("adopts orphan Machines matching its selector", async () => {
    const e = await start();
    await e.client.create({
      apiVersion: CAPI_VERSION,
      kind: "Machine",
      metadata: { name: "orphan", namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": CLUSTER, "cluster.x-k8s.io/set-name": "ms1" } },
      spec: (machineTemplate({}) as { spec: Record<string, unknown> }).spec,
    });
    await e.client.create(machineSet("ms1", 1));
    await e.m.idle();
    const machines = machinesOf(e, "ms1");
    expect(names(machines)).toEqual(["orphan"]);
    expect(machines[0]!.metadata.ownerReferences?.[0]).toMatchObject({ kind: "MachineSet", name: "ms1", controller: true });
  });
});

describe("MachineSet controller: scale down", () => {
  /** Three Machines created an hour apart (oldest first). */
  async function threeAged(order?: string): Promise<{ e: TestEnv; aged: string[] }> {
    const e = await start();
    e.clock.offsetMs = -3 * 3600_000;
    await e.client.create(machineSet("ms1", 1, order ? { deletion: { order } } : {}));
    await e.m.idle();
    const aged = names(machinesOf(e, "ms1"));
    for (const [i, offset] of [-2, -1].entries()) {
      e.clock.offsetMs = offset * 3600_000;
      await patchSpec(e, "MachineSet", "ms1", { replicas: i + 2 });
      await e.m.idle();
      aged.push(names(machinesOf(e, "ms1")).find((n) => !aged.includes(n))!);
    }
    e.clock.offsetMs = 0;
    expect(aged).toHaveLength(3);
    return { e, aged };
  }

  for (const [order, expectDeleted] of [
    ["Oldest", [0, 1]],
    ["Newest", [2, 1]],
  ] as const) {
    it(`deletes by spec.deletion.order ${order}`, async () => {
      const { e, aged } = await threeAged(order);
      await patchSpec(e, "MachineSet", "ms1", { replicas: 2 });
      await e.m.idle();
      expect(names(machinesOf(e, "ms1"))).toEqual(aged.filter((n) => n !== aged[expectDeleted[0]]).sort());
      await patchSpec(e, "MachineSet", "ms1", { replicas: 1 });
      await e.m.idle();
      expect(names(machinesOf(e, "ms1"))).toEqual(aged.filter((n) => n !== aged[expectDeleted[0]] && n !== aged[expectDeleted[1]]).sort());
    });
  }

  it("deletes by name order with the default Random order (equal priorities)", async () => {
    const { e, aged } = await threeAged();
    await patchSpec(e, "MachineSet", "ms1", { replicas: 2 });
    await e.m.idle();
    expect(names(machinesOf(e, "ms1"))).toEqual([...aged].sort().slice(1));
  });

  it("deletes Machines with the delete-machine annotation first, then unhealthy ones, then by policy; never more while one is deleting", async () => {
    const { e, aged } = await threeAged("Newest");
    await patchSpec(e, "MachineSet", "ms1", { replicas: 4 });
    await e.m.idle();
    const newest = names(machinesOf(e, "ms1")).find((n) => !aged.includes(n))!;
    const [oldest, middle, young] = aged;
    // The oldest is marked for deletion, the middle one unhealthy.
    await e.client.patch({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name: oldest! }, "merge", {
      metadata: { annotations: { "cluster.x-k8s.io/delete-machine": "yes" } },
    });
    await e.fake.setConditions(middle!, [{ type: "NodeHealthy", status: "False", reason: "NodeConditionsFailed" }]);
    await e.m.idle();

    e.fake.holdDeletion = true;
    await patchSpec(e, "MachineSet", "ms1", { replicas: 3 });
    await e.m.idle();
    let deleting = machinesOf(e, "ms1").filter((m) => m.metadata.deletionTimestamp);
    expect(names(deleting)).toEqual([oldest!]);
    // Still deleting: a further reconcile must not pick another victim.
    await patchSpec(e, "MachineSet", "ms1", {}, { labels: { poke: "1" } });
    await e.m.idle();
    deleting = machinesOf(e, "ms1").filter((m) => m.metadata.deletionTimestamp);
    expect(names(deleting)).toEqual([oldest!]);
    e.fake.release();
    await e.m.idle();

    await patchSpec(e, "MachineSet", "ms1", { replicas: 2 });
    await e.m.idle();
    expect(names(machinesOf(e, "ms1"))).toEqual([young!, newest].sort());
    // Newest policy among healthy Machines.
    await patchSpec(e, "MachineSet", "ms1", { replicas: 1 });
    await e.m.idle();
    expect(names(machinesOf(e, "ms1"))).toEqual([young!]);
    const events = e.client.list("v1", "Event", NS).filter((ev) => ev.reason === "SuccessfulDelete");
    expect(events.length).toBeGreaterThan(0);
  });

  it("treats Machines without a nodeRef as unhealthy", async () => {
    const e = await start({ autoReady: false });
    await e.client.create(machineSet("ms1", 2, { deletion: { order: "Newest" } }));
    await e.m.idle();
    const [a, b] = names(machinesOf(e, "ms1"));
    // Only b gets a Node; a (no nodeRef) goes first although Newest would tie-break by name.
    await e.fake.markReady(b!);
    await e.m.idle();
    await patchSpec(e, "MachineSet", "ms1", { replicas: 1 });
    await e.m.idle();
    expect(names(machinesOf(e, "ms1"))).toEqual([b!]);
    void a;
  });
});

describe("MachineSet deletion priority", () => {
  const now = Date.parse("2026-06-01T00:00:00Z");
  const mk = (name: string, ageHours: number, extra: Partial<KObject> & { healthy?: boolean } = {}): KObject => ({
    metadata: { name, creationTimestamp: new Date(now - ageHours * 3600_000).toISOString(), ...(extra.metadata ?? {}) },
    status: extra.healthy === false ? {} : { nodeRef: { name: `n-${name}` }, conditions: (extra.status as { conditions?: unknown[] } | undefined)?.conditions ?? [] },
  });

  it("orders deleting > delete-machine > update-in-progress > unhealthy > policy, ties by name", () => {
    const machines = [
      mk("healthy-old", 100),
      mk("healthy-new", 1),
      mk("unhealthy", 5, { healthy: false }),
      mk("hc-failed", 5, { status: { conditions: [{ type: "HealthCheckSucceeded", status: "False", reason: "x" }] } }),
      mk("hc-unknown", 5, { status: { conditions: [{ type: "NodeHealthy", status: "Unknown", reason: "x" }] } }),
      mk("annotated", 50, { metadata: { name: "annotated", annotations: { "cluster.x-k8s.io/delete-machine": "" } } }),
      mk("updating", 50, { metadata: { name: "updating", annotations: { "in-place-updates.internal.cluster.x-k8s.io/update-in-progress": "" } } }),
      mk("deleting", 50, { metadata: { name: "deleting", deletionTimestamp: "2026-05-31T00:00:00Z" } }),
    ];
    const order = (policy?: string) => machinesToDeletePrioritized(machines, machines.length, deletePriorityFunc(policy, now)).map((m) => m.metadata.name);
    expect(order()).toEqual(["deleting", "annotated", "updating", "hc-failed", "unhealthy", "hc-unknown", "healthy-new", "healthy-old"]);
    expect(order("Random")).toEqual(order());
    expect(order("Oldest")).toEqual(["deleting", "annotated", "updating", "hc-failed", "unhealthy", "healthy-old", "hc-unknown", "healthy-new"]);
    expect(order("Newest")).toEqual(["deleting", "annotated", "updating", "hc-failed", "unhealthy", "healthy-new", "hc-unknown", "healthy-old"]);
    expect(machinesToDeletePrioritized(machines, 2, deletePriorityFunc("Oldest", now)).map((m) => m.metadata.name)).toEqual(["deleting", "annotated"]);
    expect(machinesToDeletePrioritized(machines, 0, deletePriorityFunc("Oldest", now))).toEqual([]);
    expect(() => deletePriorityFunc("Whatever")).toThrow("Unsupported deletion order Whatever");
  });

  it("sorts Machines to remediate: remediate-machine annotation first, then newest", () => {
    const machines = [mk("a", 10), mk("b", 1), mk("c", 5, { metadata: { name: "c", annotations: { "cluster.x-k8s.io/remediate-machine": "" } } })];
    expect(sortMachinesToRemediate(machines).map((m) => m.metadata.name)).toEqual(["c", "b", "a"]);
  });
});

describe("MachineSet controller: in-place propagation", () => {
  it("propagates template labels, annotations, deletion timeouts, minReadySeconds, readinessGates and taints to existing Machines only", async () => {
    const e = await start();
    const ms = machineSet("ms1", 2);
    const tmpl = (ms.spec as { template: { metadata: { labels: Record<string, string> } } }).template;
    tmpl.metadata.labels = { ...tmpl.metadata.labels, old: "gone-soon", keep: "v1" };
    await e.client.create(ms);
    await e.m.idle();
    const before = names(machinesOf(e, "ms1"));

    const labels = { "cluster.x-k8s.io/cluster-name": CLUSTER, "cluster.x-k8s.io/set-name": "ms1", keep: "v2", added: "yes" };
    await e.client.patch({ apiVersion: CAPI_VERSION, kind: "MachineSet", namespace: NS, name: "ms1" }, "merge", {
      spec: {
        template: {
          metadata: { labels: { ...labels, old: null }, annotations: { note: "hello" } },
          spec: {
            version: "v1.32.0",
            minReadySeconds: 7,
            readinessGates: [{ conditionType: "example.com/Ready" }],
            taints: [{ key: "example.com/dedicated", value: "gpu", effect: "NoSchedule", propagation: "Always" }],
            deletion: { nodeDrainTimeoutSeconds: 60, nodeVolumeDetachTimeoutSeconds: 30, nodeDeletionTimeoutSeconds: 20 },
          },
        },
      },
    });
    await e.m.idle();
    const machines = machinesOf(e, "ms1");
    expect(names(machines)).toEqual(before);
    for (const m of machines) {
      expect(m.metadata.labels).toEqual(labels);
      expect(m.metadata.annotations).toEqual({ note: "hello" });
      expect(m.spec).toMatchObject({
        version: "v1.31.0",
        minReadySeconds: 7,
        readinessGates: [{ conditionType: "example.com/Ready" }],
        taints: [{ key: "example.com/dedicated", value: "gpu", effect: "NoSchedule", propagation: "Always" }],
        deletion: { nodeDrainTimeoutSeconds: 60, nodeVolumeDetachTimeoutSeconds: 30, nodeDeletionTimeoutSeconds: 20 },
      });
      // Not to the clones.
      const infra = get(e, "TestMachine", m.metadata.name!, TEST_VERSION)!;
      expect(infra.metadata.labels?.keep).toBe("v1");
      expect(infra.metadata.labels?.added).toBeUndefined();
    }
    // Scale up uses the new template (version included).
    await patchSpec(e, "MachineSet", "ms1", { replicas: 3 });
    await e.m.idle();
    const added = machinesOf(e, "ms1").find((m) => !before.includes(m.metadata.name!))!;
    expect((added.spec as { version: string }).version).toBe("v1.32.0");
  });
});

describe("MachineSet controller: remediation, pause, deletion", () => {
  it("deletes Machines whose OwnerRemediated condition is False (unbounded for a stand-alone MachineSet) and replaces them", async () => {
    const e = await start();
    await e.client.create(machineSet("ms1", 3));
    await e.m.idle();
    const [a, b, c] = names(machinesOf(e, "ms1"));
    e.fake.holdDeletion = true;
    for (const n of [a!, b!]) {
      await e.fake.setConditions(n, [
        { type: "HealthCheckSucceeded", status: "False", reason: "UnhealthyNode" },
        { type: "OwnerRemediated", status: "False", reason: "WaitingForRemediation" },
      ]);
    }
    await e.m.idle();
    const deleting = machinesOf(e, "ms1").filter((m) => m.metadata.deletionTimestamp);
    expect(names(deleting)).toEqual([a!, b!]);
    for (const m of deleting) expect(getCondition(m, "OwnerRemediated")).toMatchObject({ status: "False", reason: "MachineDeleting", message: "Machine is deleting" });
    const remediated = e.client.list("v1", "Event", NS).filter((ev) => ev.reason === "MachineRemediated").map((ev) => (ev.involvedObject as { name?: string }).name);
    expect(remediated.sort()).toEqual([a!, b!].sort());
    e.fake.release();
    await e.m.idle();
    const after = machinesOf(e, "ms1");
    expect(after).toHaveLength(3);
    expect(names(after)).toContain(c!);
    expect(names(after)).not.toContain(a!);
  });

  it("removes OwnerRemediated from Machines that are healthy again", async () => {
    const e = await start();
    await e.client.create(machineSet("ms1", 1));
    await e.m.idle();
    const [a] = names(machinesOf(e, "ms1"));
    await e.fake.setConditions(a!, [
      { type: "HealthCheckSucceeded", status: "True", reason: "HealthCheckSucceeded" },
      { type: "OwnerRemediated", status: "False", reason: "WaitingForRemediation" },
    ]);
    await e.m.idle();
    expect(getCondition(get(e, "Machine", a!)!, "OwnerRemediated")).toBeUndefined();
  });

  it("does nothing while the Cluster or the MachineSet is paused", async () => {
    const e = await start();
    await e.client.patch({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER }, "merge", { spec: { paused: true } });
    await e.client.create(machineSet("ms1", 2));
    await e.m.idle();
    expect(machinesOf(e, "ms1")).toHaveLength(0);
    expect(getCondition(get(e, "MachineSet", "ms1")!, "Paused")).toMatchObject({ status: "True", reason: "Paused", message: "Cluster spec.paused is set to true" });
    await e.client.patch({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER }, "merge", { spec: { paused: false } });
    await e.m.idle();
    expect(machinesOf(e, "ms1")).toHaveLength(2);

    await e.client.patch({ apiVersion: CAPI_VERSION, kind: "MachineSet", namespace: NS, name: "ms1" }, "merge", {
      metadata: { annotations: { "cluster.x-k8s.io/paused": "" } },
      spec: { replicas: 3 },
    });
    await e.m.idle();
    expect(machinesOf(e, "ms1")).toHaveLength(2);
    expect(getCondition(get(e, "MachineSet", "ms1")!, "Paused")).toMatchObject({ status: "True", message: "Object has the cluster.x-k8s.io/paused annotation" });
  });

  it("deletes its Machines, waits for them, then drops the finalizer", async () => {
    const e = await start();
    await e.client.create(machineSet("ms1", 2));
    await e.m.idle();
    e.fake.holdDeletion = true;
    await e.client.delete({ apiVersion: CAPI_VERSION, kind: "MachineSet", namespace: NS, name: "ms1" });
    await e.m.idle();
    const ms = get(e, "MachineSet", "ms1")!;
    expect(ms.metadata.deletionTimestamp).toBeDefined();
    expect(getCondition(ms, "Deleting")).toMatchObject({ status: "True", reason: "Deleting", message: "Deleting 2 Machines" });
    expect(live(machinesOf(e, "ms1"))).toHaveLength(0);
    e.fake.release();
    await waitFor(() => !get(e, "MachineSet", "ms1"), 10_000, "MachineSet gone");
    expect(e.client.list(CAPI_VERSION, "Machine", NS)).toHaveLength(0);
  });
});
