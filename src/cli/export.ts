/**
 * `capx-appliance export`: every user object needed to recreate the clusters in a real Cluster
 * API management cluster, as multi-document YAML for `kubectl apply -f`.
 *
 * Objects are read through the appliance's API (so conversion applies) in each CRD's storage
 * version — upstream's — together with the Secrets and ConfigMaps that belong to clusters (label
 * cluster.x-k8s.io/cluster-name) or that exported objects reference, and the Namespaces they
 * live in. Server-set fields (uid, resourceVersion, creationTimestamp, generation, managedFields,
 * finalizers, status) are stripped. ownerReferences are dropped too: they need the owners' uids
 * in the new cluster, which `kubectl apply` cannot fill in (clusterctl move re-creates them after
 * creating the owners; Cluster API's controllers re-adopt the objects once the Clusters are
 * unpaused). Every Cluster is exported with `spec.paused: true`, as clusterctl move does:
 * unpause it in the new cluster once the appliance no longer manages it.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { DEFAULT_DATA_DIR } from "../config/config.ts";
import type { KObject } from "../lib/kobject.ts";
import { parseKubeconfig, type KubeconfigAccess } from "../providers/workload/kubeconfig.ts";
import { parseFlags, UsageError } from "./args.ts";
import { CommandError } from "./cluster-secret.ts";

export const EXPORT_USAGE = "usage: capx-appliance export [--data-dir DIR | --kubeconfig FILE] [-n NAMESPACE | -A]";

const CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";
const SYSTEM_NAMESPACES = new Set(["default", "kube-system", "kube-public", "kube-node-lease"]);

interface CRD {
  spec: {
    group: string;
    names: { plural: string; kind: string };
    scope: "Namespaced" | "Cluster";
    versions: { name: string; served: boolean; storage: boolean }[];
  };
}

class Api {
  constructor(private readonly access: KubeconfigAccess) {}

  async list(path: string): Promise<KObject[]> {
    const tls = { ca: this.access.caPem, cert: this.access.certPem, key: this.access.keyPem, ...(this.access.insecure ? { rejectUnauthorized: false } : {}) };
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.access.token) headers.Authorization = `Bearer ${this.access.token}`;
    let res: Response;
    try {
      res = await fetch(`${this.access.server}${path}`, { headers, tls } as RequestInit);
    } catch (e) {
      throw new CommandError(`cannot reach the appliance at ${this.access.server}: ${(e as Error).message}`);
    }
    const body = (await res.json().catch(() => ({}))) as { items?: KObject[]; message?: string };
    if (!res.ok) throw new CommandError(`GET ${path}: ${body.message ?? `${res.status} ${res.statusText}`}`);
    return body.items ?? [];
  }
}

const CORE_RANK: Record<string, number> = { ClusterClass: 3, Cluster: 8, MachineDeployment: 9, MachinePool: 9, MachineSet: 10, Machine: 11, MachineHealthCheck: 13 };

/** Order for `kubectl apply`: what others refer to first. */
function rank(o: KObject): number {
  const apiVersion = o.apiVersion ?? "";
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0]! : "";
  const kind = o.kind ?? "";
  if (group === "") return kind === "Namespace" ? 0 : 1;
  if (group.startsWith("ipam.")) return kind.endsWith("Pool") ? 2 : kind === "IPAddressClaim" ? 14 : 15;
  if (group.startsWith("infrastructure.")) return kind.endsWith("Template") ? 3 : kind.endsWith("Cluster") ? 4 : 12;
  if (group.startsWith("bootstrap.")) return kind.endsWith("Template") ? 5 : 6;
  if (group.startsWith("controlplane.")) return 7;
  if (group === "cluster.x-k8s.io") return CORE_RANK[kind] ?? 13;
  return 16;
}

function clean(o: KObject, apiVersion: string, kind: string): KObject {
  const m = o.metadata;
  const annotations = { ...(m.annotations ?? {}) };
  delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
  const metadata: KObject["metadata"] = { name: m.name };
  if (m.namespace) metadata.namespace = m.namespace;
  if (m.labels && Object.keys(m.labels).length) metadata.labels = m.labels;
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o as KObject & { status?: unknown };
  const out = { apiVersion, kind, metadata, ...rest } as KObject;
  if (kind === "Cluster" && apiVersion.startsWith("cluster.x-k8s.io/")) out.spec = { ...((out.spec as Record<string, unknown> | undefined) ?? {}), paused: true };
  return out;
}

/** Secrets and ConfigMaps an object names: `{kind: Secret, name}` references, `*SecretName`, `*secretRef`, `credentialsRef`. */
function references(value: unknown, namespace: string, out: Set<string>, key = ""): void {
  if (Array.isArray(value)) {
    for (const v of value) references(v, namespace, out, key);
    return;
  }
  if (typeof value === "string") {
    if (/secretname$/i.test(key)) out.add(`Secret/${namespace}/${value}`);
    return;
  }
  if (!value || typeof value !== "object") return;
  const o = value as Record<string, unknown>;
  const ns = typeof o.namespace === "string" && o.namespace ? o.namespace : namespace;
  if (typeof o.name === "string") {
    if (o.kind === "Secret" || o.kind === "ConfigMap") out.add(`${o.kind}/${ns}/${o.name}`);
    else if (o.kind === undefined && /(secretref|credentialsref)$/i.test(key)) out.add(`Secret/${ns}/${o.name}`);
  }
  for (const [k, v] of Object.entries(o)) references(v, namespace, out, k);
}

function accessFrom(flags: Record<string, unknown>): KubeconfigAccess {
  if (typeof flags.kubeconfig === "string" && typeof flags["data-dir"] === "string") throw new UsageError("use either --kubeconfig or --data-dir, not both");
  const path = typeof flags.kubeconfig === "string" ? flags.kubeconfig : join((flags["data-dir"] as string | undefined) ?? DEFAULT_DATA_DIR, "admin.kubeconfig");
  if (!existsSync(path)) throw new UsageError(`${path} not found: has the daemon run with that data dir?`);
  try {
    return parseKubeconfig(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`${path}: ${(e as Error).message}`);
  }
}

export async function exportCommand(argv: string[]): Promise<string> {
  const { flags, positional } = parseFlags(argv, {
    "data-dir": { type: "string" },
    kubeconfig: { type: "string" },
    namespace: { type: "string" },
    n: { type: "string" },
    "all-namespaces": { type: "boolean" },
    A: { type: "boolean" },
  });
  if (positional.length) throw new UsageError(EXPORT_USAGE);
  const namespace = (flags.namespace as string | undefined) ?? (flags.n as string | undefined);
  if (namespace !== undefined && (flags.A || flags["all-namespaces"])) throw new UsageError("use either -n NAMESPACE or -A, not both");
  const api = new Api(accessFrom(flags));
  const inScope = (o: KObject) => !o.metadata.deletionTimestamp && (o.metadata.namespace === undefined || !SYSTEM_NAMESPACES.has(o.metadata.namespace) || o.metadata.namespace === "default");
  const nsPath = (ns: string | undefined) => (ns ? `namespaces/${encodeURIComponent(ns)}/` : "");

  const objects: KObject[] = [];
  const crds = (await api.list("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")) as unknown as CRD[];
  for (const crd of crds) {
    const version = crd.spec.versions.find((v) => v.storage && v.served) ?? crd.spec.versions.find((v) => v.served);
    if (!version) continue;
    const apiVersion = `${crd.spec.group}/${version.name}`;
    const scoped = crd.spec.scope === "Namespaced" ? nsPath(namespace) : "";
    for (const o of await api.list(`/apis/${apiVersion}/${scoped}${crd.spec.names.plural}`)) if (inScope(o)) objects.push(clean(o, apiVersion, crd.spec.names.kind));
  }

  const wanted = new Set<string>();
  for (const o of objects) references(o.spec, o.metadata.namespace ?? "default", wanted);
  for (const kind of ["Secret", "ConfigMap"] as const) {
    for (const o of await api.list(`/api/v1/${nsPath(namespace)}${kind === "Secret" ? "secrets" : "configmaps"}`)) {
      const belongs = o.metadata.labels?.[CLUSTER_NAME_LABEL] !== undefined || wanted.has(`${kind}/${o.metadata.namespace}/${o.metadata.name}`);
      if (belongs && inScope(o)) objects.push(clean(o, "v1", kind));
    }
  }

  const used = new Set(objects.map((o) => o.metadata.namespace).filter((ns): ns is string => ns !== undefined && !SYSTEM_NAMESPACES.has(ns)));
  for (const ns of await api.list("/api/v1/namespaces")) {
    if (used.has(ns.metadata.name!)) {
      const labels = Object.fromEntries(Object.entries(ns.metadata.labels ?? {}).filter(([k]) => k !== "kubernetes.io/metadata.name"));
      objects.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns.metadata.name!, ...(Object.keys(labels).length ? { labels } : {}) } });
    }
  }

  objects.sort((a, b) => rank(a) - rank(b) || (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") || (a.kind ?? "").localeCompare(b.kind ?? "") || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  const header = `# capx-appliance export: ${objects.length} objects, ordered for kubectl apply; Clusters are paused (spec.paused: true)\n# and ownerReferences are dropped: unpause the Clusters once the appliance no longer manages them.\n`;
  return header + objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join("");
}
