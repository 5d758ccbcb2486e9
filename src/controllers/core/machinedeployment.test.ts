import { afterEach, describe, expect, it } from "bun:test";
import { nowRfc3339, type KObject } from "../../lib/kobject.ts";
import { getCondition } from "../../runtime/conditions.ts";
import { CAPI_VERSION } from "./contract.ts";
import { computeDesiredMS, initPlanner, planOnDelete, planRollingUpdate, setupMachineDeploymentController } from "./machinedeployment.ts";
import { setupMachineSetController } from "./machineset.ts";
import {
  computeRevisionAnnotations,
  findNewAndOldMachineSets,
  machineTemplateUpToDate,
  maxSurge,
  maxUnavailable,
  resolveFenceposts,
  scaledValue,
  type MachineTemplateSpec,
} from "./mdutil.ts";
import { CLUSTER, infraRef, machineDeployment, NS, startEnv, template, waitFor, type TestEnv } from "./mdutil-testenv.ts";

const RANDOM = "[bcdfghjklmnpqrstvwxz2456789]{5}";
let env: TestEnv | undefined;

afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function start(opts: { autoReady?: boolean } = {}): Promise<TestEnv> {
  env = await startEnv([setupMachineSetController, setupMachineDeploymentController], opts);
  return env;
}

const get = (e: TestEnv, kind: string, name: string) => e.client.get({ apiVersion: CAPI_VERSION, kind, namespace: NS, name });
const setsOf = (e: TestEnv, md: string) =>
  e.client.list(CAPI_VERSION, "MachineSet", NS).filter((ms) => ms.metadata.ownerReferences?.some((r) => r.kind === "MachineDeployment" && r.name === md));
const machinesOf = (e: TestEnv, md: string) => e.client.list(CAPI_VERSION, "Machine", NS).filter((m) => m.metadata.labels?.["cluster.x-k8s.io/deployment-name"] === md);
const isAvailable = (m: KObject) => !m.metadata.deletionTimestamp && getCondition(m, "Available")?.status === "True";
const version = (o: KObject) => ((o.spec as { version?: string; template?: { spec?: { version?: string } } }).version ?? (o.spec as { template?: { spec?: { version?: string } } }).template?.spec?.version);
const replicasOf = (ms: KObject) => (ms.spec as { replicas: number }).replicas;
const mdRef = (name: string) => ({ apiVersion: CAPI_VERSION, kind: "MachineDeployment", namespace: NS, name });

async function patchMD(e: TestEnv, name: string, body: Record<string, unknown>): Promise<void> {
  await e.client.patch(mdRef(name), "merge", body);
}

/** Settled: one MachineSet, `n` available Machines at `v`, status caught up. */
async function settled(e: TestEnv, md: string, n: number, v: string, timeoutMs = 20_000): Promise<KObject> {
  return waitFor(
    () => {
      const sets = setsOf(e, md);
      const machines = machinesOf(e, md);
      const obj = get(e, "MachineDeployment", md);
      const st = obj?.status as { availableReplicas?: number; upToDateReplicas?: number; replicas?: number; observedGeneration?: number } | undefined;
      return (
        sets.length === 1 &&
        machines.length === n &&
        machines.every((m) => isAvailable(m) && version(m) === v) &&
        st?.availableReplicas === n &&
        st.replicas === n &&
        st.observedGeneration === obj!.metadata.generation &&
        obj
      );
    },
    timeoutMs,
    `${md} settled at ${n} × ${v}`,
  );
}

describe("mdutil", () => {
  it("resolves maxSurge (rounded up) and maxUnavailable (rounded down); both 0 → unavailable 1", () => {
    expect(scaledValue(2, 10, true)).toBe(2);
    expect(scaledValue("25%", 3, true)).toBe(1);
    expect(scaledValue("25%", 3, false)).toBe(0);
    expect(scaledValue("50%", 5, true)).toBe(3);
    expect(scaledValue("50%", 5, false)).toBe(2);
    expect(() => scaledValue("5", 3, true)).toThrow("not a percentage");
    expect(resolveFenceposts("25%", "25%", 3)).toEqual({ surge: 1, unavailable: 0 });
    expect(resolveFenceposts("0%", "10%", 3)).toEqual({ surge: 0, unavailable: 1 });
    expect(resolveFenceposts(0, 0, 3)).toEqual({ surge: 0, unavailable: 1 });
    const md = (rollingUpdate: Record<string, unknown>, replicas = 3, type = "RollingUpdate"): KObject => ({
      metadata: { name: "md" },
      spec: { replicas, rollout: { strategy: { type, rollingUpdate } } },
    });
    expect(maxSurge(md({ maxSurge: "50%", maxUnavailable: 0 }, 5))).toBe(3);
    expect(maxUnavailable(md({ maxSurge: 0, maxUnavailable: "50%" }, 5))).toBe(2);
    expect(maxUnavailable(md({ maxSurge: 0, maxUnavailable: 10 }, 3))).toBe(3);
    expect(maxUnavailable(md({ maxSurge: 1, maxUnavailable: 1 }, 0))).toBe(0);
    expect(maxSurge(md({}, 3, "OnDelete"))).toBe(0);
    // Unset: the webhook defaults (RollingUpdate, 1 / 0).
    expect(maxSurge({ metadata: {}, spec: { replicas: 3 } })).toBe(1);
    expect(maxUnavailable({ metadata: {}, spec: { replicas: 3 } })).toBe(0);
  });

  it("compares templates on version, bootstrap, infrastructureRef and failureDomain only", () => {
    const base: MachineTemplateSpec = {
      metadata: { labels: { a: "1" } },
      spec: { clusterName: CLUSTER, version: "v1.31.0", bootstrap: { configRef: { apiGroup: "g", kind: "CT", name: "c" } }, infrastructureRef: infraRef() },
    };
    const variant = (f: (t: MachineTemplateSpec) => void) => {
      const t = structuredClone(base);
      f(t);
      return machineTemplateUpToDate(base, t);
    };
    expect(variant(() => {}).upToDate).toBe(true);
    expect(variant((t) => (t.metadata = { labels: { b: "2" }, annotations: { x: "y" } })).upToDate).toBe(true);
    expect(variant((t) => Object.assign(t.spec!, { minReadySeconds: 5, taints: [{ key: "k", effect: "NoSchedule" }], readinessGates: [{ conditionType: "X" }], deletion: { nodeDrainTimeoutSeconds: 9 } })).upToDate).toBe(true);
    expect(variant((t) => (t.spec!.version = "v1.32.0"))).toMatchObject({ upToDate: false, conditionMessages: ["Version v1.31.0, v1.32.0 required"] });
    expect(variant((t) => (t.spec!.infrastructureRef = infraRef("infra-b")))).toMatchObject({ upToDate: false, conditionMessages: ["TestMachine is not up-to-date"] });
    expect(variant((t) => (t.spec!.bootstrap = { configRef: { apiGroup: "g", kind: "CT", name: "other" } })).upToDate).toBe(false);
    expect(variant((t) => (t.spec!.bootstrap = { dataSecretName: "s" })).upToDate).toBe(false);
    expect(variant((t) => (t.spec!.failureDomain = "fd1"))).toMatchObject({ upToDate: false, conditionMessages: ["Failure domain , fd1 required"] });
  });

  it("finds the new MachineSet, honouring spec.rollout.after", () => {
    const md = machineDeployment("md", 3);
    const ms = (name: string, created: string, replicas: number, v = "v1.31.0"): KObject => ({
      metadata: { name, creationTimestamp: created },
      spec: { replicas, template: { spec: { ...(md.spec as { template: { spec: object } }).template.spec, version: v } } },
    });
    const a = ms("a", "2026-01-01T00:00:00Z", 1);
    const b = ms("b", "2026-01-02T00:00:00Z", 2);
    const old = ms("old", "2025-01-01T00:00:00Z", 3, "v1.30.0");
    const now = new Date("2026-02-01T00:00:00Z");
    let r = findNewAndOldMachineSets(md, [a, b, old], now);
    expect(r.newMS?.metadata.name).toBe("b");
    expect(r.oldMSs.map((x) => x.metadata.name).sort()).toEqual(["a", "old"]);
    (md.spec as { rollout: { after?: string } }).rollout.after = "2026-01-01T12:00:00Z";
    r = findNewAndOldMachineSets(md, [a, b, old], now);
    expect(r.newMS?.metadata.name).toBe("b");
    (md.spec as { rollout: { after?: string } }).rollout.after = "2026-01-15T00:00:00Z";
    r = findNewAndOldMachineSets(md, [a, b, old], now);
    expect(r.newMS).toBeUndefined();
    expect(r.createReason).toContain("spec.rollout.after on MachineDeployment set to 2026-01-15T00:00:00Z");
    // Not yet passed: the matching set stays the new one.
    r = findNewAndOldMachineSets(md, [a, b, old], new Date("2026-01-10T00:00:00Z"));
    expect(r.newMS?.metadata.name).toBe("b");
    expect(findNewAndOldMachineSets(md, [], now).createReason).toBe("no MachineSets exist for the MachineDeployment");
  });

  it("computes revisions as max(old)+1 without ever lowering the new set's", () => {
    const ms = (rev?: string, history?: string): KObject => ({
      metadata: { annotations: { ...(rev ? { "machinedeployment.clusters.x-k8s.io/revision": rev } : {}), ...(history ? { "machinedeployment.clusters.x-k8s.io/revision-history": history } : {}) } },
    });
    expect(computeRevisionAnnotations(undefined, [ms("1"), ms("3")]).revision).toBe("4");
    expect(computeRevisionAnnotations(ms("7"), [ms("1")]).revision).toBe("7");
    expect(computeRevisionAnnotations(ms("2"), [ms("3")]).annotations).toEqual({
      "machinedeployment.clusters.x-k8s.io/revision": "4",
      "machinedeployment.clusters.x-k8s.io/revision-history": "2",
    });
    expect(computeRevisionAnnotations(ms("2", "1"), [ms("3")]).annotations["machinedeployment.clusters.x-k8s.io/revision-history"]).toBe("1,2");
  });
});

describe("rollout planner", () => {
  const now = new Date("2026-03-01T00:00:00Z");
  function ms(md: KObject, name: string, spec: number, status: { replicas: number; available: number }, current: boolean, created: string): KObject {
    const d = computeDesiredMS(md, undefined, now);
    d.metadata.name = name;
    d.metadata.creationTimestamp = created;
    (d.spec as { replicas: number }).replicas = spec;
    if (!current) (d.spec as { template: { spec: { version: string } } }).template.spec.version = "v1.30.0";
    d.status = { replicas: status.replicas, availableReplicas: status.available };
    return d;
  }

  it("RollingUpdate: grows the new set within maxSurge and shrinks old sets only while enough stay available", () => {
    const md = machineDeployment("md", 3);
    let p = initPlanner(md, [ms(md, "old", 3, { replicas: 3, available: 3 }, false, "2026-01-01T00:00:00Z")], now, true, true);
    planRollingUpdate(p);
    expect(p.newMS?.metadata.name).toMatch(new RegExp(`^md-${RANDOM}$`));
    expect(Object.fromEntries(p.scaleIntents)).toEqual({ [p.newMS!.metadata.name!]: 1 });

    // New set at 1 but not available yet: no scale down.
    const old = ms(md, "old", 3, { replicas: 3, available: 3 }, false, "2026-01-01T00:00:00Z");
    let cur = ms(md, "cur", 1, { replicas: 1, available: 0 }, true, "2026-02-01T00:00:00Z");
    p = initPlanner(md, [old, cur], now, true, true);
    planRollingUpdate(p);
    expect(p.scaleIntents.size).toBe(0);
    // Available: the old set gives one up.
    cur = ms(md, "cur", 1, { replicas: 1, available: 1 }, true, "2026-02-01T00:00:00Z");
    p = initPlanner(md, [old, cur], now, true, true);
    planRollingUpdate(p);
    expect(Object.fromEntries(p.scaleIntents)).toEqual({ old: 2 });
  });

  it("RollingUpdate: breaks the deadlock of an unavailable Machine in an old set", () => {
    const md = machineDeployment("md", 3);
    const old = ms(md, "old", 2, { replicas: 2, available: 1 }, false, "2026-01-01T00:00:00Z");
    const cur = ms(md, "cur", 2, { replicas: 2, available: 2 }, true, "2026-02-01T00:00:00Z");
    const p = initPlanner(md, [old, cur], now, true, true);
    planRollingUpdate(p);
    expect(Object.fromEntries(p.scaleIntents)).toEqual({ old: 1 });
  });

  it("RollingUpdate with maxSurge 0 / maxUnavailable 1 shrinks first", () => {
    const md = machineDeployment("md", 3, { rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } } });
    const old = ms(md, "old", 3, { replicas: 3, available: 3 }, false, "2026-01-01T00:00:00Z");
    const p = initPlanner(md, [old], now, true, true);
    planRollingUpdate(p);
    expect(Object.fromEntries(p.scaleIntents)).toEqual({ old: 2 });
  });

  it("OnDelete: old sets only lose replicas whose Machines are gone; the new set fills up", () => {
    const md = machineDeployment("md", 3, { rollout: { strategy: { type: "OnDelete" } } });
    const old = ms(md, "old", 3, { replicas: 2, available: 2 }, false, "2026-01-01T00:00:00Z");
    const cur = ms(md, "cur", 0, { replicas: 0, available: 0 }, true, "2026-02-01T00:00:00Z");
    let p = initPlanner(md, [old, cur], now, true, true);
    planOnDelete(p);
    expect(Object.fromEntries(p.scaleIntents)).toEqual({ old: 2 });
    expect(p.oldMSs[0]!.metadata.annotations?.["cluster.x-k8s.io/disable-machine-create"]).toBe("true");
    const old2 = ms(md, "old", 2, { replicas: 2, available: 2 }, false, "2026-01-01T00:00:00Z");
    p = initPlanner(md, [old2, cur], now, true, true);
    planOnDelete(p);
    expect(Object.fromEntries(p.scaleIntents)).toEqual({ cur: 1 });
  });
});

describe("MachineDeployment controller", () => {
  it("creates its MachineSet with the hash label, revision and replica annotations, and owner references", async () => {
    const e = await start();
    const md = machineDeployment("md1", 3);
    md.metadata.annotations = { "example.com/propagated": "yes" };
    (md.spec as { template: { metadata: Record<string, unknown> } }).template.metadata.annotations = { "example.com/machine": "a" };
    await e.client.create(md);
    const stored = await settled(e, "md1", 3, "v1.31.0");

    expect(stored.metadata.finalizers).toEqual(["cluster.x-k8s.io/machinedeployment"]);
    expect(stored.metadata.ownerReferences).toEqual([{ apiVersion: CAPI_VERSION, kind: "Cluster", name: CLUSTER, uid: e.cluster.metadata.uid! }]);
    expect(stored.metadata.annotations?.["machinedeployment.clusters.x-k8s.io/revision"]).toBe("1");
    const [ms] = setsOf(e, "md1");
    const name = ms!.metadata.name!;
    expect(name).toMatch(new RegExp(`^md1-${RANDOM}$`));
    const hash = ms!.metadata.labels!["machine-template-hash"]!;
    expect(hash).toBe(`${hash.split("-")[0]}-${name.slice(-5)}`);
    expect(hash).toMatch(/^\d+-/);
    expect(ms!.metadata.labels).toEqual({
      "cluster.x-k8s.io/cluster-name": CLUSTER,
      "cluster.x-k8s.io/deployment-name": "md1",
      "machine-template-hash": hash,
    });
    expect(ms!.metadata.annotations).toEqual({
      "example.com/propagated": "yes",
      "machinedeployment.clusters.x-k8s.io/revision": "1",
      "machinedeployment.clusters.x-k8s.io/desired-replicas": "3",
      "machinedeployment.clusters.x-k8s.io/max-replicas": "4",
      "cluster.x-k8s.io/disable-machine-create": "false",
    });
    expect(ms!.metadata.ownerReferences).toEqual([
      { apiVersion: CAPI_VERSION, kind: "MachineDeployment", name: "md1", uid: stored.metadata.uid!, controller: true, blockOwnerDeletion: true },
    ]);
    expect((ms!.spec as { selector: unknown }).selector).toEqual({
      matchLabels: { "cluster.x-k8s.io/cluster-name": CLUSTER, "cluster.x-k8s.io/deployment-name": "md1", "machine-template-hash": hash },
    });
    expect((ms!.spec as { template: { metadata: unknown } }).template.metadata).toEqual({
      labels: { "cluster.x-k8s.io/cluster-name": CLUSTER, "cluster.x-k8s.io/deployment-name": "md1", "machine-template-hash": hash },
      annotations: { "example.com/machine": "a" },
    });
    for (const m of machinesOf(e, "md1")) {
      expect(m.metadata.labels).toMatchObject({ "cluster.x-k8s.io/set-name": name, "cluster.x-k8s.io/deployment-name": "md1", "machine-template-hash": hash });
      expect(m.metadata.annotations).toEqual({ "example.com/machine": "a" });
    }
    expect(stored.status).toMatchObject({
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      upToDateReplicas: 3,
      phase: "Running",
      selector: "cluster.x-k8s.io/cluster-name=c1,cluster.x-k8s.io/deployment-name=md1",
      versions: [{ version: "v1.31.0", replicas: 3 }],
    });
    for (const [type, st, reason] of [
      ["Available", "True", "Available"],
      ["MachinesReady", "True", "Ready"],
      ["MachinesUpToDate", "True", "UpToDate"],
      ["RollingOut", "False", "NotRollingOut"],
      ["ScalingUp", "False", "NotScalingUp"],
      ["ScalingDown", "False", "NotScalingDown"],
      ["Remediating", "False", "NotRemediating"],
      ["Deleting", "False", "NotDeleting"],
      ["Paused", "False", "NotPaused"],
    ]) {
      expect(getCondition(stored, type!)).toMatchObject({ status: st, reason });
    }
  });

  it("applied before its templates (kubectl apply order), it creates its MachineSet as soon as they exist, not after a fixed wait", async () => {
    const e = await start();
    const md = machineDeployment("md1", 2);
    (md.spec as { template: { spec: { infrastructureRef: unknown } } }).template.spec.infrastructureRef = infraRef("infra-late");
    await e.client.create(md);
    await Bun.sleep(300);
    expect(setsOf(e, "md1")).toHaveLength(0);
    const t0 = performance.now();
    await e.client.create(template("TestMachineTemplate", "infra-late", { cpu: 8 }));
    await waitFor(() => setsOf(e, "md1").length === 1, 5_000, "the MachineSet once the template exists");
    expect(performance.now() - t0).toBeLessThan(3_000);
  });

  it("scales up and down through spec.replicas (what the scale subresource writes)", async () => {
    const e = await start();
    await e.client.create(machineDeployment("md1", 2));
    await settled(e, "md1", 2, "v1.31.0");
    await patchMD(e, "md1", { spec: { replicas: 4 } });
    await settled(e, "md1", 4, "v1.31.0");
    expect(setsOf(e, "md1")[0]!.metadata.annotations?.["machinedeployment.clusters.x-k8s.io/desired-replicas"]).toBe("4");
    await patchMD(e, "md1", { spec: { replicas: 1 } });
    await settled(e, "md1", 1, "v1.31.0");
    expect(replicasOf(setsOf(e, "md1")[0]!)).toBe(1);
  });

  for (const [surge, unavailable, replicas] of [
    [1, 0, 3],
    [0, 1, 3],
    ["50%", "0%", 4],
  ] as const) {
    it(`rolls out v1.31.0 → v1.32.0 with maxSurge ${surge} / maxUnavailable ${unavailable} within the availability and surge bounds`, async () => {
      const e = await start({ autoReady: false });
      const inf = e.m.informers.forKind(CAPI_VERSION, "Machine")!;
      const md = machineDeployment("md1", replicas, { rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } } } });
      const maxSurgeN = typeof surge === "number" ? surge : Math.ceil((Number.parseInt(surge, 10) * replicas) / 100);
      const maxUnavailableN = typeof unavailable === "number" ? unavailable : Math.floor((Number.parseInt(unavailable, 10) * replicas) / 100);
      let tracking = false;
      let minAvailable = Number.POSITIVE_INFINITY;
      let maxMachines = 0;
      // A fake Machine controller: a new Machine turns Ready/Available a moment after it appears.
      inf.addHandler((type, obj) => {
        if (type === "ADDED" && !obj.metadata.deletionTimestamp) setTimeout(() => void e.fake.markReady(obj.metadata.name!).catch(() => {}), 15);
        if (!tracking) return;
        const all = inf.list(NS).filter((m) => m.metadata.labels?.["cluster.x-k8s.io/deployment-name"] === "md1");
        minAvailable = Math.min(minAvailable, all.filter(isAvailable).length);
        maxMachines = Math.max(maxMachines, all.length);
      });
      await e.client.create(md);
      const before = await settled(e, "md1", replicas, "v1.31.0");
      const oldMS = setsOf(e, "md1")[0]!.metadata.name;
      tracking = true;
      await patchMD(e, "md1", { spec: { template: { spec: { version: "v1.32.0" } } } });
      const after = await settled(e, "md1", replicas, "v1.32.0", 30_000);
      tracking = false;

      // Both bounds are reached (the rollout uses its budget) and never crossed.
      expect(minAvailable).toBe(replicas - maxUnavailableN);
      expect(maxMachines).toBe(replicas + maxSurgeN);
      const sets = setsOf(e, "md1");
      expect(sets).toHaveLength(1);
      expect(sets[0]!.metadata.name).not.toBe(oldMS);
      expect(version(sets[0]!)).toBe("v1.32.0");
      expect(sets[0]!.metadata.annotations?.["machinedeployment.clusters.x-k8s.io/revision"]).toBe("2");
      expect(after.metadata.annotations?.["machinedeployment.clusters.x-k8s.io/revision"]).toBe("2");
      expect(before.metadata.annotations?.["machinedeployment.clusters.x-k8s.io/revision"]).toBe("1");
      expect(get(e, "MachineSet", oldMS!)).toBeUndefined();
      const events = e.client.list("v1", "Event", NS).filter((ev) => (ev.involvedObject as { name: string }).name === "md1").map((ev) => ev.reason);
      expect(events).toContain("SuccessfulCreate");
      expect(events).toContain("SuccessfulScale");
      expect(events).toContain("SuccessfulDelete");
    });
  }

  it("OnDelete: marks old sets disable-machine-create and grows the new one only as old Machines are deleted", async () => {
    const e = await start();
    await e.client.create(machineDeployment("md1", 2, { rollout: { strategy: { type: "OnDelete" } } }));
    await settled(e, "md1", 2, "v1.31.0");
    const oldName = setsOf(e, "md1")[0]!.metadata.name!;
    const oldMachines = machinesOf(e, "md1").map((m) => m.metadata.name!);
    await patchMD(e, "md1", { spec: { template: { spec: { version: "v1.32.0" } } } });
    await e.m.idle();
    let sets = setsOf(e, "md1");
    expect(sets).toHaveLength(2);
    const oldMS = sets.find((s) => s.metadata.name === oldName)!;
    const newMS = sets.find((s) => s.metadata.name !== oldName)!;
    expect(oldMS.metadata.annotations?.["cluster.x-k8s.io/disable-machine-create"]).toBe("true");
    expect(newMS.metadata.annotations?.["cluster.x-k8s.io/disable-machine-create"]).toBe("false");
    expect(replicasOf(oldMS)).toBe(2);
    expect(replicasOf(newMS)).toBe(0);
    expect(machinesOf(e, "md1").map((m) => m.metadata.name).sort()).toEqual([...oldMachines].sort());
    expect(getCondition(get(e, "MachineDeployment", "md1")!, "RollingOut")?.status).toBe("False");

    await e.client.delete({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name: oldMachines[0]! });
    await waitFor(() => machinesOf(e, "md1").filter((m) => version(m) === "v1.32.0" && isAvailable(m)).length === 1, 10_000, "one new Machine");
    await e.m.idle();
    sets = setsOf(e, "md1");
    expect(replicasOf(sets.find((s) => s.metadata.name === oldName)!)).toBe(1);
    expect(machinesOf(e, "md1")).toHaveLength(2);

    await e.client.delete({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name: oldMachines[1]! });
    await settled(e, "md1", 2, "v1.32.0");
    expect(get(e, "MachineSet", oldName)).toBeUndefined();
  });

  it("rolls out a new MachineSet once spec.rollout.after has passed", async () => {
    const e = await start();
    e.clock.offsetMs = -60_000;
    await e.client.create(machineDeployment("md1", 2));
    await settled(e, "md1", 2, "v1.31.0");
    e.clock.offsetMs = 0;
    const first = setsOf(e, "md1")[0]!.metadata.name;

    // In the future: nothing yet, then a requeue at that time.
    const soon = new Date(Date.now() + 1500);
    await patchMD(e, "md1", { spec: { rollout: { after: nowRfc3339(new Date(Math.ceil(soon.getTime() / 1000) * 1000)) } } });
    await e.m.idle();
    expect(setsOf(e, "md1").map((s) => s.metadata.name)).toEqual([first]);
    await waitFor(() => setsOf(e, "md1").some((s) => s.metadata.name !== first) && true, 10_000, "a new MachineSet");
    const done = await settled(e, "md1", 2, "v1.31.0");
    const [second] = setsOf(e, "md1");
    expect(second!.metadata.name).not.toBe(first);
    expect(second!.metadata.annotations?.["machinedeployment.clusters.x-k8s.io/revision"]).toBe("2");
    expect(done.metadata.annotations?.["machinedeployment.clusters.x-k8s.io/revision"]).toBe("2");
    // No further rollouts for the same rollout.after.
    await e.m.idle();
    expect(setsOf(e, "md1").map((s) => s.metadata.name)).toEqual([second!.metadata.name]);
  });

  it("paused (spec.paused): no rollout, but in-place propagation and scaling; resumes on unpause", async () => {
    const e = await start();
    await e.client.create(machineDeployment("md1", 2));
    await settled(e, "md1", 2, "v1.31.0");
    const first = setsOf(e, "md1")[0]!.metadata.name;
    const labels = { "cluster.x-k8s.io/cluster-name": CLUSTER, "cluster.x-k8s.io/deployment-name": "md1", extra: "label" };
    await patchMD(e, "md1", { spec: { paused: true, replicas: 3, template: { metadata: { labels }, spec: { version: "v1.32.0" } } } });
    await waitFor(() => machinesOf(e, "md1").length === 3, 10_000, "3 Machines");
    await e.m.idle();
    let sets = setsOf(e, "md1");
    expect(sets.map((s) => s.metadata.name)).toEqual([first]);
    expect(version(sets[0]!)).toBe("v1.31.0");
    expect((sets[0]!.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels.extra).toBe("label");
    expect(machinesOf(e, "md1").every((m) => m.metadata.labels?.extra === "label" && version(m) === "v1.31.0")).toBe(true);

    await patchMD(e, "md1", { spec: { paused: false } });
    await settled(e, "md1", 3, "v1.32.0");
    sets = setsOf(e, "md1");
    expect(sets[0]!.metadata.name).not.toBe(first);
  });

  it("propagates labels and annotations to its MachineSets (and on to Machines) without a rollout", async () => {
    const e = await start();
    await e.client.create(machineDeployment("md1", 2));
    await settled(e, "md1", 2, "v1.31.0");
    const [ms] = setsOf(e, "md1");
    await patchMD(e, "md1", {
      metadata: { annotations: { "example.com/note": "n1" } },
      spec: { template: { metadata: { labels: { role: "gpu" }, annotations: { "example.com/m": "x" } }, spec: { minReadySeconds: 0 } } },
    });
    await waitFor(() => machinesOf(e, "md1").every((m) => m.metadata.labels?.role === "gpu" && m.metadata.annotations?.["example.com/m"] === "x"), 10_000, "Machine metadata");
    const [after] = setsOf(e, "md1");
    expect(after!.metadata.name).toBe(ms!.metadata.name);
    expect(after!.metadata.annotations?.["example.com/note"]).toBe("n1");
    expect(after!.metadata.labels?.role).toBe("gpu");
    expect((after!.spec as { template: { spec: { minReadySeconds: number } } }).template.spec.minReadySeconds).toBe(0);
  });

  it("remediates at most spec.remediation.maxInFlight Machines at a time", async () => {
    const e = await start();
    await e.client.create(machineDeployment("md1", 3, { remediation: { maxInFlight: 1 } }));
    await settled(e, "md1", 3, "v1.31.0");
    const [a, b] = machinesOf(e, "md1").map((m) => m.metadata.name!).sort() as [string, string];
    e.fake.holdDeletion = true;
    for (const n of [a!, b!]) {
      await e.fake.setConditions(n, [
        { type: "HealthCheckSucceeded", status: "False", reason: "UnhealthyNode" },
        { type: "OwnerRemediated", status: "False", reason: "WaitingForRemediation" },
      ]);
    }
    await e.m.idle();
    const machines = machinesOf(e, "md1");
    const deleting = machines.filter((m) => m.metadata.deletionTimestamp);
    expect(deleting).toHaveLength(1);
    const waiting = machines.find((m) => [a, b].includes(m.metadata.name!) && !m.metadata.deletionTimestamp)!;
    expect(getCondition(waiting, "OwnerRemediated")).toMatchObject({ status: "False", reason: "RemediationDeferred" });
    expect(getCondition(get(e, "MachineDeployment", "md1")!, "Remediating")?.status).toBe("True");
    e.fake.release();
    await waitFor(() => !machinesOf(e, "md1").some((m) => [a, b].includes(m.metadata.name!)), 10_000, "both remediated");
    await settled(e, "md1", 3, "v1.31.0");
  });

  it("does nothing while the Cluster is paused", async () => {
    const e = await start();
    await e.client.patch({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER }, "merge", { spec: { paused: true } });
    await e.client.create(machineDeployment("md1", 2));
    await e.m.idle();
    expect(setsOf(e, "md1")).toHaveLength(0);
    expect(getCondition(get(e, "MachineDeployment", "md1")!, "Paused")?.status).toBe("True");
    await e.client.patch({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER }, "merge", { spec: { paused: false } });
    await settled(e, "md1", 2, "v1.31.0");
  });

  it("deletion removes its MachineSets and their Machines, then itself", async () => {
    const e = await start();
    await e.client.create(machineDeployment("md1", 2));
    await settled(e, "md1", 2, "v1.31.0");
    e.fake.holdDeletion = true;
    await e.client.delete(mdRef("md1"));
    await e.m.idle();
    const md = get(e, "MachineDeployment", "md1")!;
    expect(md.metadata.deletionTimestamp).toBeDefined();
    expect(getCondition(md, "Deleting")).toMatchObject({ status: "True", reason: "Deleting", message: "Deleting 2 Machines" });
    expect((md.status as { phase: string }).phase).toBe("ScalingDown");
    expect(setsOf(e, "md1").every((s) => s.metadata.deletionTimestamp)).toBe(true);
    e.fake.release();
    await waitFor(() => !get(e, "MachineDeployment", "md1"), 10_000, "MachineDeployment gone");
    expect(e.client.list(CAPI_VERSION, "MachineSet", NS)).toHaveLength(0);
    expect(e.client.list(CAPI_VERSION, "Machine", NS)).toHaveLength(0);
  });

  it("works with the Cluster API admission webhooks wired (defaults from a minimal MachineDeployment) and settles without reconcile loops", async () => {
    const e = await startEnv([setupMachineSetController, setupMachineDeploymentController], { webhooks: true });
    env = e;
    await e.client.create({
      apiVersion: CAPI_VERSION,
      kind: "MachineDeployment",
      metadata: { name: "md1", namespace: NS },
      spec: {
        clusterName: CLUSTER,
        replicas: 2,
        selector: {},
        template: { spec: { clusterName: CLUSTER, version: "1.31.0", bootstrap: { configRef: { apiGroup: "test.capx.dev", kind: "TestConfigTemplate", name: "boot-a" } }, infrastructureRef: infraRef() } },
      },
    });
    const md = await settled(e, "md1", 2, "v1.31.0");
    expect((md.spec as { selector: unknown }).selector).toEqual({ matchLabels: { "cluster.x-k8s.io/cluster-name": CLUSTER, "cluster.x-k8s.io/deployment-name": "md1" } });
    await patchMD(e, "md1", { spec: { template: { spec: { version: "v1.32.0" } } } });
    await settled(e, "md1", 2, "v1.32.0");
    await e.m.idle();
    const snap = () => e.m.controllers.map((c) => `${c.name}:${JSON.stringify(c.stats.reconciles)}`).join(" ");
    const before = snap();
    await Bun.sleep(500);
    expect(snap()).toBe(before);
  });
});
