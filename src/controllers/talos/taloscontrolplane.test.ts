import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { secretValue, TALOSCONFIG_VERSION, TCP_VERSION } from "./common.ts";
import { BOOTSTRAP_ANNOTATION } from "./taloscontrolplane.ts";
import { CLUSTER, createProvisionedCluster, INFRA_VERSION, NS, PM_SPEC, seedBundle, startTalosEnv, waitFor, type TalosTestEnv } from "./testenv.ts";

let env: TalosTestEnv;


beforeAll(async () => {
  env = await startTalosEnv();
  await seedBundle(env.client);
  await createProvisionedCluster(env.client, CLUSTER, "cp");
  await env.client.create({ apiVersion: INFRA_VERSION, kind: "ProxmoxMachineTemplate", metadata: { name: "cp-tmpl", namespace: NS }, spec: { template: { spec: PM_SPEC } } });
  const cluster = env.client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER })!;
  await env.client.create({
    apiVersion: TCP_VERSION,
    kind: "TalosControlPlane",
    metadata: { name: "cp", namespace: NS, ownerReferences: [{ apiVersion: CAPI_VERSION, kind: "Cluster", name: CLUSTER, uid: cluster.metadata.uid! }] },
    spec: {
      replicas: 3,
      version: "v1.33.1",
      // the version users' upstream templates name; read in the storage version (one cache, no conversion)
      infrastructureTemplate: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1", kind: "ProxmoxMachineTemplate", name: "cp-tmpl" },
      controlPlaneConfig: { controlplane: { generateType: "controlplane", talosVersion: "v1.13" } },
    },
  });
});
afterAll(async () => {
  await env.close();
});

const machines = () => env.client.list(CAPI_VERSION, "Machine", NS).filter((m) => m.metadata.labels?.["cluster.x-k8s.io/control-plane-name"] === "cp");
const tcp = () => env.client.get({ apiVersion: TCP_VERSION, kind: "TalosControlPlane", namespace: NS, name: "cp" })!;
const tcpStatus = () => (tcp().status ?? {}) as { replicas?: number; readyReplicas?: number; unavailableReplicas?: number; initialized?: boolean; ready?: boolean; bootstrapped?: boolean; selector?: string };

describe("TalosControlPlane controller", () => {
  test("3 replicas: machines one at a time, each after the previous is healthy; etcd bootstrapped once", async () => {
    const seen: number[] = [];
    let maxAhead = 0;
    // Play the infrastructure provider until three healthy members exist.
    await waitFor(
      "three ready replicas",
      async () => {
        const n = machines().length;
        if (seen.at(-1) !== n) seen.push(n);
        // Never more machines than etcd members + 1: one at a time (the lab's etcd is the ground truth).
        maxAhead = Math.max(maxAhead, n - env.lab.members.length);
        await env.provision();
        return tcpStatus().readyReplicas === 3 ? true : undefined;
      },
      60_000,
    );
    expect(seen.filter((n) => n > 0)).toEqual([1, 2, 3]);
    expect(maxAhead).toBe(1);
    const ms = machines();
    expect(ms.length).toBe(3);
    for (const m of ms) {
      expect(m.metadata.labels).toMatchObject({ "cluster.x-k8s.io/cluster-name": CLUSTER, "cluster.x-k8s.io/control-plane": "", "cluster.x-k8s.io/control-plane-name": "cp" });
      expect(m.metadata.ownerReferences?.[0]).toMatchObject({ kind: "TalosControlPlane", name: "cp", controller: true });
      const tc = env.client.get({ apiVersion: TALOSCONFIG_VERSION, kind: "TalosConfig", namespace: NS, name: m.metadata.name! })!;
      expect(tc.spec).toEqual({ generateType: "controlplane", talosVersion: "v1.13" });
      const pm = env.client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxMachine", namespace: NS, name: m.metadata.name! })!;
      expect(pm.metadata.annotations?.["cluster.x-k8s.io/cloned-from-name"]).toBe("cp-tmpl");
      expect(pm.spec).toMatchObject({ templateID: 9001 });
    }
    // etcd: bootstrapped exactly once, on the first machine (lowest address), all three members.
    const boots = env.lab.timeline.filter((e) => e.event === "bootstrap");
    expect(boots.length).toBe(1);
    const first = [...env.nodes.values()].sort((a, b) => a.address.localeCompare(b.address))[0]!;
    expect(boots[0]!.hostname).toBe(first.hostname);
    expect(env.lab.members.map((m) => m.hostname).sort()).toEqual(ms.map((m) => m.metadata.name!).sort());
    expect(tcp().metadata.annotations?.[BOOTSTRAP_ANNOTATION]).toBe(`${first.hostname}/${first.address}`);
    // the machine template is the Cluster's (not controlled), so deleting the Cluster removes it
    const tmpl = env.client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxMachineTemplate", namespace: NS, name: "cp-tmpl" })!;
    expect(tmpl.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "Cluster", name: CLUSTER })]);
    expect(tmpl.metadata.ownerReferences![0]!.controller).toBeFalsy();

    expect(env.m.informers.keys().filter((k) => k.endsWith("@v1alpha1"))).toEqual([]);

    const st = tcpStatus();
    expect(st).toMatchObject({ replicas: 3, readyReplicas: 3, unavailableReplicas: 0, initialized: true, ready: true, bootstrapped: true });
    expect(st.selector).toBe(`cluster.x-k8s.io/cluster-name=${CLUSTER},cluster.x-k8s.io/control-plane,cluster.x-k8s.io/control-plane-name=cp`);
    // The kubeconfig, from <cluster>-ca.
    const kc = await waitFor("kubeconfig", () => env.client.get({ apiVersion: "v1", kind: "Secret", namespace: NS, name: `${CLUSTER}-kubeconfig` }));
    expect(kc.type).toBe("cluster.x-k8s.io/secret");
    expect(secretValue(kc, "value")).toContain("server: \"https://10.10.0.5:6443\"");
  });

  test("a restarted controller does not bootstrap again", async () => {
    await env.restartControllers();
    await Bun.sleep(500);
    expect(env.lab.timeline.filter((e) => e.event === "bootstrap").length).toBe(1);
    expect(tcpStatus().readyReplicas).toBe(3);
  });

  test("scale down to 1: leave etcd first, one at a time, no deadlock", async () => {
    await env.client.patch({ apiVersion: TCP_VERSION, kind: "TalosControlPlane", namespace: NS, name: "cp" }, "merge", { spec: { replicas: 1 } });
    await waitFor("one machine, one member", () => machines().length === 1 && env.lab.members.length === 1 && tcpStatus().readyReplicas === 1, 60_000);
    const left = env.lab.timeline.filter((e) => e.event === "leave" || e.event === "remove");
    expect(left.length).toBe(2);
    expect(env.lab.members[0]!.hostname).toBe(machines()[0]!.metadata.name!);
    expect(tcpStatus()).toMatchObject({ replicas: 1, readyReplicas: 1, ready: true });
  });

  test("version change rolls the machine (RollingUpdate, maxSurge 1)", async () => {
    const old = machines()[0]!.metadata.name!;
    await env.client.patch({ apiVersion: TCP_VERSION, kind: "TalosControlPlane", namespace: NS, name: "cp" }, "merge", { spec: { version: "v1.33.2" } });
    await waitFor(
      "replaced machine",
      async () => {
        await env.provision();
        const ms = machines();
        return ms.length === 1 && ms[0]!.metadata.name !== old && tcpStatus().readyReplicas === 1 && env.lab.members.length === 1 ? true : undefined;
      },
      60_000,
    );
    const m = machines()[0]! as KObject;
    expect((m.spec as { version: string }).version).toBe("v1.33.2");
    expect(env.lab.members.map((x) => x.hostname)).toEqual([m.metadata.name!]);
    expect(env.lab.timeline.filter((e) => e.event === "bootstrap").length).toBe(1);
  });

  test("OnDelete: a version change replaces nothing; a machine deleted by hand leaves etcd before it goes, then is replaced", async () => {
    await env.client.patch({ apiVersion: TCP_VERSION, kind: "TalosControlPlane", namespace: NS, name: "cp" }, "merge", { spec: { replicas: 2, rolloutStrategy: { type: "OnDelete" } } });
    await waitFor(
      "two ready",
      async () => {
        await env.provision();
        return tcpStatus().readyReplicas === 2 && machines().length === 2 && env.lab.members.length === 2 ? true : undefined;
      },
      60_000,
    );
    for (const m of machines()) expect(m.metadata.annotations?.["pre-terminate.delete.hook.machine.cluster.x-k8s.io/talos-etcd"]).toBeDefined();
    await env.client.patch({ apiVersion: TCP_VERSION, kind: "TalosControlPlane", namespace: NS, name: "cp" }, "merge", { spec: { version: "v1.33.3" } });
    await Bun.sleep(600);
    expect(machines().map((m) => (m.spec as { version: string }).version)).toEqual(["v1.33.2", "v1.33.2"]);

    // The Machine controller's finalizer keeps a deleted Machine around; a test finalizer stands in for it.
    const victim = machines().sort((a, b) => a.metadata.creationTimestamp!.localeCompare(b.metadata.creationTimestamp!) || a.metadata.name!.localeCompare(b.metadata.name!))[0]!;
    const name = victim.metadata.name!;
    await env.client.patch({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name }, "merge", { metadata: { finalizers: ["test.capx.dev/hold"] } });
    await env.client.delete({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name });
    await waitFor("hook released", () => {
      const m = env.client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name });
      return m && !m.metadata.annotations?.["pre-terminate.delete.hook.machine.cluster.x-k8s.io/talos-etcd"];
    });
    expect(env.lab.members.map((x) => x.hostname)).not.toContain(name);
    expect(env.lab.members.length).toBe(1);
    expect(machines().length).toBe(2); // no replacement while a machine is being deleted
    await env.client.patch({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name }, "merge", { metadata: { finalizers: null } });
    await waitFor(
      "replacement",
      async () => {
        await env.provision();
        const ms = machines();
        return ms.length === 2 && !ms.some((m) => m.metadata.name === name) && tcpStatus().readyReplicas === 2 ? true : undefined;
      },
      60_000,
    );
    expect(machines().map((m) => (m.spec as { version: string }).version).sort()).toEqual(["v1.33.2", "v1.33.3"]);
    expect(env.lab.members.map((x) => x.hostname).sort()).toEqual(machines().map((m) => m.metadata.name!).sort());
  });

  test("deleting the TalosControlPlane releases the etcd hooks of its deleting machines", async () => {
    const names = machines().map((m) => m.metadata.name!);
    for (const name of names) {
      await env.client.patch({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name }, "merge", { metadata: { finalizers: ["test.capx.dev/hold"] } });
    }
    await env.client.delete({ apiVersion: TCP_VERSION, kind: "TalosControlPlane", namespace: NS, name: "cp" });
    await waitFor("machines deleting without hooks", () => {
      const ms = names.map((name) => env.client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name }));
      return ms.every((m) => m?.metadata.deletionTimestamp && !m.metadata.annotations?.["pre-terminate.delete.hook.machine.cluster.x-k8s.io/talos-etcd"]);
    });
    for (const name of names) await env.client.patch({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name }, "merge", { metadata: { finalizers: null } });
    await waitFor("machines gone", () => machines().length === 0);
  });
});
