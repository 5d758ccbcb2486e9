/**
 * KubeadmConfigSpec v1beta1 ⇄ v1beta2, after upstream `api/bootstrap/kubeadm/v1beta1/conversion.go`
 * and the timeout moves of `bootstrap/kubeadm/webhooks/conversion/kubeadmconfig.go`. Shared by
 * KubeadmConfig(Template) and KubeadmControlPlane(Template) (`kubeadmConfigSpec`).
 *
 * The JSON of the two versions is the same except for:
 * - `extraArgs` (apiServer, controllerManager, scheduler, etcd.local) and
 *   `nodeRegistration.kubeletExtraArgs`: map ⇄ list of `{name, value}` sorted by name (then value);
 *   down, a later duplicate name wins (`ConvertToArgs` / `ConvertFromArgs`);
 * - bootstrap token `ttl` duration ⇄ `ttlSeconds`;
 * - `clusterConfiguration.apiServer.timeoutForControlPlane` ⇄
 *   `initConfiguration.timeouts.controlPlaneComponentHealthCheckSeconds` (also copied to
 *   `joinConfiguration.timeouts` going up), `joinConfiguration.discovery.timeout` ⇄
 *   `joinConfiguration.timeouts.tlsBootstrapSeconds`; the other v1beta2 timeouts have no v1beta1 place;
 * - v1beta1-only fields dropped going up: `useExperimentalRetryJoin`, the embedded kubeadm
 *   `apiVersion`/`kind`, and `clusterConfiguration.{clusterName, kubernetesVersion, networking}`
 *   (v1beta2 takes them from the Cluster and Machine).
 *
 * v1beta2 marks its structs `omitzero` and most strings `minLength: 1`: going up, empty objects,
 * lists and strings vanish (except `nodeRegistration.taints`, a pointer to a list upstream, where
 * `[]` means "no taints"; an empty `extraEnvs`, also a pointer, is refused by the v1beta2 schema's
 * `minItems: 1`). What either direction drops travels in the conversion-data
 * annotation (hub.ts), so round trips stay exact.
 * @module
 */
import { durationToSeconds, secondsToDuration } from "../../capi/conversion/durations.ts";
import { arr, clone, isObj, type J, num, obj, put, str } from "../../capi/conversion/util.ts";

const CONTROL_PLANE_COMPONENTS = ["apiServer", "controllerManager", "scheduler"] as const;

/** Keys whose empty list is meaningful in v1beta2 (`*[]Taint` upstream: `[]` means "no taints"). */
const KEEP_EMPTY_LIST = new Set(["taints"]);

/** `ConvertToArgs`: a `{name: value}` map → `[{name, value}]`, sorted by name then value. */
export function argsToList(m: unknown): J[] | undefined {
  if (!isObj(m)) return undefined;
  const list = Object.entries(m).map(([name, value]) => ({ name, value: typeof value === "string" ? value : String(value ?? "") }));
  list.sort((a, b) => (a.name === b.name ? (a.value < b.value ? -1 : a.value > b.value ? 1 : 0) : a.name < b.name ? -1 : 1));
  return list;
}

/** `ConvertFromArgs`: `[{name, value}]` → map; a later duplicate name wins. */
export function argsFromList(list: unknown): Record<string, string> | undefined {
  const items = arr(list);
  if (!items) return undefined;
  const out: Record<string, string> = {};
  for (const a of items) if (isObj(a) && typeof a.name === "string") out[a.name] = str(a.value) ?? "";
  return out;
}

/** Drops empty strings, objects and lists recursively (Go `omitempty`/`omitzero` on the v1beta2 types). */
export function dropEmpty(v: unknown, key = ""): unknown {
  if (typeof v === "string") return v === "" ? undefined : v;
  if (Array.isArray(v)) {
    const items = v.map((e) => (isObj(e) ? (dropEmpty(e) ?? {}) : e));
    return items.length === 0 && !KEEP_EMPTY_LIST.has(key) ? undefined : items;
  }
  if (isObj(v)) {
    const out: J = {};
    for (const [k, e] of Object.entries(v)) put(out, k, dropEmpty(e, k));
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return v;
}

function mapArgsIn(component: J | undefined, key: string, to: (v: unknown) => unknown): void {
  if (component && component[key] !== undefined) {
    const converted = to(component[key]);
    if (converted === undefined) delete component[key];
    else component[key] = converted;
  }
}

function ensure(parent: J, key: string): J {
  const cur = obj(parent[key]);
  if (cur) return cur;
  const fresh: J = {};
  parent[key] = fresh;
  return fresh;
}

/** v1beta1 KubeadmConfigSpec → v1beta2 (the input is not modified). */
export function kubeadmConfigSpecToHub(spec: J): J {
  const s = clone(spec);
  delete s.useExperimentalRetryJoin;

  const cc = obj(s.clusterConfiguration);
  let healthCheckSeconds: number | undefined;
  if (cc) {
    for (const k of ["apiVersion", "kind", "clusterName", "kubernetesVersion", "networking"]) delete cc[k];
    for (const c of CONTROL_PLANE_COMPONENTS) mapArgsIn(obj(cc[c]), "extraArgs", argsToList);
    mapArgsIn(obj(obj(cc.etcd)?.local), "extraArgs", argsToList);
    const apiServer = obj(cc.apiServer);
    if (apiServer) {
      healthCheckSeconds = durationToSeconds(apiServer.timeoutForControlPlane);
      delete apiServer.timeoutForControlPlane;
    }
  }

  const init = obj(s.initConfiguration);
  if (init) {
    delete init.apiVersion;
    delete init.kind;
    mapArgsIn(obj(init.nodeRegistration), "kubeletExtraArgs", argsToList);
    for (const t of arr(init.bootstrapTokens) ?? []) {
      if (!isObj(t)) continue;
      put(t, "ttlSeconds", durationToSeconds(t.ttl));
      delete t.ttl;
    }
  }

  const join = obj(s.joinConfiguration);
  let tlsBootstrapSeconds: number | undefined;
  if (join) {
    delete join.apiVersion;
    delete join.kind;
    mapArgsIn(obj(join.nodeRegistration), "kubeletExtraArgs", argsToList);
    const discovery = obj(join.discovery);
    if (discovery) {
      tlsBootstrapSeconds = durationToSeconds(discovery.timeout);
      delete discovery.timeout;
    }
  }

  if (healthCheckSeconds !== undefined) ensure(ensure(s, "initConfiguration"), "timeouts").controlPlaneComponentHealthCheckSeconds = healthCheckSeconds;
  if (healthCheckSeconds !== undefined || tlsBootstrapSeconds !== undefined) {
    const timeouts = ensure(ensure(s, "joinConfiguration"), "timeouts");
    put(timeouts, "controlPlaneComponentHealthCheckSeconds", healthCheckSeconds);
    put(timeouts, "tlsBootstrapSeconds", tlsBootstrapSeconds);
  }
  return (dropEmpty(s) as J | undefined) ?? {};
}

/** v1beta2 KubeadmConfigSpec → v1beta1 (the input is not modified). */
export function kubeadmConfigSpecFromHub(spec: J): J {
  const s = clone(spec);
  const cc = obj(s.clusterConfiguration);
  if (cc) {
    for (const c of CONTROL_PLANE_COMPONENTS) mapArgsIn(obj(cc[c]), "extraArgs", argsFromList);
    mapArgsIn(obj(obj(cc.etcd)?.local), "extraArgs", argsFromList);
  }
  const init = obj(s.initConfiguration);
  const join = obj(s.joinConfiguration);
  const healthCheck = secondsToDuration(num(obj(init?.timeouts)?.controlPlaneComponentHealthCheckSeconds));
  const tlsBootstrap = secondsToDuration(num(obj(join?.timeouts)?.tlsBootstrapSeconds));
  if (init) {
    delete init.timeouts;
    mapArgsIn(obj(init.nodeRegistration), "kubeletExtraArgs", argsFromList);
    for (const t of arr(init.bootstrapTokens) ?? []) {
      if (!isObj(t)) continue;
      put(t, "ttl", secondsToDuration(num(t.ttlSeconds)));
      delete t.ttlSeconds;
    }
    if (Object.keys(init).length === 0) delete s.initConfiguration;
  }
  if (join) {
    delete join.timeouts;
    mapArgsIn(obj(join.nodeRegistration), "kubeletExtraArgs", argsFromList);
    if (Object.keys(join).length === 0) delete s.joinConfiguration;
  }
  if (healthCheck !== undefined) ensure(ensure(s, "clusterConfiguration"), "apiServer").timeoutForControlPlane = healthCheck;
  if (tlsBootstrap !== undefined) ensure(ensure(s, "joinConfiguration"), "discovery").timeout = tlsBootstrap;
  return s;
}
