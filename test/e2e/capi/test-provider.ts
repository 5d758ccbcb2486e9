/**
 * A test-only Cluster API provider for whole-process tests: infrastructure and bootstrap kinds
 * (one set speaking the v1beta2 contract, one the v1beta1 contract) and a tiny reconciler,
 * running in the test process against the daemon's API (list + watch), that marks them provisioned — and
 * registers each machine's Node in the cluster's lab workload API, as a booting VM would.
 * @module
 */
import { createCA, issueCertificate, type KeyPairPem } from "../../../src/providers/pki/certs.ts";
import { Api } from "../../harness/api.ts";
import type { TestDaemon } from "../../harness/daemon.ts";

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> & { name: string; namespace?: string; ownerReferences?: { kind: string; name: string }[] }; spec?: Record<string, unknown>; status?: Record<string, unknown> };

function crd(group: string, kind: string, opts: { status?: boolean; template?: boolean } = {}) {
  const plural = `${kind.toLowerCase()}s`;
  const open = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  const schema = opts.template
    ? { type: "object", properties: { spec: { type: "object", properties: { template: { type: "object", properties: { metadata: open, spec: open } } } } } }
    : { type: "object", properties: { spec: open, status: open } };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List`, categories: ["cluster-api"] },
      versions: [{ name: "v1beta1", served: true, storage: true, subresources: opts.template ? {} : { status: {} }, schema: { openAPIV3Schema: schema } }],
    },
  };
}

export const INFRA_GROUP = "infrastructure.e2e.capx.dev";
export const BOOTSTRAP_GROUP = "bootstrap.e2e.capx.dev";
const PROVIDER_FINALIZER = "infrastructure.e2e.capx.dev/vm";

/** v1beta2 contract kinds (status.initialization.*) and v1beta1 ones (status.ready), with templates. */
export const PROVIDER_CRDS = [
  crd(INFRA_GROUP, "TestCluster"),
  crd(INFRA_GROUP, "TestMachine"),
  crd(INFRA_GROUP, "TestMachineTemplate", { template: true }),
  crd(INFRA_GROUP, "LegacyMachine"),
  crd(INFRA_GROUP, "LegacyMachineTemplate", { template: true }),
  crd(BOOTSTRAP_GROUP, "TestConfig"),
  crd(BOOTSTRAP_GROUP, "TestConfigTemplate", { template: true }),
  crd(BOOTSTRAP_GROUP, "LegacyConfig"),
  crd(BOOTSTRAP_GROUP, "LegacyConfigTemplate", { template: true }),
];

const WORKERS = 16;
const FOLLOWED: [string, string][] = [
  [INFRA_GROUP, "testclusters"],
  [BOOTSTRAP_GROUP, "testconfigs"],
  [BOOTSTRAP_GROUP, "legacyconfigs"],
  [INFRA_GROUP, "testmachines"],
  [INFRA_GROUP, "legacymachines"],
];

export interface WorkloadAccess {
  ca: KeyPairPem;
  admin: KeyPairPem;
  server: string;
}

/** Talks to a lab workload API through the lab CONNECT proxy. */
export class LabWorkloadApi {
  constructor(
    readonly access: WorkloadAccess,
    private readonly proxy: string,
  ) {}

  async request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; body: Obj & { items?: Obj[] } }> {
    const res = await fetch(`${this.access.server}${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
      proxy: this.proxy,
      tls: { ca: this.access.ca.certPem, cert: this.access.admin.certPem, key: this.access.admin.keyPem },
    } as RequestInit);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Obj & { items?: Obj[] } };
  }
}

export interface ProviderOptions {
  /** Nodes report Ready (default true). */
  nodesReady?: boolean;
}

/**
 * The test provider's reconciler: polls its kinds (simple, and the test controls the pace)
 * and moves them along the contract.
 */
export class TestProvider {
  readonly api: Api;
  readonly clusters = new Map<string, LabWorkloadApi>();
  nodesReady: boolean;

  constructor(
    readonly d: TestDaemon,
    opts: ProviderOptions = {},
  ) {
    this.api = new Api(d);
    this.nodesReady = opts.nodesReady ?? true;
  }

  async install(): Promise<void> {
    for (const c of PROVIDER_CRDS) {
      const r = await this.api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", c);
      if (r.status !== 201 && r.status !== 409) throw new Error(`installing ${c.metadata.name}: ${r.status} ${r.text}`);
    }
  }

  /** Creates `<cluster>-ca` and remembers how to reach the cluster's lab API. */
  async prepareCluster(namespace: string, name: string, host: string, port = 6443): Promise<LabWorkloadApi> {
    const ca = await createCA(`${name}-ca`);
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const r = await this.api.post(`/api/v1/namespaces/${namespace}/secrets`, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `${name}-ca`, labels: { "cluster.x-k8s.io/cluster-name": name } },
      data: { "tls.crt": b64(ca.certPem), "tls.key": b64(ca.keyPem) },
    });
    if (r.status !== 201) throw new Error(`creating ${name}-ca: ${r.status} ${r.text}`);
    const admin = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client", days: 1 });
    const w = new LabWorkloadApi({ ca, admin, server: `https://${host}:${port}` }, this.d.labProxy!);
    this.clusters.set(`${namespace}/${name}`, w);
    return w;
  }

  /** Follows its kinds with list + watch (as a real provider's informers do) and works on changes. */
  start(): void {
    this.#abort = new AbortController();
    for (const [group, plural] of FOLLOWED) void this.#follow(group, plural, this.#abort.signal);
  }

  stop(): void {
    this.#abort?.abort();
  }

  #abort?: AbortController;
  #pending = new Map<string, { plural: string; obj: Obj }>();
  #workers = 0;

  async #follow(group: string, plural: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const listed = await this.api.get<{ items: Obj[]; metadata: { resourceVersion: string } }>(`/apis/${group}/v1beta1/${plural}`);
        if (listed.status !== 200) throw new Error(`list ${plural}: ${listed.status}`);
        for (const o of listed.body.items) this.#enqueue(plural, o);
        await this.api.stream(`/apis/${group}/v1beta1/${plural}?watch=1&resourceVersion=${listed.body.metadata.resourceVersion}`, signal, (type, o) => {
          if (type === "ADDED" || type === "MODIFIED") this.#enqueue(plural, o as Obj);
        });
      } catch {
        if (!signal.aborted) await Bun.sleep(100);
      }
    }
  }

  #enqueue(plural: string, obj: Obj): void {
    this.#pending.set(`${plural}/${obj.metadata.namespace}/${obj.metadata.name}`, { plural, obj });
    while (this.#workers < WORKERS && this.#pending.size > 0) {
      this.#workers++;
      void this.#work().finally(() => this.#workers--);
    }
  }

  async #work(): Promise<void> {
    for (;;) {
      const next = this.#pending.entries().next();
      if (next.done) return;
      const [key, { plural, obj }] = next.value;
      this.#pending.delete(key);
      try {
        await this.#handle(plural, obj);
      } catch {
        // A later event for the object brings it back.
      }
    }
  }

  async #handle(plural: string, o: Obj): Promise<void> {
    if (plural === "testclusters") return this.#cluster(o);
    if (plural === "testconfigs" || plural === "legacyconfigs") return this.#config(plural, plural === "legacyconfigs", o);
    return this.#machine(plural, plural === "legacymachines", o);
  }

  async #status(group: string, plural: string, o: Obj, status: Record<string, unknown>): Promise<void> {
    await this.api.patch(`/apis/${group}/v1beta1/namespaces/${o.metadata.namespace}/${plural}/${o.metadata.name}/status`, { status }, "application/merge-patch+json");
  }

  /** Infrastructure torn down, in order (the provider's finalizer on each object). */
  readonly released: { kind: string; namespace: string; name: string; at: number }[] = [];

  /** Holds a finalizer like a provider owning a VM, released (and recorded) on deletion; true when deleting. */
  async #guard(plural: string, kind: string, o: Obj): Promise<boolean> {
    const path = `/apis/${INFRA_GROUP}/v1beta1/namespaces/${o.metadata.namespace}/${plural}/${o.metadata.name}`;
    const finalizers = (o.metadata.finalizers as string[] | undefined) ?? [];
    if (o.metadata.deletionTimestamp) {
      if (finalizers.includes(PROVIDER_FINALIZER)) {
        const r = await this.api.patch(path, { metadata: { finalizers: finalizers.filter((f) => f !== PROVIDER_FINALIZER), resourceVersion: o.metadata.resourceVersion } }, "application/merge-patch+json");
        if (r.status === 200) this.released.push({ kind, namespace: o.metadata.namespace!, name: o.metadata.name, at: Date.now() });
      }
      return true;
    }
    if (!finalizers.includes(PROVIDER_FINALIZER)) await this.api.patch(path, { metadata: { finalizers: [...finalizers, PROVIDER_FINALIZER], resourceVersion: o.metadata.resourceVersion } }, "application/merge-patch+json");
    return false;
  }

  async #cluster(c: Obj): Promise<void> {
    if (await this.#guard("testclusters", "TestCluster", c)) return;
    if ((c.status?.initialization as { provisioned?: boolean } | undefined)?.provisioned) return;
    await this.#status(INFRA_GROUP, "testclusters", c, { initialization: { provisioned: true }, conditions: [{ type: "Ready", status: "True", reason: "Provisioned", lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z") }] });
  }

  async #config(plural: string, legacy: boolean, b: Obj): Promise<void> {
    if (b.metadata.deletionTimestamp || b.status?.dataSecretName || !b.metadata.ownerReferences?.some((r) => r.kind === "Machine")) return;
    const secret = `${b.metadata.name}-bootstrap`;
    await this.api.post(`/api/v1/namespaces/${b.metadata.namespace}/secrets`, {
      apiVersion: "v1",
      kind: "Secret",
      type: "cluster.x-k8s.io/secret",
      metadata: { name: secret },
      stringData: { value: "#cloud-config\n", format: "cloud-config" },
    });
    await this.#status(BOOTSTRAP_GROUP, plural, b, legacy ? { ready: true, dataSecretName: secret } : { initialization: { dataSecretCreated: true }, dataSecretName: secret });
  }

  async #machine(plural: string, legacy: boolean, m: Obj): Promise<void> {
    if (await this.#guard(plural, legacy ? "LegacyMachine" : "TestMachine", m)) return;
    const owner = m.metadata.ownerReferences?.find((r) => r.kind === "Machine");
    if (!owner) return;
    const provisioned = legacy ? m.status?.ready === true : (m.status?.initialization as { provisioned?: boolean } | undefined)?.provisioned === true;
    const providerID = `test://${m.metadata.namespace}/${m.metadata.name}`;
    if (!provisioned) {
      if (!m.spec?.providerID) await this.api.patch(`/apis/${INFRA_GROUP}/v1beta1/namespaces/${m.metadata.namespace}/${plural}/${m.metadata.name}`, { spec: { providerID } }, "application/merge-patch+json");
      await this.#status(INFRA_GROUP, plural, m, {
        ...(legacy ? { ready: true } : { initialization: { provisioned: true } }),
        addresses: [{ type: "InternalIP", address: "10.10.0.100" }],
      });
    }
    await this.#ensureNode(m, owner.name, providerID);
  }

  async #ensureNode(infra: Obj, machineName: string, providerID: string): Promise<void> {
    const cluster = (infra.metadata as { labels?: Record<string, string> }).labels?.["cluster.x-k8s.io/cluster-name"];
    const w = cluster ? this.clusters.get(`${infra.metadata.namespace}/${cluster}`) : undefined;
    if (!w || this.#nodesMade.has(providerID)) return;
    const got = await w.request("GET", `/api/v1/nodes/${machineName}`);
    if (got.status !== 404) {
      if (got.status === 200) this.#nodesMade.add(providerID);
      return;
    }
    const created = await w.request("POST", "/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: machineName, labels: { "kubernetes.io/hostname": machineName } },
      spec: { providerID, taints: [{ key: "node.cluster.x-k8s.io/uninitialized", effect: "NoSchedule" }] },
    });
    if (created.status !== 201) throw new Error(`creating node ${machineName}: ${created.status}`);
    await this.setNodeReady(w, machineName, this.nodesReady);
    this.#nodesMade.add(providerID);
  }

  #nodesMade = new Set<string>();

  /** What a kubelet reports: Ready (or not) and no pressure. */
  async setNodeReady(w: LabWorkloadApi, node: string, ready: boolean): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const cond = (type: string, status: string, reason: string) => ({ type, status, reason, lastHeartbeatTime: now, lastTransitionTime: now });
    const r = await w.request(
      "PATCH",
      `/api/v1/nodes/${node}/status`,
      {
        status: {
          conditions: [
            cond("Ready", ready ? "True" : "False", ready ? "KubeletReady" : "KubeletNotReady"),
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID"),
          ],
          nodeInfo: { kubeletVersion: "v1.32.0", osImage: "Test OS", architecture: "amd64", operatingSystem: "linux" },
        },
      },
      "application/merge-patch+json",
    );
    if (r.status !== 200) throw new Error(`node ${node} status: ${r.status} ${JSON.stringify(r.body)}`);
  }
}
