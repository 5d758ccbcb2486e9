/**
 * Machine v1beta1 ⇄ v1beta2 (hub), after upstream `core/webhooks/conversion/machine.go` and
 * `api/core/v1beta1` `Convert_*_Machine{Spec,Status}_*`. The MachineSpec / MachineTemplateSpec
 * helpers are shared with MachineSet and MachineDeployment.
 *
 * spec: `infrastructureRef`, `bootstrap.configRef` ObjectReference ⇄ `{apiGroup, kind, name}`;
 * `nodeDrainTimeout`/`nodeVolumeDetachTimeout`/`nodeDeletionTimeout` ⇄
 * `deletion.{nodeDrain,nodeVolumeDetach,nodeDeletion}TimeoutSeconds`; `version`/`providerID`/
 * `failureDomain` empty strings vanish; `minReadySeconds` is hub-only.
 * status: `bootstrapReady`/`infrastructureReady` ⇄ `initialization.{bootstrapDataSecretCreated,
 * infrastructureProvisioned}` (false ⇒ unset); `nodeRef` ⇄ `{name}`; conditions, `failureReason`,
 * `failureMessage` ⇄ `deprecated.v1beta1`; `v1beta2.conditions` ⇄ `conditions`; phase `Updating`
 * reads `Running` in v1beta1; `failureDomain` is hub-only.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { copyConditions, deprecatedV1Beta1, setDeprecatedV1Beta1, setV1Beta2Block, v1beta2Block } from "./conditions.ts";
import { durationToSeconds, secondsToDuration } from "./durations.ts";
import type { SpokeConversion } from "./hub.ts";
import { contractVersionedToRef, nodeRefFromHub, nodeRefToHub, refToContractVersioned } from "./refs.ts";
import { clone, copyKeys, type J, nonEmptyStr, num, obj, orUndef, put, str } from "./util.ts";

export const CLUSTER_GROUP = "cluster.x-k8s.io";
export const HUB_VERSION = "v1beta2";
export const HUB_API_VERSION = `${CLUSTER_GROUP}/${HUB_VERSION}`;
export const V1BETA1_API_VERSION = `${CLUSTER_GROUP}/v1beta1`;

/** The parts of a conversion every kind shares: metadata is carried over untouched. */
export function shell(src: KObject, apiVersion: string): KObject {
  const out: KObject = { apiVersion, kind: src.kind, metadata: clone(src.metadata ?? {}) };
  if (out.kind === undefined) delete out.kind;
  return out;
}

/** Go `omitempty` on an int: zero and absent both vanish. */
export function nonZero(v: unknown): number | undefined {
  const n = num(v);
  return n === undefined || n === 0 ? undefined : n;
}

const DELETION_TIMEOUTS = [
  ["nodeDrainTimeout", "nodeDrainTimeoutSeconds"],
  ["nodeVolumeDetachTimeout", "nodeVolumeDetachTimeoutSeconds"],
  ["nodeDeletionTimeout", "nodeDeletionTimeoutSeconds"],
] as const;

/** v1beta1 `node*Timeout` durations on `s` → v1beta2 `*Seconds` fields written to `deletion`. */
export function timeoutsToSeconds(s: J, deletion: J): void {
  for (const [from, to] of DELETION_TIMEOUTS) put(deletion, to, durationToSeconds(s[from]));
}

/** v1beta2 `deletion.*Seconds` → v1beta1 `node*Timeout` durations written to `out`. */
export function timeoutsFromSeconds(deletion: J | undefined, out: J): void {
  for (const [to, from] of DELETION_TIMEOUTS) put(out, to, secondsToDuration(deletion?.[from]));
}

export function machineSpecToHub(s: J): J {
  const out: J = {};
  put(out, "clusterName", nonEmptyStr(s.clusterName));
  const bootstrap = obj(s.bootstrap);
  if (bootstrap) {
    const b: J = {};
    put(b, "configRef", refToContractVersioned(bootstrap.configRef));
    put(b, "dataSecretName", str(bootstrap.dataSecretName));
    put(out, "bootstrap", orUndef(b));
  }
  put(out, "infrastructureRef", refToContractVersioned(s.infrastructureRef));
  put(out, "version", nonEmptyStr(s.version));
  put(out, "providerID", nonEmptyStr(s.providerID));
  put(out, "failureDomain", nonEmptyStr(s.failureDomain));
  put(out, "readinessGates", s.readinessGates);
  const deletion: J = {};
  timeoutsToSeconds(s, deletion);
  put(out, "deletion", orUndef(deletion));
  put(out, "taints", s.taints);
  return out;
}

export function machineSpecFromHub(h: J, namespace: string | undefined): J {
  const out: J = {};
  out.clusterName = str(h.clusterName) ?? "";
  const bootstrap = obj(h.bootstrap);
  const b: J = {};
  put(b, "configRef", contractVersionedToRef(bootstrap?.configRef, namespace));
  put(b, "dataSecretName", str(bootstrap?.dataSecretName));
  out.bootstrap = b;
  out.infrastructureRef = contractVersionedToRef(h.infrastructureRef, namespace) ?? {};
  put(out, "version", nonEmptyStr(h.version));
  put(out, "providerID", nonEmptyStr(h.providerID));
  put(out, "failureDomain", nonEmptyStr(h.failureDomain));
  put(out, "readinessGates", h.readinessGates);
  timeoutsFromSeconds(obj(h.deletion), out);
  put(out, "taints", h.taints);
  return out;
}

/** v1beta1 MachineTemplateSpec → v1beta2 (metadata copied, spec converted). */
export function machineTemplateToHub(t: J): J {
  const out: J = {};
  put(out, "metadata", t.metadata);
  const spec = obj(t.spec);
  if (spec) put(out, "spec", orUndef(machineSpecToHub(spec)));
  return out;
}

export function machineTemplateFromHub(t: J, namespace: string | undefined): J {
  const out: J = {};
  put(out, "metadata", t.metadata);
  const spec = obj(t.spec);
  if (spec) out.spec = machineSpecFromHub(spec, namespace);
  return out;
}

const DELETION_STATUS_TIMES = [
  "nodeDrainStartTime",
  "waitForNodeVolumeDetachStartTime",
  "waitForPreDrainHookStartTime",
  "waitForPreTerminateHookStartTime",
];

function deletionStatus(d: unknown): J | undefined {
  const del = obj(d);
  if (!del) return undefined;
  const out: J = {};
  for (const k of DELETION_STATUS_TIMES) put(out, k, nonEmptyStr(del[k]));
  return out;
}

function machineStatusToHub(s: J): J | undefined {
  const out: J = {};
  copyConditions(out, "conditions", v1beta2Block(s)?.conditions);
  const init: J = {};
  if (s.infrastructureReady === true) init.infrastructureProvisioned = true;
  if (s.bootstrapReady === true) init.bootstrapDataSecretCreated = true;
  put(out, "initialization", orUndef(init));
  put(out, "nodeRef", nodeRefToHub(s.nodeRef));
  put(out, "nodeInfo", s.nodeInfo);
  put(out, "lastUpdated", nonEmptyStr(s.lastUpdated));
  put(out, "addresses", s.addresses);
  put(out, "phase", nonEmptyStr(s.phase));
  put(out, "certificatesExpiryDate", nonEmptyStr(s.certificatesExpiryDate));
  put(out, "observedGeneration", nonZero(s.observedGeneration));
  put(out, "deletion", deletionStatus(s.deletion));
  const dep: J = {};
  copyConditions(dep, "conditions", s.conditions);
  copyKeys(dep, s, ["failureReason", "failureMessage"]);
  setDeprecatedV1Beta1(out, dep);
  return orUndef(out);
}

function machineStatusFromHub(h: J): J {
  const out: J = {};
  put(out, "nodeRef", nodeRefFromHub(h.nodeRef));
  put(out, "nodeInfo", h.nodeInfo);
  put(out, "lastUpdated", nonEmptyStr(h.lastUpdated));
  const dep = deprecatedV1Beta1(h);
  copyKeys(out, dep, ["failureReason", "failureMessage"]);
  put(out, "addresses", h.addresses);
  const phase = nonEmptyStr(h.phase);
  put(out, "phase", phase === "Updating" ? "Running" : phase);
  put(out, "certificatesExpiryDate", nonEmptyStr(h.certificatesExpiryDate));
  const init = obj(h.initialization);
  out.bootstrapReady = init?.bootstrapDataSecretCreated === true;
  out.infrastructureReady = init?.infrastructureProvisioned === true;
  put(out, "observedGeneration", nonZero(h.observedGeneration));
  copyConditions(out, "conditions", dep?.conditions);
  put(out, "deletion", deletionStatus(h.deletion));
  const v1beta2: J = {};
  copyConditions(v1beta2, "conditions", h.conditions);
  setV1Beta2Block(out, v1beta2);
  return out;
}

function machineToHub(src: KObject): KObject {
  const out = shell(src, HUB_API_VERSION);
  const spec = obj(src.spec);
  if (spec) put(out, "spec", orUndef(machineSpecToHub(spec)));
  const status = obj(src.status);
  if (status) put(out, "status", machineStatusToHub(status));
  return out;
}

function machineFromHub(src: KObject): KObject {
  const out = shell(src, V1BETA1_API_VERSION);
  const spec = obj(src.spec);
  if (spec) out.spec = machineSpecFromHub(spec, src.metadata?.namespace);
  const status = obj(src.status);
  if (status) out.status = machineStatusFromHub(status);
  return out;
}

export const machineV1Beta1: SpokeConversion = {
  version: "v1beta1",
  toHub: machineToHub,
  fromHub: machineFromHub,
  marshalHub: "always",
};
