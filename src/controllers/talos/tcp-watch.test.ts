import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { CAPI_VERSION, clusterPausedTransitionsOrInfrastructureProvisioned } from "../core/contract.ts";
import { TCP_VERSION } from "./common.ts";
import { CLUSTER, createProvisionedCluster, INFRA_VERSION, NS, PM_SPEC, seedBundle, startTalosEnv, type TalosTestEnv } from "./testenv.ts";
import { settledReconciles } from "../../runtime/settled.ts";

const cluster = (o: { paused?: boolean; provisioned?: boolean } = {}): KObject => ({
  metadata: { name: "c" },
  spec: o.paused === undefined ? {} : { paused: o.paused },
  status: o.provisioned === undefined ? {} : { initialization: { infrastructureProvisioned: o.provisioned } },
});

describe("the TalosControlPlane controller's watch of Clusters (upstream ClusterPausedTransitionsOrInfrastructureProvisioned)", () => {
  it("passes pause transitions and the infrastructure becoming provisioned, nothing else", () => {
    const p = clusterPausedTransitionsOrInfrastructureProvisioned;
    expect(p(cluster({ paused: true }), cluster(), "MODIFIED")).toBe(true);
    expect(p(cluster(), cluster({ paused: true }), "MODIFIED")).toBe(true);
    expect(p(cluster({ provisioned: true }), cluster(), "MODIFIED")).toBe(true);
    expect(p(cluster({ provisioned: true }), cluster({ provisioned: true }), "MODIFIED")).toBe(false);
    expect(p(cluster(), cluster({ provisioned: true }), "MODIFIED")).toBe(false);
    expect(p(cluster(), undefined, "ADDED")).toBe(false);
    expect(p(cluster({ provisioned: true }), cluster(), "DELETED")).toBe(false);
  });

  let env: TalosTestEnv;
  beforeAll(async () => {
    env = await startTalosEnv();
    await seedBundle(env.client);
    await createProvisionedCluster(env.client, CLUSTER, "cp");
    await env.client.create({ apiVersion: INFRA_VERSION, kind: "ProxmoxMachineTemplate", metadata: { name: "cp-tmpl", namespace: NS }, spec: { template: { spec: PM_SPEC } } });
  });
  afterAll(async () => {
    await env.close();
  });

  it("a Cluster's other writes do not reconcile its TalosControlPlane; unpausing it does", async () => {
    const { client, m } = env;
    const cl = client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER })!;
    // paused by annotation: each reconcile returns at once and asks for no requeue
    await client.create({
      apiVersion: TCP_VERSION,
      kind: "TalosControlPlane",
      metadata: { name: "cp", namespace: NS, annotations: { "cluster.x-k8s.io/paused": "" }, ownerReferences: [{ apiVersion: CAPI_VERSION, kind: "Cluster", name: CLUSTER, uid: cl.metadata.uid! }] },
      spec: { replicas: 1, version: "v1.33.1", infrastructureTemplate: { apiVersion: INFRA_VERSION, kind: "ProxmoxMachineTemplate", name: "cp-tmpl" }, controlPlaneConfig: { controlplane: { generateType: "controlplane", talosVersion: "v1.13" } } },
    });
    const controller = m.controllers.find((c) => c.name === "taloscontrolplane")!;
    const settled = () => settledReconciles(controller);
    const ref = { apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER };
    const before = await settled();
    expect(before).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) await client.patch(ref, "merge", { metadata: { labels: { round: String(i) } } });
    await client.patch(ref, "merge", { status: { phase: "Provisioned" } }, { subresource: "status" });
    expect(await settled()).toBe(before);
    await client.patch(ref, "merge", { spec: { paused: true } });
    expect(await settled()).toBe(before + 1);
  });

  it("an owned Machine's condition-only status writes do not reconcile it; a new address does", async () => {
    const { client, m } = env;
    const tcp = client.get({ apiVersion: TCP_VERSION, kind: "TalosControlPlane", namespace: NS, name: "cp" })!;
    const machine = await client.create({
      apiVersion: CAPI_VERSION,
      kind: "Machine",
      metadata: { name: "cp-x", namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": CLUSTER }, ownerReferences: [{ apiVersion: TCP_VERSION, kind: "TalosControlPlane", name: "cp", uid: tcp.metadata.uid!, controller: true }] },
      spec: { clusterName: CLUSTER, bootstrap: { dataSecretName: "none" }, infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachine", name: "cp-x" } },
    });
    const controller = m.controllers.find((c) => c.name === "taloscontrolplane")!;
    const settled = () => settledReconciles(controller);
    const ref = { apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name: machine.metadata.name! };
    const before = await settled();
    for (const message of ["cloning", "waiting for an address", "powering on"]) {
      await client.patch(ref, "merge", { status: { conditions: [{ type: "InfrastructureReady", status: "False", reason: "Provisioning", message, lastTransitionTime: "2026-01-01T00:00:00Z" }] } }, { subresource: "status" });
    }
    expect(await settled()).toBe(before);
    await client.patch(ref, "merge", { status: { addresses: [{ type: "InternalIP", address: "10.10.0.50" }] } }, { subresource: "status" });
    expect(await settled()).toBe(before + 1);
  });
});
