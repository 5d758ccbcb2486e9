/**
 * Test environment of the Talos controller tests (not used at run time): an in-process store and
 * registry with every bundled kind and its admission, a manager running only the Talos
 * controllers, and a simulated LAN on which the tests start lab Talos nodes from the generated
 * bootstrap data — the test plays the infrastructure provider (it boots a node from the Machine's
 * bootstrap data and reports its address on the Machine, as an infrastructure machine and the
 * Machine controller would).
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KObject } from "../../lib/kobject.ts";
import { bundledKinds, resolveReferenceVersions } from "../../kinds/index.ts";
import { bundledHooks, syncBundledCRDs } from "../../kinds/sync.ts";
import { LabTalosCluster } from "../../providers/talos/lab/cluster.ts";
import { LabTalosNode } from "../../providers/talos/lab/node.ts";
import { LabNetwork } from "../../providers/workload/dialer.ts";
import { GarbageCollector } from "../../registry/lifecycle/gc.ts";
import { Registry } from "../../registry/registry.ts";
import { systemContext } from "../../registry/rest/context.ts";
import { create } from "../../registry/rest/create.ts";
import type { RestDeps } from "../../registry/rest/deps.ts";
import type { Client } from "../../runtime/client.ts";
import { Manager } from "../../runtime/manager.ts";
import { openDatabase } from "../../store/open.ts";
import { Store } from "../../store/store.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { createTalosCA } from "../../providers/talos/api/pki.ts";
import { encodeSecretsBundle, generateSecretsBundle } from "../../providers/talos/secrets.ts";
import { b64, secretValue, TALOSCONFIG_VERSION } from "./common.ts";
import { setupTalosControllers } from "./index.ts";

export const NS = "default";
export const CLUSTER = "t1";
export const INFRA_VERSION = "infrastructure.cluster.x-k8s.io/v1alpha2";

/** A ProxmoxMachine spec the CAPMOX schema accepts (the infrastructure template the tests clone). */
export const PM_SPEC = {
  sourceNode: "pve1",
  templateID: 9001,
  numSockets: 1,
  numCores: 2,
  memoryMiB: 2048,
  disks: { bootVolume: { disk: "scsi0", sizeGb: 12 } },
  network: { networkDevices: [{ name: "net0", bridge: "vmbr0", defaultIPv4: true }] },
};

export interface TalosTestEnv {
  dir: string;
  d: RestDeps;
  m: Manager;
  client: Client;
  network: LabNetwork;
  lab: LabTalosCluster;
  nodes: Map<string, LabTalosNode>;
  /** Boots a lab node for every Machine whose bootstrap data exist, and reports its address (10.10.0.100 + n). */
  provision(): Promise<void>;
  /** Stops the controllers (the daemon dies); store, network and lab nodes stay. */
  stopControllers(): Promise<void>;
  /** Fresh controllers on the same store (a restart). */
  restartControllers(): Promise<void>;
  close(): Promise<void>;
}

export async function startTalosEnv(): Promise<TalosTestEnv> {
  const dir = mkdtempSync(join(tmpdir(), "capx-talos-"));
  const store = new Store(openDatabase(join(dir, "state.db"), { synchronous: "NORMAL" }));
  const kinds = bundledKinds();
  const registry = new Registry(store, bundledHooks(kinds));
  const d: RestDeps = { store, registry, now: () => new Date() };
  resolveReferenceVersions(registry);
  create(d, registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: NS } }, systemContext("test"));
  syncBundledCRDs(d, kinds);
  const gc = new GarbageCollector(d);
  const network = new LabNetwork();
  const lab = new LabTalosCluster(join(dir, "lab"));
  const nodes = new Map<string, LabTalosNode>();
  const build = () => {
    const m = new Manager(d);
    setupTalosControllers(m, { dialer: network, requeueMs: 200, talosTimeoutMs: 5_000 });
    return m;
  };
  let next = 100;
  const env: TalosTestEnv = {
    dir,
    d,
    m: build(),
    client: undefined as unknown as Client,
    network,
    lab,
    nodes,
    async provision() {
      const client = env.client;
      for (const mm of client.list(CAPI_VERSION, "Machine", NS)) {
        const name = mm.metadata.name!;
        if (nodes.has(name) || mm.metadata.deletionTimestamp) continue;
        const tc = client.get({ apiVersion: TALOSCONFIG_VERSION, kind: "TalosConfig", namespace: NS, name });
        const secretName = (tc?.status as { dataSecretName?: string } | undefined)?.dataSecretName;
        if (!secretName) continue;
        const secret = client.get({ apiVersion: "v1", kind: "Secret", namespace: NS, name: secretName });
        const docs = secretValue(secret, "value");
        // Every document: from contract 1.14 the fields a node needs are spread over several.
        const documents = parseAllDocuments(docs).map((d) => d.toJSON() as Record<string, unknown>).filter(Boolean);
        const address = `10.10.0.${next++}`;
        const node = new LabTalosNode({ documents, address, hostname: name, dataDir: lab.nodeDir(name), cluster: lab, network });
        await node.start();
        nodes.set(name, node);
        await client.patch({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name }, "merge", { status: { addresses: [{ type: "InternalIP", address }] } }, { subresource: "status" });
      }
    },
    async stopControllers() {
      await env.m.stop();
    },
    async restartControllers() {
      await env.m.stop();
      env.m = build();
      env.client = env.m.client("test");
      env.m.start();
    },
    async close() {
      await env.m.stop();
      for (const n of nodes.values()) await n.stop();
      gc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  env.client = env.m.client("test");
  env.m.start();
  return env;
}

/** A Cluster whose infrastructure is provisioned, with a control-plane endpoint and networks. */
export function clusterObject(name = CLUSTER, controlPlaneRef?: string): KObject {
  return {
    apiVersion: CAPI_VERSION,
    kind: "Cluster",
    metadata: { name, namespace: NS },
    spec: {
      infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxCluster", name },
      controlPlaneEndpoint: { host: "10.10.0.5", port: 6443 },
      clusterNetwork: { pods: { cidrBlocks: ["10.244.0.0/16"] }, services: { cidrBlocks: ["10.96.0.0/12"] }, serviceDomain: "cluster.local" },
      ...(controlPlaneRef ? { controlPlaneRef: { apiGroup: "controlplane.cluster.x-k8s.io", kind: "TalosControlPlane", name: controlPlaneRef } } : {}),
    },
  };
}

export async function createProvisionedCluster(client: Client, name = CLUSTER, controlPlaneRef?: string): Promise<KObject> {
  await client.create(clusterObject(name, controlPlaneRef));
  return client.patch({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name }, "merge", { status: { initialization: { infrastructureProvisioned: true } } }, { subresource: "status" });
}

export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await Bun.sleep(20);
  }
}

/**
 * Stores a user-provided `<cluster>-talos` bundle (as CABPT users may) whose OS CA is made by
 * api/pki.ts. Needed while api/pki.ts' issuer derives a leaf's AuthorityKeyIdentifier from the CA's
 * public key instead of copying the CA's SubjectKeyIdentifier: with the random SKI of a generated
 * bundle (ca.ts, as Talos does) the lab node's apid certificate then fails chain verification.
 */
export async function seedBundle(client: Client, cluster = CLUSTER): Promise<void> {
  const bundle = await generateSecretsBundle();
  const os = await createTalosCA();
  bundle.certs.os = { crt: os.certPem, key: os.keyPem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "-----$1 ED25519 PRIVATE KEY-----") };
  await client.create({
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: { name: `${cluster}-talos`, namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": cluster } },
    data: { bundle: b64(encodeSecretsBundle(bundle)) },
  } as KObject);
}
