/**
 * The Machine's first phases (upstream `machine_controller.go` reconcileMachineOwnerAndLabels and
 * `machine_controller_phases.go`): owner and labels, the BootstrapConfig, the InfraMachine and
 * the certificates expiry date. Provider objects are read only through the contract (contract.ts).
 * @module
 */
import type { KObject, OwnerReference } from "../../lib/kobject.ts";
import { setV1Beta1Condition, type V1Beta1Condition } from "../../runtime/conditions.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import {
  CAPI_GROUP,
  CAPI_VERSION,
  CLUSTER_NAME_LABEL,
  dataSecretName,
  getRef,
  groupOf,
  isDataSecretCreated,
  isProvisioned,
  refApiVersion,
  type ContractRef,
} from "./contract.ts";
import {
  CERTIFICATES_EXPIRY_ANNOTATION,
  MACHINE_CONTROL_PLANE_NAME_LABEL,
  MACHINE_POOL_NAME_LABEL,
  MACHINE_SET_NAME_LABEL,
  isControlPlaneMachine,
  machineSpec,
  machineStatus,
} from "./machine-api.ts";
import type { MachineScope, PhaseResult } from "./machine-scope.ts";
import { cloneData } from "../../lib/clone.ts";

/** Always sets the cluster-name label; a stand-alone Machine gets an owner reference to its Cluster. */
export function reconcileOwnerAndLabels(s: MachineScope): PhaseResult {
  const m = s.machine;
  if (s.cluster && shouldAdopt(m)) {
    (m.metadata.ownerReferences ??= []).push({ apiVersion: CAPI_VERSION, kind: "Cluster", name: s.cluster.metadata.name!, uid: s.cluster.metadata.uid! });
  }
  (m.metadata.labels ??= {})[CLUSTER_NAME_LABEL] = machineSpec(m).clusterName;
  return {};
}

/** Stand-alone: no controller, no Cluster owner, and not created by a MachineSet, MachinePool or control plane. */
function shouldAdopt(m: KObject): boolean {
  const refs = m.metadata.ownerReferences ?? [];
  if (refs.some((r) => r.controller)) return false;
  if (refs.some((r) => r.kind === "Cluster" && r.apiVersion === CAPI_VERSION)) return false;
  const labels = m.metadata.labels ?? {};
  return !(MACHINE_SET_NAME_LABEL in labels || MACHINE_POOL_NAME_LABEL in labels || MACHINE_CONTROL_PLANE_NAME_LABEL in labels);
}

/** The control plane's group/kind when this is a control-plane Machine of a Cluster with a controlPlaneRef. */
function controlPlaneGroupKind(s: MachineScope): { group: string; kind: string } | undefined {
  if (!isControlPlaneMachine(s.machine)) return undefined;
  const ref = (s.cluster?.spec as { controlPlaneRef?: ContractRef } | undefined)?.controlPlaneRef;
  return ref?.kind ? { group: ref.apiGroup, kind: ref.kind } : undefined;
}

/** Owner references set at creation by a MachineSet or the control plane, replaced by the Machine's. */
function isOnCreateOwner(r: OwnerReference, cp: { group: string; kind: string } | undefined): boolean {
  const g = groupOf(r.apiVersion);
  return (g === CAPI_GROUP && r.kind === "MachineSet") || (cp !== undefined && g === cp.group && r.kind === cp.kind);
}

/**
 * Gets the referenced object, watches its kind, and makes the Machine its only controller owner
 * (dropping MachineSet/control-plane owners) with the cluster-name label. undefined: not found.
 */
async function ensureExternalOwnership(s: MachineScope, ref: ContractRef): Promise<KObject | undefined> {
  const m = s.machine;
  const ns = m.metadata.namespace!;
  s.external.watch(s.client, ref);
  const obj = getRef(s.client, ref, ns);
  if (!obj) return undefined;
  const cp = controlPlaneGroupKind(s);
  const refs = obj.metadata.ownerReferences ?? [];
  const clusterName = machineSpec(m).clusterName;
  const exact = refs.some((r) => r.apiVersion === CAPI_VERSION && r.kind === "Machine" && r.name === m.metadata.name && r.uid === m.metadata.uid && r.controller === true);
  if (!refs.some((r) => isOnCreateOwner(r, cp)) && exact && obj.metadata.labels?.[CLUSTER_NAME_LABEL] === clusterName) return obj;

  const after = cloneData(obj);
  let next = (after.metadata.ownerReferences ?? []).filter((r) => !isOnCreateOwner(r, cp));
  const other = next.find((r) => r.controller && !(groupOf(r.apiVersion) === CAPI_GROUP && r.kind === "Machine" && r.name === m.metadata.name));
  if (other) {
    throw new Error(`${obj.kind} ${ns}/${obj.metadata.name} is already controlled by ${other.kind} ${other.name}`);
  }
  const mine: OwnerReference = { apiVersion: CAPI_VERSION, kind: "Machine", name: m.metadata.name!, uid: m.metadata.uid!, controller: true, blockOwnerDeletion: true };
  const i = next.findIndex((r) => groupOf(r.apiVersion) === CAPI_GROUP && r.kind === "Machine" && r.name === m.metadata.name);
  if (i >= 0) next[i] = mine;
  else next = [...next, mine];
  after.metadata.ownerReferences = next;
  (after.metadata.labels ??= {})[CLUSTER_NAME_LABEL] = clusterName;
  const { object } = await patchObject(s.client, obj, after);
  return object;
}

/** v1beta1 contract: `status.failureReason/failureMessage` mirrored into status.deprecated.v1beta1. */
function mirrorFailures(s: MachineScope, obj: KObject): void {
  const st = (obj.status ?? {}) as { failureReason?: string; failureMessage?: string };
  if (!st.failureReason && !st.failureMessage) return;
  const v1 = ((machineStatus(s.machine).deprecated ??= {}).v1beta1 ??= {});
  if (st.failureReason) v1.failureReason = st.failureReason;
  if (st.failureMessage) {
    const [group, version] = obj.apiVersion!.includes("/") ? obj.apiVersion!.split("/") : ["", obj.apiVersion!];
    v1.failureMessage = `Failure detected from referenced resource ${group}/${version}, Kind=${obj.kind} with name "${obj.metadata.name}": ${st.failureMessage}`;
  }
}

/** A provider object's Ready condition (v1beta2 `status.conditions`, or the v1beta1 one). */
export function providerReady(obj: KObject): { status: string; reason?: string; message?: string; severity?: string } | undefined {
  const st = (obj.status ?? {}) as { conditions?: { type: string; status: string; reason?: string; message?: string; severity?: string }[] };
  const c = st.conditions?.find((x) => x.type === "Ready");
  if (!c || !["True", "False", "Unknown"].includes(c.status)) return undefined;
  return c;
}

/** The v1beta1 mirror of a provider's Ready condition, or a fallback from the contract field. */
function setV1Beta1Mirror(s: MachineScope, type: string, obj: KObject, ok: boolean, waitingReason: string): void {
  const ready = providerReady(obj);
  const deleting = Boolean(s.machine.metadata.deletionTimestamp);
  const c: Omit<V1Beta1Condition, "lastTransitionTime"> = ready
    ? {
        type,
        status: ready.status as V1Beta1Condition["status"],
        ...(ready.status !== "True" ? { severity: (ready.severity as V1Beta1Condition["severity"]) || "Info" } : {}),
        ...(ready.reason ? { reason: ready.reason } : {}),
        ...(ready.message ? { message: ready.message } : {}),
      }
    : ok
      ? { type, status: "True" }
      : { type, status: "False", severity: "Info", reason: deleting ? "Deleting" : waitingReason };
  setV1Beta1Condition(s.machine, c);
}

export async function reconcileBootstrap(s: MachineScope): Promise<PhaseResult> {
  const m = s.machine;
  const spec = machineSpec(m);
  const ref = spec.bootstrap?.configRef;
  if (!ref?.kind) return {};
  const obj = await ensureExternalOwnership(s, ref);
  if (!obj) {
    s.bootstrapConfigNotFound = true;
    if (m.metadata.deletionTimestamp) return {};
    s.log.info({ kind: ref.kind, name: ref.name, served: Boolean(refApiVersion(s.client, ref)) }, "could not find bootstrap config object, requeuing");
    return { requeueAfter: s.opts.externalReadyWaitMs };
  }
  s.bootstrapConfig = obj;
  mirrorFailures(s, obj);
  if (spec.bootstrap?.dataSecretName) {
    (machineStatus(m).initialization ??= {}).bootstrapDataSecretCreated = true;
    setV1Beta1Condition(m, { type: "BootstrapReady", status: "True" });
    return {};
  }
  const created = isDataSecretCreated(obj);
  setV1Beta1Mirror(s, "BootstrapReady", obj, created, "WaitingForDataSecret");
  if (obj.metadata.deletionTimestamp) return {};
  if (!created) return {};
  const secret = dataSecretName(obj);
  if (!secret) throw new Error(`got empty status.dataSecretName field from ${obj.kind} ${m.metadata.namespace}/${obj.metadata.name}`);
  spec.bootstrap!.dataSecretName = secret;
  // what the next reconcile would write now that dataSecretName is set (one status write, not two)
  setV1Beta1Condition(m, { type: "BootstrapReady", status: "True" });
  const init = (machineStatus(m).initialization ??= {});
  if (!init.bootstrapDataSecretCreated) s.log.info({ kind: obj.kind, name: obj.metadata.name, secret }, "bootstrap provider generated data secret");
  init.bootstrapDataSecretCreated = true;
  return {};
}

export async function reconcileInfrastructure(s: MachineScope): Promise<PhaseResult> {
  const m = s.machine;
  const spec = machineSpec(m);
  const status = machineStatus(m);
  const init = status.initialization ?? {};
  const ref = spec.infrastructureRef;
  const obj = ref?.kind ? await ensureExternalOwnership(s, ref) : undefined;
  if (!obj) {
    s.infraMachineNotFound = true;
    if (m.metadata.deletionTimestamp) return {};
    if (init.infrastructureProvisioned) {
      const v1 = ((status.deprecated ??= {}).v1beta1 ??= {});
      v1.failureReason = "InvalidConfiguration";
      v1.failureMessage = `Machine infrastructure resource ${ref?.kind} ${m.metadata.namespace}/${ref?.name} has been deleted after provisioning was completed`;
      throw new Error(`could not find ${ref?.kind} ${m.metadata.namespace}/${ref?.name} for Machine ${m.metadata.namespace}/${m.metadata.name}`);
    }
    s.log.info({ kind: ref?.kind, name: ref?.name }, "could not find InfrastructureMachine, requeuing");
    return { requeueAfter: s.opts.externalReadyWaitMs };
  }
  s.infraMachine = obj;
  mirrorFailures(s, obj);
  const provisioned = isProvisioned(obj);
  if (provisioned && !init.infrastructureProvisioned) s.log.info({ kind: obj.kind, name: obj.metadata.name }, "infrastructure provider has completed provisioning");
  setV1Beta1Mirror(s, "InfrastructureReady", obj, provisioned, "WaitingForInfrastructure");
  if (obj.metadata.deletionTimestamp) return {};
  if (!provisioned && !init.infrastructureProvisioned) return {};

  const infraSpec = (obj.spec ?? {}) as { providerID?: string; failureDomain?: string };
  const infraStatus = (obj.status ?? {}) as { addresses?: { type: string; address: string }[]; failureDomain?: string };
  if (!infraSpec.providerID) {
    // A change of the InfraMachine triggers the next reconcile.
    s.log.info({ kind: obj.kind, name: obj.metadata.name }, "waiting for infrastructure provider to set spec.providerID");
    return {};
  }
  if (Array.isArray(infraStatus.addresses)) status.addresses = cloneData(infraStatus.addresses);
  if (infraSpec.failureDomain !== undefined) {
    if (infraSpec.failureDomain) spec.failureDomain = infraSpec.failureDomain;
    else delete spec.failureDomain;
  }
  if (infraStatus.failureDomain !== undefined) {
    if (infraStatus.failureDomain) status.failureDomain = infraStatus.failureDomain;
    else delete status.failureDomain;
  }
  spec.providerID = infraSpec.providerID;
  (status.initialization ??= {}).infrastructureProvisioned = true;
  return {};
}

/** Control-plane Machines: the certificates expiry date from the Machine's or its BootstrapConfig's annotation. */
export function reconcileCertificateExpiry(s: MachineScope): PhaseResult {
  const m = s.machine;
  if (!isControlPlaneMachine(m)) return {};
  const status = machineStatus(m);
  const fromMachine = m.metadata.annotations?.[CERTIFICATES_EXPIRY_ANNOTATION];
  const fromConfig = s.bootstrapConfig?.metadata.annotations?.[CERTIFICATES_EXPIRY_ANNOTATION];
  const value = fromMachine ?? fromConfig;
  if (value === undefined) {
    delete status.certificatesExpiryDate;
    return {};
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw new Error(`failed to reconcile certificates expiry: failed to parse expiry date from annotation on ${fromMachine !== undefined ? m.metadata.name : s.bootstrapConfig?.metadata.name}`);
  }
  status.certificatesExpiryDate = `${new Date(t).toISOString().slice(0, 19)}Z`;
  return {};
}
