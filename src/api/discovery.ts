/**
 * API discovery: legacy documents (/api, /apis, /apis/G, per group-version APIResourceLists)
 * and aggregated discovery (apidiscovery.k8s.io v2 and v2beta1), all derived from the registry.
 * @module
 */
import type { Registry } from "../registry/registry.ts";
import type { Resource, ResourceVersion } from "../registry/types.ts";

const VERSION_RE = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

/** Kubernetes version priority: GA before beta before alpha, higher numbers first. */
export function compareVersions(a: string, b: string): number {
  const ma = VERSION_RE.exec(a);
  const mb = VERSION_RE.exec(b);
  if (ma && !mb) return -1;
  if (!ma && mb) return 1;
  if (!ma || !mb) return a < b ? -1 : a > b ? 1 : 0;
  const rank = (m: RegExpExecArray) => (m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1);
  if (rank(ma) !== rank(mb)) return rank(mb) - rank(ma);
  if (Number(ma[1]) !== Number(mb[1])) return Number(mb[1]) - Number(ma[1]);
  return Number(mb[3] ?? 0) - Number(ma[3] ?? 0);
}

export interface GroupInfo {
  name: string;
  versions: string[];
  preferred: string;
}

/** Served groups with their versions in priority order; the core group ("") first. */
export function servedGroups(registry: Registry): GroupInfo[] {
  const byGroup = new Map<string, Set<string>>();
  for (const r of registry.all()) {
    for (const v of r.versions) {
      if (!v.served) continue;
      let set = byGroup.get(r.group);
      if (!set) byGroup.set(r.group, (set = new Set()));
      set.add(v.name);
    }
  }
  const out: GroupInfo[] = [];
  for (const [name, set] of byGroup) {
    const versions = [...set].sort(compareVersions);
    out.push({ name, versions, preferred: versions[0]! });
  }
  const builtinOrder = ["", "apiextensions.k8s.io", "authorization.k8s.io", "coordination.k8s.io", "events.k8s.io"];
  return out.sort((a, b) => {
    const ia = builtinOrder.indexOf(a.name);
    const ib = builtinOrder.indexOf(b.name);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return a.name < b.name ? -1 : 1;
  });
}

function resourcesIn(registry: Registry, group: string, version: string): { r: Resource; v: ResourceVersion }[] {
  const out: { r: Resource; v: ResourceVersion }[] = [];
  for (const r of registry.all()) {
    if (r.group !== group) continue;
    const v = r.version(version);
    if (v?.served) out.push({ r, v });
  }
  return out.sort((a, b) => (a.r.plural < b.r.plural ? -1 : 1));
}

const SUB_VERBS = ["get", "patch", "update"];

export function apiVersions(serverAddress: string) {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
}

function groupDoc(g: GroupInfo) {
  const gv = (v: string) => ({ groupVersion: `${g.name}/${v}`, version: v });
  return { name: g.name, versions: g.versions.map(gv), preferredVersion: gv(g.preferred) };
}

export function apiGroupList(registry: Registry) {
  return { kind: "APIGroupList", apiVersion: "v1", groups: servedGroups(registry).filter((g) => g.name !== "").map(groupDoc) };
}

export function apiGroup(registry: Registry, group: string) {
  const g = servedGroups(registry).find((x) => x.name === group && group !== "");
  return g ? { kind: "APIGroup", apiVersion: "v1", ...groupDoc(g) } : undefined;
}

export function apiResourceList(registry: Registry, group: string, version: string) {
  const list = resourcesIn(registry, group, version);
  if (list.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const { r, v } of list) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
    });
    if (v.subresources.status) resources.push({ name: `${r.plural}/status`, singularName: "", namespaced: r.namespaced, kind: r.kind, verbs: SUB_VERBS });
    if (v.subresources.scale) {
      resources.push({ name: `${r.plural}/scale`, singularName: "", namespaced: r.namespaced, group: "autoscaling", version: "v1", kind: "Scale", verbs: SUB_VERBS });
    }
    if (r.plural === "namespaces" && !r.group) resources.push({ name: "namespaces/finalize", singularName: "", namespaced: false, kind: "Namespace", verbs: ["update"] });
    for (const [sub, k] of Object.entries(r.postSubresources ?? {})) {
      resources.push({ name: `${r.plural}/${sub}`, singularName: "", namespaced: r.namespaced, group: k.group, version: k.version, kind: k.kind, verbs: ["create"] });
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: group ? `${group}/${version}` : version, resources };
}

/** Aggregated discovery for `/api` (legacy = true) or `/apis`. */
export function aggregatedDiscovery(registry: Registry, legacy: boolean, apiVersion: "v2" | "v2beta1") {
  const items = servedGroups(registry)
    .filter((g) => (legacy ? g.name === "" : g.name !== ""))
    .map((g) => ({
      metadata: { name: g.name, creationTimestamp: null },
      versions: g.versions.map((version) => ({
        version,
        freshness: "Current",
        resources: resourcesIn(registry, g.name, version).map(({ r, v }) => {
          const subresources: Record<string, unknown>[] = [];
          if (v.subresources.status) subresources.push({ subresource: "status", responseKind: { group: r.group, version, kind: r.kind }, verbs: SUB_VERBS });
          if (v.subresources.scale) subresources.push({ subresource: "scale", responseKind: { group: "autoscaling", version: "v1", kind: "Scale" }, verbs: SUB_VERBS });
          if (r.plural === "namespaces" && !r.group) subresources.push({ subresource: "finalize", responseKind: { group: "", version: "v1", kind: "Namespace" }, verbs: ["update"] });
          for (const [sub, k] of Object.entries(r.postSubresources ?? {})) subresources.push({ subresource: sub, responseKind: k, verbs: ["create"] });
          return {
            resource: r.plural,
            responseKind: { group: r.group, version, kind: r.kind },
            scope: r.namespaced ? "Namespaced" : "Cluster",
            singularResource: r.singular,
            verbs: r.verbs,
            ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
            ...(r.categories.length ? { categories: r.categories } : {}),
            ...(subresources.length ? { subresources } : {}),
          };
        }),
      })),
    }));
  return { kind: "APIGroupDiscoveryList", apiVersion: `apidiscovery.k8s.io/${apiVersion}`, metadata: {}, items };
}

/** Which aggregated discovery version the Accept header asks for, if any. */
export function wantsAggregated(accept: string | null): "v2" | "v2beta1" | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(",")) {
    const p = part.replace(/\s/g, "");
    if (!p.includes("g=apidiscovery.k8s.io") || !p.includes("as=APIGroupDiscoveryList")) continue;
    if (p.includes("v=v2beta1")) return "v2beta1";
    if (p.includes("v=v2")) return "v2";
  }
  return undefined;
}

export function aggregatedContentType(v: "v2" | "v2beta1"): string {
  return `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;
}
