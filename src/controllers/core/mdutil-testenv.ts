/**
 * Test environment of the MachineSet / MachineDeployment controller tests (not used at run time):
 * an in-process store, registry and manager with the bundled Cluster API CRDs, test-only
 * template kinds (`TestMachineTemplate` / `TestConfigTemplate` in `test.capx.dev`, cloned into
 * `TestMachine` / `TestConfig`), a Cluster, and a fake Machine controller that releases deleted
 * Machines and (optionally) marks new ones Ready / Available / UpToDate through the status
 * subresource, as the real Machine controller eventually would.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KObject } from "../../lib/kobject.ts";
import { capiCRDs } from "../../kinds/capi/crds.ts";
import { capiWebhooks } from "../../kinds/capi/webhooks/index.ts";
import { syncBundledCRDs } from "../../kinds/sync.ts";
import type { KindHooks } from "../../registry/types.ts";
import type { CRDObject } from "../../registry/crd/to-resource.ts";
import { Registry } from "../../registry/registry.ts";
import { systemContext } from "../../registry/rest/context.ts";
import { create } from "../../registry/rest/create.ts";
import type { RestDeps } from "../../registry/rest/deps.ts";
import { openDatabase } from "../../store/open.ts";
import { Store } from "../../store/store.ts";
import type { Client } from "../../runtime/client.ts";
import { setCondition } from "../../runtime/conditions.ts";
import { Controller } from "../../runtime/controller.ts";
import { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import { CAPI_VERSION } from "./contract.ts";
import { cloneData } from "../../lib/clone.ts";

export const TEST_GROUP = "test.capx.dev";
export const TEST_VERSION = `${TEST_GROUP}/v1alpha1`;
export const NS = "default";
export const CLUSTER = "c1";

function testCRD(kind: string, status: boolean): CRDObject {
  const plural = `${kind.toLowerCase()}s`;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${TEST_GROUP}` },
    spec: {
      group: TEST_GROUP,
      scope: "Namespaced",
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: "v1alpha1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
          ...(status ? { subresources: { status: {} } } : {}),
        },
      ],
    },
  } as unknown as CRDObject;
}

export interface FakeMachines {
  /** Whether a new Machine becomes Ready/Available/UpToDate on its own (default true). */
  auto: boolean;
  /** While true, deleted Machines keep their finalizers (stay "deleting"). */
  holdDeletion: boolean;
  /** Releases held deletions. */
  release(): void;
  /** Marks a Machine Ready, Available, UpToDate, NodeHealthy with a nodeRef. */
  markReady(name: string): Promise<void>;
  /** Sets conditions on a Machine's status. */
  setConditions(name: string, conds: { type: string; status: "True" | "False" | "Unknown"; reason: string; message?: string }[]): Promise<void>;
}

export interface TestEnv {
  /** Shifts the API server clock (creation / deletion timestamps). */
  clock: { offsetMs: number };
  d: RestDeps;
  m: Manager;
  client: Client;
  cluster: KObject;
  fake: FakeMachines;
  close(): Promise<void>;
}

/** Cluster API's admission webhooks as registry hooks (main resource only), keyed by CRD name. */
function webhookHooks(): Map<string, KindHooks> {
  const out = new Map<string, KindHooks>();
  for (const crd of capiCRDs) {
    const w = capiWebhooks[`${crd.spec.group}/${crd.spec.names.kind}`];
    if (!w) continue;
    out.set(crd.metadata.name!, {
      ...(w.mutate ? { mutate: (obj: KObject, old: KObject | undefined) => w.mutate!(obj, old) } : {}),
      ...(w.validate ? { validate: (obj: KObject, old: KObject | undefined, sub?: string) => (sub ? [] : w.validate!(obj, old)) } : {}),
    });
  }
  return out;
}

export async function startEnv(setups: ((m: Manager) => void)[], opts: { autoReady?: boolean; webhooks?: boolean } = {}): Promise<TestEnv> {
  const dir = mkdtempSync(join(tmpdir(), "capx-msmd-"));
  const store = new Store(openDatabase(join(dir, "s.db"), { synchronous: "NORMAL" }));
  const registry = new Registry(store, (opts.webhooks ?? process.env.CAPX_TEST_WEBHOOKS === "1") ? webhookHooks() : new Map());
  const clock = { offsetMs: 0 };
  const d: RestDeps = { store, registry, now: () => new Date(Date.now() + clock.offsetMs) };
  create(d, registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: NS } }, systemContext("t"));
  syncBundledCRDs(d, [
    ...capiCRDs.map((crd) => ({ crd })),
    ...[testCRD("TestMachineTemplate", false), testCRD("TestConfigTemplate", false), testCRD("TestMachine", true), testCRD("TestConfig", true)].map((crd) => ({ crd })),
  ]);
  const m = new Manager(d);
  const client = m.client("test");
  const cluster = await client.create({
    apiVersion: CAPI_VERSION,
    kind: "Cluster",
    metadata: { name: CLUSTER, namespace: NS },
    spec: { paused: false, infrastructureRef: { apiGroup: TEST_GROUP, kind: "TestCluster", name: CLUSTER } },
  });
  await client.create(template("TestMachineTemplate", "infra-a", { cpu: 2 }));
  await client.create(template("TestMachineTemplate", "infra-b", { cpu: 4 }));
  await client.create(template("TestConfigTemplate", "boot-a", { format: "cloud-config" }));

  const fakeClient = m.client("fake-machine-controller");
  const fc = new Controller("fake-machine", async (req) => {
    const cur = fakeClient.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: req.namespace, name: req.name });
    if (!cur) return;
    if (cur.metadata.deletionTimestamp) {
      if (fake.holdDeletion) return;
      if (cur.metadata.finalizers?.length) await patchObject(fakeClient, cur, { ...cloneData(cur), metadata: { ...cloneData(cur.metadata), finalizers: [] } });
      return;
    }
    if (fake.auto && !(cur.status as { conditions?: unknown[] } | undefined)?.conditions?.length) await fake.markReady(req.name);
  });
  const fake: FakeMachines = {
    auto: opts.autoReady ?? true,
    holdDeletion: false,
    release: () => {
      fake.holdDeletion = false;
      for (const mm of fakeClient.list(CAPI_VERSION, "Machine", NS)) if (mm.metadata.deletionTimestamp) fc.enqueue({ namespace: NS, name: mm.metadata.name! });
    },
    markReady: async (name) => {
      const cur = fakeClient.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name });
      if (!cur) return;
      const after = cloneData(cur);
      const status = ((after.status as Record<string, unknown> | undefined) ??= {}) as Record<string, unknown>;
      status.nodeRef = { name: `node-${name}` };
      for (const type of ["Ready", "Available", "UpToDate", "NodeHealthy", "NodeReady"]) setCondition(after, { type, status: "True", reason: type });
      await patchObject(fakeClient, cur, after);
    },
    setConditions: async (name, conds) => {
      const cur = fakeClient.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name });
      if (!cur) return;
      const after = cloneData(cur);
      for (const c of conds) setCondition(after, c);
      await patchObject(fakeClient, cur, after);
    },
  };
  fc.watchFor(m.informers.forKind(CAPI_VERSION, "Machine")!);
  m.add(fc);
  for (const setup of setups) setup(m);
  m.start();
  return {
    clock,
    d,
    m,
    client,
    cluster,
    fake,
    close: async () => {
      await m.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function template(kind: string, name: string, spec: Record<string, unknown>): KObject {
  return {
    apiVersion: TEST_VERSION,
    kind,
    metadata: { name, namespace: NS },
    spec: { template: { metadata: { labels: { "from-template": name }, annotations: { "template-annotation": name } }, spec } },
  };
}

export const infraRef = (name = "infra-a") => ({ apiGroup: TEST_GROUP, kind: "TestMachineTemplate", name });
export const bootstrapRef = (name = "boot-a") => ({ apiGroup: TEST_GROUP, kind: "TestConfigTemplate", name });

/** A Machine template spec (v1beta2) pointing at the test templates. */
export function machineTemplate(labels: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    metadata: { labels: { "cluster.x-k8s.io/cluster-name": CLUSTER, ...labels } },
    spec: { clusterName: CLUSTER, version: "v1.31.0", bootstrap: { configRef: bootstrapRef() }, infrastructureRef: infraRef(), ...extra },
  };
}

export function machineSet(name: string, replicas: number, spec: Record<string, unknown> = {}): KObject {
  const labels = { "cluster.x-k8s.io/set-name": name };
  return {
    apiVersion: CAPI_VERSION,
    kind: "MachineSet",
    metadata: { name, namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": CLUSTER } },
    spec: {
      clusterName: CLUSTER,
      replicas,
      selector: { matchLabels: { "cluster.x-k8s.io/cluster-name": CLUSTER, ...labels } },
      template: machineTemplate(labels),
      ...spec,
    },
  };
}

export function machineDeployment(name: string, replicas: number, spec: Record<string, unknown> = {}): KObject {
  const labels = { "cluster.x-k8s.io/deployment-name": name };
  return {
    apiVersion: CAPI_VERSION,
    kind: "MachineDeployment",
    metadata: { name, namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": CLUSTER } },
    spec: {
      clusterName: CLUSTER,
      replicas,
      selector: { matchLabels: { "cluster.x-k8s.io/cluster-name": CLUSTER, ...labels } },
      template: machineTemplate(labels),
      rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } },
      ...spec,
    },
  };
}

/** Polls until `check` returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}
