import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { getCondition, getV1Beta1Condition, setCondition, setV1Beta1Condition } from "../../runtime/conditions.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { KCP_CLEANUP_HOOK, KCP_VERSION } from "./kcp-machines.ts";
import { REMEDIATION_FOR_ANNOTATION, REMEDIATION_IN_PROGRESS_ANNOTATION } from "./kcp-remediation.ts";
import { createCluster, nodeUp, NS, startKcpEnv, waitFor, type KcpTestEnv } from "./testenv.ts";

const CLUSTER = "r1";
const KCP_REF = { apiVersion: KCP_VERSION, kind: "KubeadmControlPlane", namespace: NS, name: "rcp" };
const FINALIZER = "machine.cluster.x-k8s.io";
const QUORUM_MESSAGE = "KubeadmControlPlane can't remediate this Machine because this could result in loosing Kubernetes control plane components or in etcd quorum loss";

let env: KcpTestEnv;
/** While true the fake Machine controller is still "draining": it does not reach the pre-terminate hooks. */
let holdDeletion = false;
let stopMachineController = false;

const machineRef = (name: string) => ({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name });
const machine = (name: string) => env.client.get(machineRef(name));
const machines = () => env.client.list(CAPI_VERSION, "Machine", NS).filter((m) => m.metadata.labels?.["cluster.x-k8s.io/control-plane-name"] === "rcp");
const live = () => machines().filter((m) => !m.metadata.deletionTimestamp);
const kcp = () => env.client.get(KCP_REF)!;
const kcpCondition = (type: string) => getCondition(kcp(), type);
const events = (reason: string) => env.client.list("v1", "Event", NS).filter((e) => e.reason === reason);

/**
 * Plays the Machine controller's part in deletion: a finalizer on every machine; on a deleting
 * one, `Deleting=True/WaitingForPreTerminateHook` while a pre-terminate hook remains, then the
 * finalizer goes.
 */
async function machineControllerStep(): Promise<void> {
  for (const m of machines()) {
    const name = m.metadata.name!;
    if (!m.metadata.deletionTimestamp) {
      if (!m.metadata.finalizers?.includes(FINALIZER)) {
        await env.client.patch(machineRef(name), "merge", { metadata: { finalizers: [...(m.metadata.finalizers ?? []), FINALIZER], resourceVersion: m.metadata.resourceVersion } });
      }
      continue;
    }
    if (holdDeletion) continue;
    const hooks = Object.keys(m.metadata.annotations ?? {}).filter((k) => k.startsWith("pre-terminate.delete.hook.machine.cluster.x-k8s.io/"));
    if (hooks.length) {
      if (getCondition(m, "Deleting")?.reason === "WaitingForPreTerminateHook") continue;
      const after = structuredClone(m);
      setCondition(after, { type: "Deleting", status: "True", reason: "WaitingForPreTerminateHook", message: `Waiting for pre-terminate hooks to succeed (hooks: ${hooks.join(",")})` });
      await patchObject(env.client, m, after);
    } else {
      await env.client.patch(machineRef(name), "merge", { metadata: { finalizers: (m.metadata.finalizers ?? []).filter((f) => f !== FINALIZER), resourceVersion: m.metadata.resourceVersion } });
    }
  }
}

async function machineControllerLoop(): Promise<void> {
  while (!stopMachineController) {
    await machineControllerStep().catch(() => undefined); // conflicts: the next round retries
    await Bun.sleep(10);
  }
}

/** What a MachineHealthCheck writes on an unhealthy Machine (or, healthy again, HealthCheckSucceeded=True). */
async function setHealth(name: string, healthy: boolean): Promise<void> {
  const m = machine(name)!;
  const after = structuredClone(m);
  if (healthy) {
    setCondition(after, { type: "HealthCheckSucceeded", status: "True", reason: "Succeeded", message: "" });
    setV1Beta1Condition(after, { type: "HealthCheckSucceeded", status: "True" });
  } else {
    setCondition(after, { type: "HealthCheckSucceeded", status: "False", reason: "UnhealthyNode", message: "Condition Ready on Node is reporting status False" });
    setCondition(after, { type: "OwnerRemediated", status: "False", reason: "WaitingForRemediation", message: "Waiting for remediation" });
    setV1Beta1Condition(after, { type: "HealthCheckSucceeded", status: "False", severity: "Warning", reason: "UnhealthyNode" });
    setV1Beta1Condition(after, { type: "OwnerRemediated", status: "False", severity: "Warning", reason: "WaitingForRemediation" });
  }
  await patchObject(env.client, m, after);
}

/** Brings up the Node of every new machine until `n` ready machines and nothing deleting. */
async function converge(n: number): Promise<void> {
  await waitFor(`${n} ready control-plane machines`, async () => {
    for (const m of live()) if (!(m.status as { nodeRef?: unknown } | undefined)?.nodeRef) await nodeUp(env.client, m.metadata.name!);
    const s = (kcp().status ?? {}) as { readyReplicas?: number };
    return machines().length === n && live().length === n && s.readyReplicas === n && live().every((m) => m.metadata.finalizers?.includes(FINALIZER));
  });
}

const newMachine = (before: string[]) => waitFor("a replacement machine", () => live().find((m) => !before.includes(m.metadata.name!)));
const remediationFor = (m: KObject) => JSON.parse(m.metadata.annotations![REMEDIATION_FOR_ANNOTATION]!) as { machine: string; timestamp: string; retryCount: number };

beforeAll(async () => {
  env = await startKcpEnv();
  env.kubeadmConfig.exists = true;
  void machineControllerLoop();
  const cluster = await createCluster(env.client, CLUSTER, "rcp");
  await env.client.create({
    apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
    kind: "ProxmoxMachineTemplate",
    metadata: { name: "rcp-tmpl", namespace: NS },
    spec: {
      template: {
        spec: {
          sourceNode: "pve1",
          templateID: 9001,
          disks: { bootVolume: { disk: "scsi0", sizeGb: 12 } },
          network: { networkDevices: [{ name: "net0", bridge: "vmbr0", defaultIPv4: true }] },
        },
      },
    },
  });
  await env.client.create({
    apiVersion: KCP_VERSION,
    kind: "KubeadmControlPlane",
    metadata: { name: "rcp", namespace: NS, ownerReferences: [{ apiVersion: CAPI_VERSION, kind: "Cluster", name: CLUSTER, uid: cluster.metadata.uid! }] },
    spec: {
      replicas: 3,
      version: "v1.33.1",
      machineTemplate: { spec: { infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachineTemplate", name: "rcp-tmpl" } } },
      kubeadmConfigSpec: { clusterConfiguration: { apiServer: { certSANs: ["rcp.example"] } }, joinConfiguration: { nodeRegistration: { name: "{{ ds.meta_data.hostname }}" } } },
    },
  });
  await converge(3);
});
afterAll(async () => {
  stopMachineController = true;
  await env?.close();
});

describe("KubeadmControlPlane remediation and the kcp-cleanup hook", () => {
  test("every control-plane machine carries the kcp-cleanup pre-terminate hook", () => {
    for (const m of live()) expect(m.metadata.annotations?.[KCP_CLEANUP_HOOK]).toBe("");
  });

  test("one unhealthy of 3: leadership moved, member removed, deleted; the replacement carries remediation-for", async () => {
    const before = live().map((m) => m.metadata.name!);
    const sick = before[1]!;
    holdDeletion = true;
    await setHealth(sick, false);
    await waitFor("the unhealthy machine deleted", () => machine(sick)?.metadata.deletionTimestamp);
    // etcd first, while the Machine still existed.
    const calls = env.etcd.calls.filter((c) => c.machine === sick);
    expect(calls.map((c) => c.op)).toEqual(["forwardLeadership", "removeMember"]);
    expect(calls.every((c) => c.machineExisted)).toBe(true);
    const inProgress = JSON.parse(await waitFor("remediation-in-progress", () => kcp().metadata.annotations?.[REMEDIATION_IN_PROGRESS_ANNOTATION]));
    expect(inProgress).toMatchObject({ machine: sick, retryCount: 0 });
    await waitFor("OwnerRemediated MachineDeleting", () => getCondition(machine(sick)!, "OwnerRemediated")?.reason === "MachineDeleting");
    expect(getCondition(machine(sick)!, "OwnerRemediated")).toMatchObject({ status: "False", message: "Machine is deleting" });
    expect(getV1Beta1Condition(machine(sick)!, "OwnerRemediated")).toMatchObject({ status: "False", reason: "RemediationInProgress", severity: "Warning" });
    // No replacement while the remediated machine is still there.
    await Bun.sleep(100);
    expect(machines().length).toBe(3);

    holdDeletion = false;
    const replacement = await newMachine(before);
    expect(remediationFor(replacement)).toEqual(inProgress);
    expect(replacement.metadata.annotations?.[KCP_CLEANUP_HOOK]).toBe("");
    await converge(3);
    expect(machine(sick)).toBeUndefined();
    await waitFor("remediation-in-progress removed", () => kcp().metadata.annotations?.[REMEDIATION_IN_PROGRESS_ANNOTATION] === undefined);
    expect((kcp().status as { lastRemediation?: unknown }).lastRemediation).toEqual({ machine: sick, time: inProgress.timestamp, retryCount: 0 });
    await waitFor("Remediating False", () => kcpCondition("Remediating")?.status === "False");
    expect(kcpCondition("Remediating")).toMatchObject({ status: "False", reason: "NotRemediating", message: "" });
    expect(events("MachineRemediated").map((e) => (e.involvedObject as { name?: string }).name)).toEqual([sick]);
  });

  test("a Machine deleted by hand keeps the hook until its etcd member is removed", async () => {
    const before = live().map((m) => m.metadata.name!);
    const victim = before[0]!;
    env.etcd.available = false;
    await env.client.delete(machineRef(victim));
    await waitFor("waiting on the hook", () => getCondition(machine(victim)!, "Deleting")?.reason === "WaitingForPreTerminateHook");
    await Bun.sleep(150);
    // Without etcd access the hook stays, so the deletion does not go on.
    expect(machine(victim)?.metadata.annotations?.[KCP_CLEANUP_HOOK]).toBe("");
    expect(env.etcd.calls.filter((c) => c.machine === victim)).toEqual([]);

    env.etcd.available = true;
    await waitFor("the machine gone", () => !machine(victim));
    const calls = env.etcd.calls.filter((c) => c.machine === victim);
    expect(calls.map((c) => c.op)).toEqual(["forwardLeadership", "removeMember"]);
    expect(calls.every((c) => c.hookPresent && !c.machineExisted)).toBe(true);
    await newMachine(before);
    await converge(3);
  });

  test("two unhealthy of 3: the most broken is remediated, the other is blocked while etcd quorum depends on it", async () => {
    const before = live().map((m) => m.metadata.name!);
    const [a, b] = before;
    env.etcd.unhealthy.add(a!); // a's etcd member is down too: it goes first
    holdDeletion = true;
    await setHealth(a!, false);
    await setHealth(b!, false);
    await waitFor("a deleted", () => machine(a!)?.metadata.deletionTimestamp);
    // One remediation at a time: b waits while a's remediation is in progress.
    await Bun.sleep(100);
    expect(machine(b!)?.metadata.deletionTimestamp).toBeUndefined();
    expect(getCondition(machine(b!)!, "OwnerRemediated")?.reason).toBe("WaitingForRemediation");
    expect(JSON.parse(kcp().metadata.annotations![REMEDIATION_IN_PROGRESS_ANNOTATION]!)).toMatchObject({ machine: a });
    holdDeletion = false;
    // The replacement joins etcd but its member is not healthy yet: removing b would leave 1 healthy of 2.
    const replacement = await newMachine(before);
    env.etcd.unhealthy.add(replacement.metadata.name!);
    await converge(3);
    await waitFor("b blocked", () => getCondition(machine(b!)!, "OwnerRemediated")?.reason === "CannotBeRemediated");
    expect(getCondition(machine(b!)!, "OwnerRemediated")?.message).toBe(QUORUM_MESSAGE);
    expect(getV1Beta1Condition(machine(b!)!, "OwnerRemediated")).toMatchObject({ status: "False", reason: "WaitingForRemediation", severity: "Warning", message: QUORUM_MESSAGE });
    await waitFor("Remediating says why", () => kcpCondition("Remediating")?.message?.includes(QUORUM_MESSAGE));
    expect(kcpCondition("Remediating")).toMatchObject({ status: "True", reason: "Remediating" });
    await Bun.sleep(150);
    expect(machine(b!)?.metadata.deletionTimestamp).toBeUndefined();
    expect(env.etcd.removed().filter((n) => n === a || n === b)).toEqual([a!]);

    // Healthy again: OwnerRemediated goes from b.
    await setHealth(b!, true);
    await waitFor("OwnerRemediated removed", () => !getCondition(machine(b!)!, "OwnerRemediated") && !getV1Beta1Condition(machine(b!)!, "OwnerRemediated"));
    env.etcd.unhealthy.clear();
  });

  test("maxRetry: a replacement that fails again within minHealthyPeriod counts as a retry; past maxRetry it is not remediated", async () => {
    await env.client.patch(KCP_REF, "merge", { spec: { remediation: { maxRetry: 1 } } });
    let sick = live().find((m) => !m.metadata.annotations?.[REMEDIATION_FOR_ANNOTATION])!.metadata.name!;
    for (const expected of [0, 1]) {
      const before = live().map((m) => m.metadata.name!);
      await setHealth(sick, false);
      const replacement = await newMachine(before);
      expect(remediationFor(replacement)).toMatchObject({ machine: sick, retryCount: expected });
      await converge(3);
      sick = replacement.metadata.name!;
    }
    const before = live().map((m) => m.metadata.name!);
    await setHealth(sick, false);
    await waitFor("blocked by maxRetry", () => getCondition(machine(sick)!, "OwnerRemediated")?.reason === "CannotBeRemediated");
    expect(getCondition(machine(sick)!, "OwnerRemediated")?.message).toBe("KubeadmControlPlane can't remediate this machine because the operation already failed 1 times (MaxRetry)");
    await Bun.sleep(150);
    expect(live().map((m) => m.metadata.name!)).toEqual(before);
    expect((kcp().status as { lastRemediation?: { retryCount: number } }).lastRemediation?.retryCount).toBe(1);
  });

  test("the KubeadmControlPlane deleted: its machines' hooks are dropped so they can go", async () => {
    const removedBefore = env.etcd.removed().length;
    await env.client.delete(KCP_REF);
    await waitFor("every control-plane machine gone", () => machines().length === 0);
    expect(env.etcd.removed().length).toBe(removedBefore);
  });
});
