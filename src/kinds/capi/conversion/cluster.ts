/**
 * Cluster v1beta1 ⇄ v1beta2 (hub), after upstream `core/webhooks/conversion/cluster.go` and
 * `Convert_*_Cluster{Spec,Status}_*`, `*_Topology_*`, `*_ControlPlaneTopology_*`,
 * `*_MachineDeploymentTopology_*`, `*_MachinePoolTopology_*`, `*_ClusterNetwork_*`.
 *
 * spec: `infrastructureRef`/`controlPlaneRef` ObjectReference ⇄ `{apiGroup,kind,name}`; `paused`
 * false ⇒ unset; `clusterNetwork.apiServerPort` 0 ⇒ unset. Topology: `class`/`classNamespace` ⇄
 * `classRef.{name,namespace}`; `rolloutAfter` and variables' `definitionFrom` have no v1beta2
 * field; for the control plane and each MachineDeployment/MachinePool topology `machineHealthCheck`
 * ⇄ `healthCheck {enabled, checks, remediation}`, `node*Timeout` ⇄ `deletion.*Seconds`, and for
 * MachineDeployments `strategy` ⇄ `rollout.strategy` + `deletion.order` +
 * `healthCheck.remediation.maxInFlight`.
 * status: `infrastructureReady`/`controlPlaneReady` ⇄ `initialization.{infrastructureProvisioned,
 * controlPlaneInitialized}`; `failureDomains` map ⇄ list sorted by name; conditions,
 * `failureReason`, `failureMessage` ⇄ `deprecated.v1beta1`; `v1beta2.{conditions,controlPlane,
 * workers}` ⇄ `conditions`, `controlPlane`, `workers`.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { copyConditions, deprecatedV1Beta1, setDeprecatedV1Beta1, setV1Beta2Block, v1beta2Block } from "./conditions.ts";
import type { SpokeConversion } from "./hub.ts";
import { HUB_API_VERSION, nonZero, shell, timeoutsFromSeconds, timeoutsToSeconds, V1BETA1_API_VERSION } from "./machine.ts";
import { isSet, rolloutStrategyToHub, strategyFromHub } from "./machinedeployment.ts";
import { checksToHub, healthCheckFieldsFromHub, remediationToHub } from "./machinehealthcheck.ts";
import { contractVersionedToRef, refToContractVersioned } from "./refs.ts";
import { arr, clone, copyKeys, isObj, type J, nonEmptyStr, num, obj, orUndef, put, str } from "./util.ts";

/** Go's `reflect.DeepEqual(x, zero)` for the v1beta2 structs here: pointers set ⇒ non-zero. */
function isGoZero(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === "string") return v === "";
  if (isObj(v)) return Object.values(v).every(isGoZero);
  return false; // numbers/booleans are pointers in these structs; slices count when non-nil
}

// ---- variables -------------------------------------------------------------------------------

function variablesToHub(list: unknown): J[] | undefined {
  return arr(list)?.map((item) => {
    const v = obj(item) ?? {};
    const out: J = {};
    put(out, "name", nonEmptyStr(v.name));
    put(out, "value", v.value);
    return out;
  });
}

function variablesFromHub(list: unknown): J[] | undefined {
  return arr(list)?.map((item) => {
    const v = obj(item) ?? {};
    const out: J = { name: str(v.name) ?? "" };
    put(out, "value", v.value);
    return out;
  });
}

function overridesToHub(v: unknown): J | undefined {
  const vars = obj(v);
  if (!vars) return undefined;
  const out: J = {};
  put(out, "overrides", variablesToHub(vars.overrides));
  return orUndef(out);
}

function overridesFromHub(v: unknown): J | undefined {
  const vars = obj(v);
  if (!vars || isGoZero(vars)) return undefined;
  const out: J = {};
  put(out, "overrides", variablesFromHub(vars.overrides));
  return out;
}

// ---- health checks in the topology ------------------------------------------------------------

function healthCheckToHub(mhc: J | undefined, maxInFlight?: unknown): J | undefined {
  const out: J = {};
  if (mhc) {
    put(out, "enabled", typeof mhc.enable === "boolean" ? mhc.enable : undefined);
    put(out, "checks", checksToHub(mhc));
  }
  put(out, "remediation", remediationToHub(mhc ?? {}, isSet(maxInFlight) ? { maxInFlight } : {}));
  return orUndef(out);
}

function machineHealthCheckFromHub(hc: J | undefined, namespace: string | undefined, ignoreMaxInFlight: boolean): J | undefined {
  if (!hc) return undefined;
  const probe = clone(hc);
  if (ignoreMaxInFlight) {
    const remediation = obj(probe.remediation);
    if (remediation) delete remediation.maxInFlight;
  }
  if (isGoZero(probe)) return undefined;
  const out: J = {};
  if (typeof hc.enabled === "boolean") out.enable = hc.enabled;
  healthCheckFieldsFromHub(obj(hc.checks), obj(hc.remediation), namespace, out);
  return out;
}

function rolloutAfterOnly(r: unknown): J | undefined {
  const out: J = {};
  put(out, "after", nonEmptyStr(obj(r)?.after));
  return orUndef(out);
}

// ---- control plane topology ------------------------------------------------------------------

function controlPlaneTopologyToHub(c: J): J | undefined {
  const out: J = {};
  put(out, "metadata", c.metadata);
  put(out, "replicas", num(c.replicas));
  put(out, "rollout", rolloutAfterOnly(c.rollout));
  put(out, "healthCheck", obj(c.machineHealthCheck) ? healthCheckToHub(obj(c.machineHealthCheck)) : undefined);
  const deletion: J = {};
  timeoutsToSeconds(c, deletion);
  put(out, "deletion", orUndef(deletion));
  put(out, "taints", c.taints);
  put(out, "readinessGates", c.readinessGates);
  put(out, "variables", overridesToHub(c.variables));
  return orUndef(out);
}

function controlPlaneTopologyFromHub(c: J, namespace: string | undefined): J {
  const out: J = {};
  put(out, "metadata", c.metadata);
  put(out, "replicas", num(c.replicas));
  put(out, "rollout", rolloutAfterOnly(c.rollout));
  put(out, "machineHealthCheck", machineHealthCheckFromHub(obj(c.healthCheck), namespace, false));
  timeoutsFromSeconds(obj(c.deletion), out);
  put(out, "taints", c.taints);
  put(out, "readinessGates", c.readinessGates);
  put(out, "variables", overridesFromHub(c.variables));
  return out;
}

// ---- worker topologies -----------------------------------------------------------------------

function machineDeploymentTopologyToHub(m: J): J {
  const out: J = {};
  put(out, "metadata", m.metadata);
  put(out, "class", nonEmptyStr(m.class));
  put(out, "name", nonEmptyStr(m.name));
  put(out, "failureDomain", nonEmptyStr(m.failureDomain));
  put(out, "replicas", num(m.replicas));
  const strategy = obj(m.strategy);
  const maxInFlight = obj(strategy?.remediation)?.maxInFlight;
  const mhc = obj(m.machineHealthCheck);
  put(out, "healthCheck", mhc || isSet(maxInFlight) ? healthCheckToHub(mhc, maxInFlight) : undefined);
  const deletion: J = {};
  put(deletion, "order", nonEmptyStr(obj(strategy?.rollingUpdate)?.deletePolicy));
  timeoutsToSeconds(m, deletion);
  put(out, "deletion", orUndef(deletion));
  put(out, "taints", m.taints);
  put(out, "minReadySeconds", num(m.minReadySeconds));
  put(out, "readinessGates", m.readinessGates);
  const rollout: J = {};
  put(rollout, "after", nonEmptyStr(obj(m.rollout)?.after));
  put(rollout, "strategy", rolloutStrategyToHub(strategy));
  put(out, "rollout", orUndef(rollout));
  put(out, "variables", overridesToHub(m.variables));
  return out;
}

function machineDeploymentTopologyFromHub(m: J, namespace: string | undefined): J {
  const out: J = {};
  put(out, "metadata", m.metadata);
  out.class = str(m.class) ?? "";
  out.name = str(m.name) ?? "";
  put(out, "failureDomain", nonEmptyStr(m.failureDomain));
  put(out, "replicas", num(m.replicas));
  const hc = obj(m.healthCheck);
  put(out, "machineHealthCheck", machineHealthCheckFromHub(hc, namespace, true));
  const deletion = obj(m.deletion);
  timeoutsFromSeconds(deletion, out);
  put(out, "taints", m.taints);
  put(out, "minReadySeconds", num(m.minReadySeconds));
  put(out, "readinessGates", m.readinessGates);
  const rollout = obj(m.rollout);
  put(out, "rollout", rolloutAfterOnly(rollout));
  put(out, "strategy", strategyFromHub(obj(rollout?.strategy), nonEmptyStr(deletion?.order), obj(hc?.remediation)?.maxInFlight));
  put(out, "variables", overridesFromHub(m.variables));
  return out;
}

function machinePoolTopologyToHub(m: J): J {
  const out: J = {};
  put(out, "metadata", m.metadata);
  put(out, "class", nonEmptyStr(m.class));
  put(out, "name", nonEmptyStr(m.name));
  put(out, "failureDomains", m.failureDomains);
  const deletion: J = {};
  timeoutsToSeconds(m, deletion);
  put(out, "deletion", orUndef(deletion));
  put(out, "taints", m.taints);
  put(out, "minReadySeconds", num(m.minReadySeconds));
  put(out, "replicas", num(m.replicas));
  put(out, "variables", overridesToHub(m.variables));
  return out;
}

function machinePoolTopologyFromHub(m: J): J {
  const out: J = {};
  put(out, "metadata", m.metadata);
  out.class = str(m.class) ?? "";
  out.name = str(m.name) ?? "";
  put(out, "failureDomains", m.failureDomains);
  timeoutsFromSeconds(obj(m.deletion), out);
  put(out, "taints", m.taints);
  put(out, "minReadySeconds", num(m.minReadySeconds));
  put(out, "replicas", num(m.replicas));
  put(out, "variables", overridesFromHub(m.variables));
  return out;
}

// ---- topology --------------------------------------------------------------------------------

function topologyToHub(t: J): J | undefined {
  const out: J = {};
  const classRef: J = {};
  put(classRef, "name", nonEmptyStr(t.class));
  put(classRef, "namespace", nonEmptyStr(t.classNamespace));
  put(out, "classRef", orUndef(classRef));
  put(out, "version", nonEmptyStr(t.version));
  const cp = obj(t.controlPlane);
  if (cp) put(out, "controlPlane", controlPlaneTopologyToHub(cp));
  const workers = obj(t.workers);
  if (workers) {
    const w: J = {};
    put(w, "machineDeployments", arr(workers.machineDeployments)?.map((m) => machineDeploymentTopologyToHub(obj(m) ?? {})));
    put(w, "machinePools", arr(workers.machinePools)?.map((m) => machinePoolTopologyToHub(obj(m) ?? {})));
    put(out, "workers", orUndef(w));
  }
  put(out, "variables", variablesToHub(t.variables));
  return orUndef(out);
}

function topologyFromHub(t: J, namespace: string | undefined): J {
  const out: J = {};
  const classRef = obj(t.classRef);
  out.class = str(classRef?.name) ?? "";
  put(out, "classNamespace", nonEmptyStr(classRef?.namespace));
  out.version = str(t.version) ?? "";
  const cp = obj(t.controlPlane);
  if (cp && !isGoZero(cp)) out.controlPlane = controlPlaneTopologyFromHub(cp, namespace);
  const workers = obj(t.workers);
  if (workers && !isGoZero(workers)) {
    const w: J = {};
    put(w, "machineDeployments", arr(workers.machineDeployments)?.map((m) => machineDeploymentTopologyFromHub(obj(m) ?? {}, namespace)));
    put(w, "machinePools", arr(workers.machinePools)?.map((m) => machinePoolTopologyFromHub(obj(m) ?? {})));
    out.workers = w;
  }
  put(out, "variables", variablesFromHub(t.variables));
  return out;
}

// ---- spec ------------------------------------------------------------------------------------

function networkRanges(v: unknown): J | undefined {
  const r = obj(v);
  if (!r) return undefined;
  const out: J = {};
  put(out, "cidrBlocks", r.cidrBlocks);
  return out;
}

function clusterNetworkToHub(n: J): J | undefined {
  const out: J = {};
  put(out, "apiServerPort", nonZero(n.apiServerPort));
  put(out, "services", orUndef(networkRanges(n.services) ?? {}));
  put(out, "pods", orUndef(networkRanges(n.pods) ?? {}));
  put(out, "serviceDomain", nonEmptyStr(n.serviceDomain));
  return orUndef(out);
}

function clusterNetworkFromHub(n: J): J | undefined {
  const out: J = {};
  put(out, "apiServerPort", nonZero(n.apiServerPort));
  const services = networkRanges(n.services);
  if (services && !isGoZero(services)) out.services = services;
  const pods = networkRanges(n.pods);
  if (pods && !isGoZero(pods)) out.pods = pods;
  put(out, "serviceDomain", nonEmptyStr(n.serviceDomain));
  return orUndef(out);
}

function specToHub(s: J): J {
  const out: J = {};
  if (s.paused === true) out.paused = true;
  const network = obj(s.clusterNetwork);
  if (network) put(out, "clusterNetwork", clusterNetworkToHub(network));
  const endpoint = obj(s.controlPlaneEndpoint);
  if (endpoint) {
    const e: J = {};
    put(e, "host", nonEmptyStr(endpoint.host));
    put(e, "port", nonZero(endpoint.port));
    put(out, "controlPlaneEndpoint", orUndef(e));
  }
  put(out, "controlPlaneRef", refToContractVersioned(s.controlPlaneRef));
  put(out, "infrastructureRef", refToContractVersioned(s.infrastructureRef));
  const topology = obj(s.topology);
  if (topology) put(out, "topology", topologyToHub(topology));
  put(out, "availabilityGates", s.availabilityGates);
  return out;
}

function specFromHub(h: J, namespace: string | undefined): J {
  const out: J = {};
  if (h.paused === true) out.paused = true;
  const network = obj(h.clusterNetwork);
  if (network) put(out, "clusterNetwork", clusterNetworkFromHub(network));
  const endpoint = obj(h.controlPlaneEndpoint);
  if (endpoint) out.controlPlaneEndpoint = { host: str(endpoint.host) ?? "", port: num(endpoint.port) ?? 0 };
  put(out, "controlPlaneRef", contractVersionedToRef(h.controlPlaneRef, namespace));
  put(out, "infrastructureRef", contractVersionedToRef(h.infrastructureRef, namespace));
  const topology = obj(h.topology);
  if (topology && !isGoZero(topology)) out.topology = topologyFromHub(topology, namespace);
  put(out, "availabilityGates", h.availabilityGates);
  return out;
}

// ---- status ----------------------------------------------------------------------------------

const REPLICA_SUMMARY_KEYS = ["desiredReplicas", "replicas", "upToDateReplicas", "readyReplicas", "availableReplicas", "versions", "upgradePlan"];

function replicaSummary(v: unknown): J | undefined {
  const s = obj(v);
  if (!s) return undefined;
  const out: J = {};
  copyKeys(out, s, REPLICA_SUMMARY_KEYS);
  return out;
}

function failureDomainsToHub(v: unknown): J[] | undefined {
  const map = obj(v);
  if (!map) return undefined;
  const names = Object.keys(map).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (names.length === 0) return undefined;
  return names.map((name) => {
    const fd = obj(map[name]) ?? {};
    const out: J = { name, controlPlane: fd.controlPlane === true };
    put(out, "attributes", fd.attributes);
    return out;
  });
}

function failureDomainsFromHub(v: unknown): J | undefined {
  const list = arr(v);
  if (!list) return undefined;
  const out: J = {};
  for (const item of list) {
    const fd = obj(item) ?? {};
    const spec: J = {};
    if (fd.controlPlane === true) spec.controlPlane = true;
    put(spec, "attributes", fd.attributes);
    out[str(fd.name) ?? ""] = spec;
  }
  return orUndef(out);
}

function statusToHub(s: J): J | undefined {
  const out: J = {};
  const v1beta2 = v1beta2Block(s);
  copyConditions(out, "conditions", v1beta2?.conditions);
  const init: J = {};
  if (s.infrastructureReady === true) init.infrastructureProvisioned = true;
  if (s.controlPlaneReady === true) init.controlPlaneInitialized = true;
  put(out, "initialization", orUndef(init));
  put(out, "controlPlane", replicaSummary(v1beta2?.controlPlane));
  put(out, "workers", replicaSummary(v1beta2?.workers));
  put(out, "failureDomains", failureDomainsToHub(s.failureDomains));
  put(out, "phase", nonEmptyStr(s.phase));
  put(out, "observedGeneration", nonZero(s.observedGeneration));
  const dep: J = {};
  copyConditions(dep, "conditions", s.conditions);
  copyKeys(dep, s, ["failureReason", "failureMessage"]);
  setDeprecatedV1Beta1(out, dep);
  return orUndef(out);
}

function statusFromHub(h: J): J {
  const out: J = {};
  put(out, "failureDomains", failureDomainsFromHub(h.failureDomains));
  const dep = deprecatedV1Beta1(h);
  copyKeys(out, dep, ["failureReason", "failureMessage"]);
  put(out, "phase", nonEmptyStr(h.phase));
  const init = obj(h.initialization);
  out.infrastructureReady = init?.infrastructureProvisioned === true;
  out.controlPlaneReady = init?.controlPlaneInitialized === true;
  copyConditions(out, "conditions", dep?.conditions);
  put(out, "observedGeneration", nonZero(h.observedGeneration));
  const v1beta2: J = {};
  copyConditions(v1beta2, "conditions", h.conditions);
  put(v1beta2, "controlPlane", replicaSummary(h.controlPlane));
  put(v1beta2, "workers", replicaSummary(h.workers));
  setV1Beta2Block(out, v1beta2);
  return out;
}

function toHub(src: KObject): KObject {
  const out = shell(src, HUB_API_VERSION);
  const spec = obj(src.spec);
  if (spec) put(out, "spec", orUndef(specToHub(spec)));
  const status = obj(src.status);
  if (status) put(out, "status", statusToHub(status));
  return out;
}

function fromHub(src: KObject): KObject {
  const out = shell(src, V1BETA1_API_VERSION);
  const spec = obj(src.spec);
  if (spec) out.spec = specFromHub(spec, src.metadata?.namespace);
  const status = obj(src.status);
  if (status) out.status = statusFromHub(status);
  return out;
}

export const clusterV1Beta1: SpokeConversion = {
  version: "v1beta1",
  toHub,
  fromHub,
  marshalHub: "always",
};
