import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { KUBEADMCONFIG_VERSION } from "../kubeadm/kubeadmconfig.ts";
import { KCP_VERSION } from "./kcp-machines.ts";
import { LEAVING_ANNOTATION } from "./kubeadmcontrolplane.ts";
import { createCluster, nodeUp, NS, startKcpEnv, waitFor, type KcpTestEnv } from "./testenv.ts";

const CLUSTER = "k1";
const INFRA_VERSION = "infrastructure.cluster.x-k8s.io/v1alpha2";
const PM_SPEC = {
  sourceNode: "pve1",
  templateID: 9001,
  numSockets: 1,
  numCores: 2,
  memoryMiB: 2048,
  disks: { bootVolume: { disk: "scsi0", sizeGb: 12 } },
  network: { networkDevices: [{ name: "net0", bridge: "vmbr0", defaultIPv4: true }] },
};
const KCP_REF = { apiVersion: KCP_VERSION, kind: "KubeadmControlPlane", namespace: NS, name: "cp" };

let env: KcpTestEnv;

beforeAll(async () => {
  env = await startKcpEnv();
  const cluster = await createCluster(env.client, CLUSTER, "cp");
  await env.client.create({ apiVersion: INFRA_VERSION, kind: "ProxmoxMachineTemplate", metadata: { name: "cp-tmpl", namespace: NS }, spec: { template: { spec: PM_SPEC } } });
  await env.client.create({
    apiVersion: KCP_VERSION,
    kind: "KubeadmControlPlane",
    metadata: { name: "cp", namespace: NS, ownerReferences: [{ apiVersion: CAPI_VERSION, kind: "Cluster", name: CLUSTER, uid: cluster.metadata.uid! }] },
    spec: {
      replicas: 1,
      version: "v1.33.1",
      machineTemplate: { spec: { infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachineTemplate", name: "cp-tmpl" } } },
      kubeadmConfigSpec: {
        clusterConfiguration: { apiServer: { certSANs: ["cp.example"] } },
        initConfiguration: { nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "init" }] } },
        joinConfiguration: { nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "join" }] } },
      },
    },
  });
});
afterAll(async () => {
  await env?.close();
});

const machines = () => env.client.list(CAPI_VERSION, "Machine", NS).filter((m) => m.metadata.labels?.["cluster.x-k8s.io/control-plane-name"] === "cp");
const live = () => machines().filter((m) => !m.metadata.deletionTimestamp);
const kcp = () => env.client.get(KCP_REF)!;
interface Status {
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  upToDateReplicas?: number;
  version?: string;
  selector?: string;
  initialization?: { controlPlaneInitialized?: boolean };
  conditions?: { type: string; status: string; reason: string; message?: string }[];
  deprecated?: { v1beta1?: { readyReplicas?: number; updatedReplicas?: number; unavailableReplicas?: number; conditions?: { type: string; status: string }[] } };
}
const status = () => (kcp().status ?? {}) as Status;
const condition = (type: string) => status().conditions?.find((c) => c.type === type);
const config = (name: string) => env.client.get({ apiVersion: KUBEADMCONFIG_VERSION, kind: "KubeadmConfig", namespace: NS, name })!;
const secret = (name: string) => env.client.get({ apiVersion: "v1", kind: "Secret", namespace: NS, name });
const machineCondition = (name: string, type: string) =>
  ((env.client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name })?.status as { conditions?: { type: string; status: string; reason: string; message?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const nodeless = () => live().filter((m) => !(m.status as { nodeRef?: unknown } | undefined)?.nodeRef);

/** Brings every new machine's Node up, one at a time, until `n` ready; records how many machines lacked a Node at once. */
async function converge(n: number, extra?: (ms: KObject[]) => boolean): Promise<number> {
  let maxPending = 0;
  await waitFor(
    `${n} ready replicas`,
    async () => {
      const pending = nodeless();
      maxPending = Math.max(maxPending, pending.length);
      for (const m of pending) await nodeUp(env.client, m.metadata.name!);
      const s = status();
      return live().length === n && machines().length === n && s.replicas === n && s.readyReplicas === n && s.upToDateReplicas === n && (!extra || extra(live())) ? true : undefined;
    },
    5_000,
  );
  return maxPending;
}

describe("KubeadmControlPlane controller", () => {
  let certUids: string[] = [];

  test("first machine: certificates owned by the KCP, init configuration, clone, kubeconfig; initialized once kubeadm-config exists", async () => {
    const first = await waitFor("first machine", () => machines()[0]);
    const name = first.metadata.name!;
    expect(first.metadata.labels).toMatchObject({ "cluster.x-k8s.io/cluster-name": CLUSTER, "cluster.x-k8s.io/control-plane": "", "cluster.x-k8s.io/control-plane-name": "cp" });
    expect(first.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "KubeadmControlPlane", name: "cp", controller: true })]);
    expect(first.spec).toMatchObject({ clusterName: CLUSTER, version: "v1.33.1", bootstrap: { configRef: { kind: "KubeadmConfig", name } }, infrastructureRef: { kind: "ProxmoxMachine", name } });
    expect((first.spec as { failureDomain?: string }).failureDomain).toBe("fd-a");
    const cfg = (await waitFor("KubeadmConfig", () => config(name))).spec as Record<string, unknown>;
    expect(cfg.initConfiguration).toEqual({ nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "init" }] } });
    expect(cfg.joinConfiguration).toBeUndefined();
    expect(cfg.clusterConfiguration).toMatchObject({ apiServer: { certSANs: ["cp.example"] } });
    const pm = await waitFor("infrastructure machine", () => env.client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxMachine", namespace: NS, name }));
    expect(pm.metadata.annotations).toMatchObject({ "cluster.x-k8s.io/cloned-from-name": "cp-tmpl", "cluster.x-k8s.io/cloned-from-groupkind": "ProxmoxMachineTemplate.infrastructure.cluster.x-k8s.io" });
    expect(pm.spec).toMatchObject({ templateID: 9001 });

    for (const p of ["ca", "etcd", "proxy", "sa"]) {
      const s = secret(`${CLUSTER}-${p}`)!;
      expect(s.type).toBe("cluster.x-k8s.io/secret");
      expect(s.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "KubeadmControlPlane", name: "cp", controller: true })]);
      certUids.push(s.metadata.uid!);
    }
    expect(await waitFor("CertificatesAvailable", () => condition("CertificatesAvailable"))).toMatchObject({ status: "True", reason: "Available" });
    // The kubeconfig exists as soon as the endpoint is known (upstream reconcileKubeconfig): the
    // Machine controller needs it to find the first Node.
    const kc = await waitFor("kubeconfig", () => secret(`${CLUSTER}-kubeconfig`));
    expect(Buffer.from((kc.data as { value: string }).value, "base64").toString()).toContain("https://10.10.0.5:6443");
    // Not initialized while kubeadm-config is absent, even once the machine has a Node: no second machine.
    await nodeUp(env.client, name);
    await Bun.sleep(200);
    expect(machines().length).toBe(1);
    expect(status()).toMatchObject({ replicas: 1, upToDateReplicas: 1, version: "v1.33.1", selector: `cluster.x-k8s.io/cluster-name=${CLUSTER},cluster.x-k8s.io/control-plane` });
    expect(condition("Initialized")).toMatchObject({ status: "False", message: "Control plane not yet initialized" });
    expect(condition("Available")?.status).toBe("False");
    expect(machineCondition(name, "UpToDate")).toMatchObject({ status: "True", reason: "UpToDate" });

    env.kubeadmConfig.exists = true;
    await waitFor("initialized", () => status().initialization?.controlPlaneInitialized === true && condition("Available")?.status === "True");
    expect(status()).toMatchObject({ replicas: 1, readyReplicas: 1, availableReplicas: 1, upToDateReplicas: 1, deprecated: { v1beta1: { readyReplicas: 1, updatedReplicas: 1, unavailableReplicas: 0 } } });
    expect(condition("Initialized")).toMatchObject({ status: "True", reason: "Initialized" });
  });

  test("scale 1 → 3: one machine at a time, join configuration, spread over failure domains", async () => {
    await env.client.patch(KCP_REF, "merge", { spec: { replicas: 3 } });
    const maxPending = await converge(3);
    expect(maxPending).toBe(1);
    const ms = live();
    expect(ms.map((m) => (m.spec as { failureDomain?: string }).failureDomain).sort()).toEqual(["fd-a", "fd-b", "fd-c"]);
    const joins = ms.filter((m) => (config(m.metadata.name!).spec as { initConfiguration?: unknown }).initConfiguration === undefined);
    expect(joins.length).toBe(2);
    for (const m of joins) expect((config(m.metadata.name!).spec as { joinConfiguration?: unknown }).joinConfiguration).toMatchObject({ nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "join" }] } });
    expect(status()).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, upToDateReplicas: 3 });
    expect(condition("ScalingUp")?.status).toBe("False");
    expect(condition("MachinesReady")?.status).toBe("True");
    expect(env.etcd.calls).toEqual([]);
  });

  test("scale 3 → 1 without an etcd client: the machine is kept and ScalingDown says why", async () => {
    env.etcd.available = false;
    await env.client.patch(KCP_REF, "merge", { spec: { replicas: 1 } });
    const marked = await waitFor("a machine marked leaving", () => live().find((m) => LEAVING_ANNOTATION in (m.metadata.annotations ?? {})));
    await waitFor("ScalingDown blocked", () => condition("ScalingDown")?.message?.includes("no etcd client"));
    await Bun.sleep(150);
    expect(live().length).toBe(3);
    expect(env.client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name: marked.metadata.name! })?.metadata.deletionTimestamp).toBeUndefined();
    expect(env.etcd.calls).toEqual([]);
  });

  test("scale 3 → 1 with etcd: leadership moved and member removed before each Machine is deleted", async () => {
    const before = live().map((m) => m.metadata.name!);
    env.etcd.available = true;
    await converge(1);
    const removed = env.etcd.removed();
    expect(removed.length).toBe(2);
    const [kept] = live().map((m) => m.metadata.name!);
    expect(removed).not.toContain(kept);
    expect([...removed, kept].sort()).toEqual(before.sort());
    expect(env.etcd.calls.every((c) => c.machineExisted)).toBe(true);
    for (const c of env.etcd.calls.filter((x) => x.op === "forwardLeadership")) expect(c.to).not.toBe(c.machine);
    expect(status()).toMatchObject({ replicas: 1, readyReplicas: 1, upToDateReplicas: 1 });
  });

  test("version change rolls the machine (maxSurge 1): surge, then remove the old one through etcd", async () => {
    const old = live()[0]!.metadata.name!;
    const removedBefore = env.etcd.removed().length;
    await env.client.patch(KCP_REF, "merge", { spec: { version: "v1.33.2" } });
    await waitFor("rolling out", () => condition("RollingOut")?.status === "True" || live().length === 2);
    await waitFor("the old machine not up-to-date", () => machineCondition(old, "UpToDate")?.status === "False");
    expect(machineCondition(old, "UpToDate")).toMatchObject({ reason: "NotUpToDate", message: "* Version v1.33.1 is not v1.33.2" });
    await converge(1, (ms) => ms[0]!.metadata.name !== old);
    const m = live()[0]!;
    expect((m.spec as { version: string }).version).toBe("v1.33.2");
    expect(env.etcd.removed().slice(removedBefore)).toEqual([old]);
    expect(status()).toMatchObject({ version: "v1.33.2", replicas: 1, upToDateReplicas: 1 });
    expect(condition("MachinesUpToDate")?.status).toBe("True");
    expect(machineCondition(m.metadata.name!, "UpToDate")).toMatchObject({ status: "True", reason: "UpToDate" });
  });

  test("certificates and kubeconfig were created once", () => {
    expect(["ca", "etcd", "proxy", "sa"].map((p) => secret(`${CLUSTER}-${p}`)!.metadata.uid)).toEqual(certUids);
    expect(env.client.list("v1", "Secret", NS).filter((s) => s.metadata.name === `${CLUSTER}-kubeconfig`).length).toBe(1);
  });
});
