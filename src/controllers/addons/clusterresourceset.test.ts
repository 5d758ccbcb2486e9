/**
 * The ClusterResourceSet controllers against a real lab workload API server (HTTPS on the lab LAN,
 * client certificate from the cluster CA, reached with the `<cluster>-kubeconfig` Secret), with
 * only the addons controllers running: the tests set the Clusters' status themselves.
 */
import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KObject } from "../../lib/kobject.ts";
import { bundledKinds, resolveReferenceVersions } from "../../kinds/index.ts";
import { bundledHooks, syncBundledCRDs } from "../../kinds/sync.ts";
import { startWorkloadServer, type WorkloadServer } from "../../lab/workload-server.ts";
import { createCA, issueCertificate } from "../../providers/pki/certs.ts";
import { buildKubeconfig } from "../../providers/pki/kubeconfig.ts";
import { LabNetwork } from "../../providers/workload/dialer.ts";
import { GarbageCollector } from "../../registry/lifecycle/gc.ts";
import { Registry } from "../../registry/registry.ts";
import { systemContext } from "../../registry/rest/context.ts";
import { create } from "../../registry/rest/create.ts";
import type { RestDeps } from "../../registry/rest/deps.ts";
import { Client } from "../../runtime/client.ts";
import { getCondition, getV1Beta1Condition } from "../../runtime/conditions.ts";
import { Manager } from "../../runtime/manager.ts";
import { openDatabase } from "../../store/open.ts";
import { Store } from "../../store/store.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { ADDONS_VERSION, type BindingSpec } from "./binding.ts";
import { setupAddonsControllers } from "./index.ts";
import { KubeconfigAddonTargets } from "./targets.ts";

const NS = "default";
const b64 = (s: string) => Buffer.from(s).toString("base64");
const sha = (...values: string[]) => `sha256:${createHash("sha256").update(values.join("")).digest("hex")}`;

// The ConfigMap object comes first: the Namespace it lives in must still be created before it.
const TWO_DOCS = `apiVersion: v1
kind: ConfigMap
metadata:
  name: addon-cm
  namespace: addon-ns
data:
  v: one
---
apiVersion: v1
kind: Namespace
metadata:
  name: addon-ns
`;
const reconciled = (v: string) => JSON.stringify([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "reconciled-cm", namespace: "default" }, data: { v } }]);

let dir: string;
let d: RestDeps;
let gc: GarbageCollector;
let m: Manager;
let client: Client;
let server: WorkloadServer;
let workload: Client;
/** The clusters the controller asked to reach. */
const asked: string[] = [];

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function cluster(name: string, labels: Record<string, string>): KObject {
  return { apiVersion: CAPI_VERSION, kind: "Cluster", metadata: { name, namespace: NS, labels }, spec: { controlPlaneEndpoint: { host: "10.10.0.5", port: 6443 }, infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxCluster", name } } };
}

async function initialize(name: string): Promise<void> {
  await client.patch({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name }, "merge", { status: { initialization: { controlPlaneInitialized: true } } }, { subresource: "status" });
}

function crs(name: string, resources: { kind: string; name: string }[], strategy?: string, selector: Record<string, string> = { cni: "calico" }): KObject {
  return { apiVersion: ADDONS_VERSION, kind: "ClusterResourceSet", metadata: { name, namespace: NS }, spec: { clusterSelector: { matchLabels: selector }, resources, ...(strategy ? { strategy } : {}) } };
}

const configMap = (name: string, data: Record<string, string>): KObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS }, data });
const getCrs = (name: string) => client.get({ apiVersion: ADDONS_VERSION, kind: "ClusterResourceSet", namespace: NS, name });
const getBinding = (name: string) => client.get({ apiVersion: ADDONS_VERSION, kind: "ClusterResourceSetBinding", namespace: NS, name });
const remoteCm = (namespace: string, name: string) => workload.get({ apiVersion: "v1", kind: "ConfigMap", namespace, name });
const entryOf = (binding: KObject | undefined, crsName: string) => (binding?.spec as BindingSpec | undefined)?.bindings?.find((b) => b.clusterResourceSetName === crsName);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "capx-crs-"));
  const store = new Store(openDatabase(join(dir, "state.db"), { synchronous: "NORMAL" }));
  const kinds = bundledKinds();
  const registry = new Registry(store, bundledHooks(kinds));
  d = { store, registry, now: () => new Date() };
  resolveReferenceVersions(registry);
  create(d, registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: NS } }, systemContext("test"));
  syncBundledCRDs(d, kinds);
  gc = new GarbageCollector(d);

  const network = new LabNetwork();
  const ca = await createCA("kubernetes");
  server = await startWorkloadServer({ dir: join(dir, "c1"), caPem: ca.certPem, caKeyPem: ca.keyPem, host: "10.10.0.5", port: 6443, network });
  workload = new Client(server.rest, "test");
  const admin = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client", days: 1 });
  const kubeconfig = buildKubeconfig({ server: "https://10.10.0.5:6443", caPem: ca.certPem, clusterName: "c1", userName: "c1-admin", certPem: admin.certPem, keyPem: admin.keyPem });

  m = new Manager(d);
  client = m.client("test");
  const real = new KubeconfigAddonTargets(m.client("crs-test-access"), network);
  setupAddonsControllers(m, {
    dialer: network,
    targets: {
      forCluster(namespace, name) {
        asked.push(name);
        return real.forCluster(namespace, name);
      },
    },
  });
  m.start();
  for (const name of ["c1", "c2"]) {
    await client.create({ apiVersion: "v1", kind: "Secret", type: "cluster.x-k8s.io/secret", metadata: { name: `${name}-kubeconfig`, namespace: NS }, data: { value: b64(kubeconfig) } });
  }
  await client.create(cluster("c1", { cni: "calico" }));
  await client.create(cluster("c2", { cni: "cilium" }));
  await initialize("c2");
});

afterAll(async () => {
  await m.stop();
  gc.stop();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ClusterResourceSet", () => {
  test("applies a ConfigMap's documents once the selected cluster's control plane is initialized, never to unselected clusters", async () => {
    await client.create(configMap("calico", { "calico.yaml": TWO_DOCS }));
    await client.create(crs("calico", [{ kind: "ConfigMap", name: "calico" }]));

    const waiting = await until("the CRS to wait for c1", () => {
      const c = getCondition(getCrs("calico")!, "ResourcesApplied");
      return c?.reason === "NotApplied" && c;
    });
    expect(waiting.status).toBe("False");
    expect(waiting.message).toContain("c1");
    expect(getCrs("calico")!.metadata.finalizers).toContain("addons.cluster.x-k8s.io");
    expect(getBinding("c1")).toBeUndefined();
    expect(remoteCm("addon-ns", "addon-cm")).toBeUndefined();

    await initialize("c1");
    const applied = await until("the documents in c1", () => remoteCm("addon-ns", "addon-cm"));
    expect(applied.data).toEqual({ v: "one" });
    expect(workload.get({ apiVersion: "v1", kind: "Namespace", name: "addon-ns" })).toBeDefined();

    const done = await until("ResourcesApplied=True", () => {
      const c = getCrs("calico")!;
      return getCondition(c, "ResourcesApplied")?.status === "True" && c;
    });
    expect(getCondition(done, "ResourcesApplied")!.reason).toBe("Applied");
    expect(getV1Beta1Condition(done, "ResourcesApplied")!.status).toBe("True");
    expect((done.status as { observedGeneration?: number }).observedGeneration).toBe(done.metadata.generation!);

    const binding = getBinding("c1")!;
    expect((binding.spec as BindingSpec).clusterName).toBe("c1");
    expect(binding.metadata.ownerReferences).toEqual([{ apiVersion: ADDONS_VERSION, kind: "ClusterResourceSet", name: "calico", uid: done.metadata.uid! }]);
    const entry = entryOf(binding, "calico")!;
    expect(entry.resources).toHaveLength(1);
    const [r] = entry.resources!;
    expect(r).toMatchObject({ kind: "ConfigMap", name: "calico", applied: true, hash: sha(TWO_DOCS) });
    expect(Date.parse(r!.lastAppliedTime!)).toBeGreaterThan(Date.now() - 60_000);

    // The resource is owned by the CRS; the unselected cluster was never reached nor bound.
    expect(client.get({ apiVersion: "v1", kind: "ConfigMap", namespace: NS, name: "calico" })!.metadata.ownerReferences?.map((o) => o.name)).toEqual(["calico"]);
    expect(asked).not.toContain("c2");
    expect(getBinding("c2")).toBeUndefined();
  });

  test("ApplyOnce does not re-apply a changed resource", async () => {
    const before = entryOf(getBinding("c1"), "calico")!.resources![0]!;
    await client.patch({ apiVersion: "v1", kind: "ConfigMap", namespace: NS, name: "calico" }, "merge", { data: { "calico.yaml": TWO_DOCS.replace("v: one", "v: two") } });
    await m.idle();
    await new Promise((r) => setTimeout(r, 200));
    expect(remoteCm("addon-ns", "addon-cm")!.data).toEqual({ v: "one" });
    expect(entryOf(getBinding("c1"), "calico")!.resources![0]).toEqual(before);
  });

  test("Reconcile re-applies when the resource's hash changes; a Secret's values are decoded", async () => {
    await client.create({ apiVersion: "v1", kind: "Secret", type: "addons.cluster.x-k8s.io/resource-set", metadata: { name: "reconciled", namespace: NS }, data: { a: b64(reconciled("first")) } });
    await client.create(crs("reconciled", [{ kind: "Secret", name: "reconciled" }], "Reconcile"));
    await until("the first version in c1", () => (remoteCm("default", "reconciled-cm")?.data as { v?: string } | undefined)?.v === "first");
    // The binding is written after the objects are applied.
    await until("the first hash", () => entryOf(getBinding("c1"), "reconciled")?.resources?.[0]?.hash === sha(reconciled("first")));

    await client.patch({ apiVersion: "v1", kind: "Secret", namespace: NS, name: "reconciled" }, "merge", { data: { a: b64(reconciled("second")) } });
    await until("the second version in c1", () => (remoteCm("default", "reconciled-cm")?.data as { v?: string } | undefined)?.v === "second");
    const binding = await until("the new hash", () => {
      const b = getBinding("c1");
      return entryOf(b, "reconciled")?.resources?.[0]?.hash === sha(reconciled("second")) && b;
    });
    // Both CRSs share the cluster's binding.
    expect((binding.spec as BindingSpec).bindings!.map((b) => b.clusterResourceSetName).sort()).toEqual(["calico", "reconciled"]);
    expect(binding.metadata.ownerReferences!.map((o) => o.name).sort()).toEqual(["calico", "reconciled"]);
  });

  test("a Secret of the wrong type is refused with upstream's condition", async () => {
    await client.create({ apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: { name: "opaque", namespace: NS }, data: { a: b64(reconciled("x")) } });
    await client.create(crs("wrong-type", [{ kind: "Secret", name: "opaque" }]));
    const c = await until("WrongSecretType", () => {
      const obj = getCrs("wrong-type");
      return obj && getCondition(obj, "ResourcesApplied")?.reason === "WrongSecretType" && obj;
    });
    expect(getCondition(c, "ResourcesApplied")).toMatchObject({ status: "False", message: "Secret type of resource opaque is not supported" });
    expect(getV1Beta1Condition(c, "ResourcesApplied")).toMatchObject({ status: "False", reason: "WrongSecretType", severity: "Warning", message: "unsupported secret type" });
    expect(entryOf(getBinding("c1"), "wrong-type")).toBeUndefined();
    await client.delete({ apiVersion: ADDONS_VERSION, kind: "ClusterResourceSet", namespace: NS, name: "wrong-type" });
    await until("wrong-type gone", () => !getCrs("wrong-type"));
  });

  test("a missing resource is reported and applied once it appears", async () => {
    await client.create(crs("late", [{ kind: "ConfigMap", name: "late" }]));
    const c = await until("InternalError", () => {
      const obj = getCrs("late");
      return obj && getCondition(obj, "ResourcesApplied")?.reason === "InternalError" && obj;
    });
    expect(getCondition(c, "ResourcesApplied")!.status).toBe("False");
    expect(getV1Beta1Condition(c, "ResourcesApplied")).toMatchObject({ status: "False", reason: "RetrievingResourceFailed", message: "ConfigMap default/late not found" });

    await client.create(configMap("late", { x: JSON.stringify([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "late-cm", namespace: "default" }, data: { v: "late" } }]) }));
    await until("late-cm in c1", () => remoteCm("default", "late-cm"));
    await until("ResourcesApplied=True", () => getCondition(getCrs("late")!, "ResourcesApplied")?.status === "True");
  });

  test("deleting a CRS removes it from the binding; the last one deletes the binding", async () => {
    for (const name of ["reconciled", "late"]) await client.delete({ apiVersion: ADDONS_VERSION, kind: "ClusterResourceSet", namespace: NS, name });
    await until("the CRSs gone", () => !getCrs("reconciled") && !getCrs("late"));
    const binding = getBinding("c1")!;
    expect((binding.spec as BindingSpec).bindings!.map((b) => b.clusterResourceSetName)).toEqual(["calico"]);
    expect(binding.metadata.ownerReferences!.map((o) => o.name)).toEqual(["calico"]);

    await client.delete({ apiVersion: ADDONS_VERSION, kind: "ClusterResourceSet", namespace: NS, name: "calico" });
    await until("the binding gone", () => !getCrs("calico") && !getBinding("c1"));
  });

  test("deleting the Cluster deletes its binding", async () => {
    await client.create(configMap("again", { "calico.yaml": TWO_DOCS }));
    await client.create(crs("again", [{ kind: "ConfigMap", name: "again" }]));
    // The objects are already in the workload cluster: ApplyOnce counts them as applied.
    await until("a new binding", () => entryOf(getBinding("c1"), "again")?.resources?.[0]?.applied === true);
    await client.delete({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: "c1" });
    await until("the binding gone", () => !getBinding("c1"));
  });
});
