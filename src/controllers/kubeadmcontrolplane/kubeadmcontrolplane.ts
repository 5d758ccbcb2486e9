/**
 * The KubeadmControlPlane controller (upstream `controlplane/kubeadm/internal/controllers/`), one
 * step per reconcile (see kcp-plan.ts): the cluster certificates (`<cluster>-ca`, `-etcd`,
 * `-proxy`, `-sa`, owned by the KCP, as NewCertificatesForInitialControlPlane + LookupOrGenerate);
 * control-plane machines one at a time, each after the previous has its Node; scale down and
 * rollouts (version, kubeadmConfigSpec, infrastructure template, `rollout.after`; maxSurge 0|1);
 * `<cluster>-kubeconfig` as soon as the endpoint is known (upstream reconcileKubeconfig); status counters and conditions (v1beta2 and the
 * deprecated v1beta1 ones).
 *
 * Removing a machine: it is marked {@link LEAVING_ANNOTATION} first (a restart finishes the
 * removal), then etcd leadership moves to the newest other machine, its etcd member is removed,
 * and only then is the Machine deleted. Without an etcd client for the cluster the removal stops
 * before the delete and `ScalingDown` says why; with external etcd there is no member to remove.
 * Machines deleted any other way are held by the kcp-cleanup pre-terminate hook until their member
 * is removed (kcp-cleanup-hook.ts); unhealthy machines are remediated first (kcp-remediation.ts).
 *
 * `initialization.controlPlaneInitialized` becomes true (and stays) once the workload cluster's
 * kube-system/kubeadm-config ConfigMap exists, as upstream decides it (see workload-init.ts); without
 * workload access (unit tests), a machine with a Node stands for it.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { EncryptionAlgorithm } from "../../providers/kubeadm/certificates.ts";
import type { Client } from "../../runtime/client.ts";
import { setCondition, setV1Beta1Condition, type Condition, type ConditionStatus, type V1Beta1Condition } from "../../runtime/conditions.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import { CAPI_VERSION, clusterInfrastructureProvisioned, clusterOfControlPlane, controlPlaneOfCluster, endpointValid, isPaused } from "../core/contract.ts";
import { lookupOrGenerateCertificates } from "../kubeadm/cluster-certificates.ts";
import { ensureControlPlaneKubeconfig } from "../talos/tcp-kubeconfig.ts";
import type { EtcdMachine, EtcdMembershipFor } from "./etcd.ts";
import { CONTROL_PLANE_NAME_LABEL, createControlPlaneMachine, KCP_VERSION, outdatedReason, selectorString, type KcpSpec } from "./kcp-machines.ts";
import { plan, resolveMaxSurge, type Action, type MachineView } from "./kcp-plan.ts";
import { reconcileCleanupHook } from "./kcp-cleanup-hook.ts";
import { REMEDIATION_IN_PROGRESS_ANNOTATION, reconcileUnhealthyMachines, setRemediationStatus } from "./kcp-remediation.ts";
import { noInitProbe, type KubeadmInitProbe } from "./workload-init.ts";
import { cloneData } from "../../lib/clone.ts";

export const LEAVING_ANNOTATION = "controlplane.capx.dev/etcd-leaving";

export interface KcpControllerEnv {
  /** etcd access per workload cluster; without one, scale-down stops before deleting a Machine. */
  etcd: EtcdMembershipFor;
  /** Has kubeadm init run in the workload cluster (default: a machine with a Node stands for it). */
  initProbe?: KubeadmInitProbe;
  /** Written into the cluster kubeconfig as `proxy-url` (lab mode). */
  labProxyUrl?: string;
  /** Re-check interval while waiting on machines (default 10s). */
  requeueMs?: number;
}

interface KcpStatus {
  selector?: string;
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  upToDateReplicas?: number;
  version?: string;
  observedGeneration?: number;
  initialization?: { controlPlaneInitialized?: boolean };
  deprecated?: { v1beta1?: { readyReplicas?: number; updatedReplicas?: number; unavailableReplicas?: number; conditions?: V1Beta1Condition[] } };
}

export function setupKubeadmControlPlaneController(m: Manager, env: KcpControllerEnv): Controller | undefined {
  const kcps = m.informers.forKind(KCP_VERSION, "KubeadmControlPlane");
  if (!kcps) return undefined;
  const client = m.client("kubeadmcontrolplane-controller");
  const recorder = m.recorder("kubeadmcontrolplane-controller");
  const c = new Controller("kubeadmcontrolplane", (req, ctx) => reconcile(client, recorder, env, req, ctx), 4);
  c.watchFor(kcps);
  const machines = m.informers.forKind(CAPI_VERSION, "Machine");
  if (machines) c.watchOwned(machines, { group: "controlplane.cluster.x-k8s.io", kind: "KubeadmControlPlane" });
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (clusters) {
    c.watchMapped(clusters, controlPlaneOfCluster("KubeadmControlPlane"));
  }
  m.add(c);
  return c;
}



const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

function nodeName(machine: KObject): string | undefined {
  return (machine.status as { nodeRef?: { name?: string } } | undefined)?.nodeRef?.name;
}

/** Ready as the KCP counts it: the machine has a Node and its Ready condition (if any) is not False. */
function machineReady(machine: KObject): boolean {
  if (!nodeName(machine)) return false;
  const ready = ((machine.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === "Ready");
  return ready?.status !== "False";
}

function etcdMachine(machine: KObject): EtcdMachine {
  const addrs = ((machine.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).filter((a) => a.address);
  const address = (addrs.find((a) => a.type === "InternalIP") ?? addrs.find((a) => a.type === "ExternalIP"))?.address;
  return { machine: machine.metadata.name!, ...(nodeName(machine) ? { nodeName: nodeName(machine) } : {}), ...(address ? { address } : {}) };
}

function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, "").split(/[.+-]/).map((x) => Number(x) || 0);
  const pb = b.replace(/^v/, "").split(/[.+-]/).map((x) => Number(x) || 0);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

type CondSet = (type: string, status: ConditionStatus, reason: string, message?: string, v1?: Omit<V1Beta1Condition, "type" | "lastTransitionTime">) => void;

async function reconcile(client: Client, recorder: EventRecorder, env: KcpControllerEnv, req: Request, ctx: ReconcileContext): Promise<Result | void> {
  const requeueMs = env.requeueMs ?? 10_000;
  const current = client.get({ apiVersion: KCP_VERSION, kind: "KubeadmControlPlane", namespace: req.namespace, name: req.name });
  if (!current || current.metadata.deletionTimestamp) return;
  const cluster = clusterOfControlPlane(client, current);
  if (!cluster) {
    ctx.log.debug({}, "waiting for the owner Cluster");
    return;
  }
  if (isPaused(cluster, current)) return;
  const ns = current.metadata.namespace!;
  const clusterName = cluster.metadata.name!;
  const kcp = cloneData(current);
  const spec = (kcp.spec ?? {}) as KcpSpec;
  const status = (kcp.status ??= {}) as KcpStatus;
  const cond: CondSet = (type, st, reason, message = "", v1) => {
    setCondition(kcp, { type, status: st, reason, message });
    if (v1) {
      const c: Omit<V1Beta1Condition, "lastTransitionTime"> = { type, ...v1 };
      for (const k of ["reason", "message", "severity"] as const) if (!c[k]) delete c[k];
      setV1Beta1Condition(kcp, c);
    }
  };
  status.selector = selectorString(clusterName);
  status.observedGeneration = kcp.metadata.generation;
  cond("Paused", "False", "NotPaused");
  cond("Deleting", "False", "NotDeleting");
  const save = () => patchObject(client, current, kcp);

  if (!clusterInfrastructureProvisioned(cluster)) {
    cond("Available", "False", "NotAvailable", "Waiting for Cluster infrastructure", { status: "False", severity: "Info", reason: "WaitingForClusterInfrastructure" });
    await save();
    return;
  }
  const cc = spec.kubeadmConfigSpec?.clusterConfiguration ?? {};
  try {
    await lookupOrGenerateCertificates(client, cluster, kcp, { algorithm: cc.encryptionAlgorithm as EncryptionAlgorithm | undefined, validityDays: cc.caCertificateValidityPeriodDays });
    cond("CertificatesAvailable", "True", "Available", "", { status: "True" });
  } catch (e) {
    cond("CertificatesAvailable", "Unknown", "InternalError", "Please check controller logs for errors", { status: "False", severity: "Warning", reason: "CertificatesGenerationFailed", message: msg(e) });
    await save();
    throw e;
  }
  if (!endpointValid((cluster.spec as { controlPlaneEndpoint?: { host?: string; port?: number } }).controlPlaneEndpoint)) {
    ctx.log.debug({}, "waiting for the control-plane endpoint");
    await save();
    return { requeueAfter: requeueMs };
  }
  const why = await ensureControlPlaneKubeconfig(client, cluster, env.labProxyUrl);
  if (why) recorder.normal(cluster, "KubeconfigGenerated", `wrote Secret ${clusterName}-kubeconfig (${why})`);

  const listMachines = () =>
    client
      .list(CAPI_VERSION, "Machine", ns, { labelSelector: `${CONTROL_PLANE_NAME_LABEL}=${kcp.metadata.name}` })
      .filter((mm) => mm.metadata.ownerReferences?.some((r) => r.uid === kcp.metadata.uid));
  let machines = listMachines();
  // Deleting machines leave etcd through the kcp-cleanup hook; then unhealthy ones are remediated.
  const externalEtcd = Boolean((spec.kubeadmConfigSpec?.clusterConfiguration as { etcd?: { external?: unknown } } | undefined)?.etcd?.external);
  const etcdAccess = externalEtcd ? undefined : env.etcd(cluster);
  const hookRequeue = await reconcileCleanupHook({ client, recorder, kcp, machines, externalEtcd, etcd: etcdAccess, log: ctx.log });
  const remediationInput = { client, recorder, kcp, machines, initialized: status.initialization?.controlPlaneInitialized === true, externalEtcd, etcd: etcdAccess, log: ctx.log };
  if (await reconcileUnhealthyMachines(remediationInput)) machines = listMachines();
  const now = Date.now();
  const outdatedWhy = new Map(machines.map((mm) => [mm.metadata.name!, outdatedReason(client, spec, mm, now)]));
  await setMachinesUpToDate(client, machines, outdatedWhy);
  const views: MachineView[] = machines.map((mm) => ({
    name: mm.metadata.name!,
    created: Date.parse(mm.metadata.creationTimestamp ?? "") || 0,
    ready: machineReady(mm),
    upToDate: outdatedWhy.get(mm.metadata.name!) === undefined,
    deleting: Boolean(mm.metadata.deletionTimestamp),
    leaving: LEAVING_ANNOTATION in (mm.metadata.annotations ?? {}),
    failureDomain: (mm.spec as { failureDomain?: string }).failureDomain,
    annotations: mm.metadata.annotations,
  }));
  const replicas = spec.replicas ?? 1;
  const action: Action = plan({ replicas, maxSurge: resolveMaxSurge(spec.rollout?.strategy?.rollingUpdate?.maxSurge, replicas), machines: views });

  let requeue: number | undefined;
  let blocked: string | undefined;
  switch (action.kind) {
    case "create": {
      const name = await createControlPlaneMachine(client, kcp, cluster, machines, action.init);
      // The replacement exists: the remediation is complete (its data went to the new machine).
      delete kcp.metadata.annotations?.[REMEDIATION_IN_PROGRESS_ANNOTATION];
      recorder.normal(kcp, "SuccessfulCreate", `created control-plane machine ${name} (${action.reason})`);
      ctx.log.info({ machine: name, reason: action.reason }, "created control-plane machine");
      break;
    }
    case "scaleDown":
      blocked = await removeMachine(client, recorder, env, cluster, kcp, machines, action.machine, ctx);
      if (blocked) requeue = requeueMs;
      break;
    case "wait":
      ctx.log.debug({ reason: action.reason }, "waiting");
      requeue = requeueMs;
      break;
    case "none":
      break;
  }

  // ---- status ----
  if (hookRequeue !== undefined) requeue = Math.min(requeue ?? hookRequeue, hookRequeue, requeueMs);
  setRemediationStatus(kcp, listMachines()); // with the OwnerRemediated conditions just written
  const live = views.filter((v) => !v.deleting);
  const ready = views.filter((v) => v.ready).length;
  const upToDate = views.filter((v) => v.upToDate).length;
  status.replicas = views.length;
  status.readyReplicas = ready;
  status.availableReplicas = ready;
  status.upToDateReplicas = upToDate;
  const versions = machines.map((mm) => (mm.spec as { version?: string }).version).filter((v): v is string => Boolean(v)).sort(compareVersions);
  if (versions.length) status.version = versions[0];
  else delete status.version;
  const v1 = ((status.deprecated ??= {}).v1beta1 ??= {});
  v1.readyReplicas = ready;
  v1.updatedReplicas = upToDate;
  v1.unavailableReplicas = Math.max(0, views.length - ready);
  let initialized = status.initialization?.controlPlaneInitialized === true;
  if (!initialized && machines.length) {
    const probe = env.initProbe ?? noInitProbe;
    const seen = await probe(cluster);
    if (typeof seen === "string") {
      initialized = !env.initProbe && machines.some((mm) => nodeName(mm));
      if (!initialized) ctx.log.debug({ reason: seen }, "kubeadm-config not read");
    } else initialized = seen;
    if (!initialized) requeue ??= Math.min(requeueMs, 2_000);
  }
  if (initialized) (status.initialization ??= {}).controlPlaneInitialized = true;
  cond("Initialized", initialized ? "True" : "False", initialized ? "Initialized" : "NotInitialized", initialized ? "" : "Control plane not yet initialized");
  const available = initialized && ready > 0 && ready > live.length / 2;
  cond("Available", available ? "True" : "False", available ? "Available" : "NotAvailable", available ? "" : initialized ? "Not enough ready control-plane machines for etcd quorum" : "Control plane not yet initialized", available ? { status: "True" } : { status: "False", severity: "Info", reason: "WaitingForKubeadmInit" });
  cond("MachinesCreated", "True", "MachinesCreated", "", views.length ? { status: "True" } : undefined);
  const notReady = views.filter((v) => !v.ready).map((v) => v.name).sort();
  if (!views.length) cond("MachinesReady", "True", "NoReplicas");
  else cond("MachinesReady", notReady.length ? "False" : "True", notReady.length ? "NotReady" : "Ready", notReady.length ? `Machines ${notReady.join(", ")} not ready` : "", notReady.length ? { status: "False", severity: "Info", reason: "WaitingForNode" } : { status: "True" });
  const outdated = views.filter((v) => !v.upToDate).map((v) => v.name).sort();
  if (!views.length) cond("MachinesUpToDate", "True", "NoReplicas");
  else cond("MachinesUpToDate", outdated.length ? "False" : "True", outdated.length ? "NotUpToDate" : "UpToDate", outdated.length ? `Machines ${outdated.join(", ")} not up-to-date` : "", outdated.length ? { status: "False", severity: "Warning", reason: "RollingUpdateInProgress", message: `Rolling ${outdated.length} replicas with outdated spec` } : { status: "True" });
  cond("RollingOut", outdated.length ? "True" : "False", outdated.length ? "RollingOut" : "NotRollingOut", outdated.length ? `Rolling out ${outdated.length} not up-to-date replicas` : "");
  const up = live.length < replicas;
  const down = live.length > replicas || views.some((v) => v.deleting || v.leaving);
  cond("ScalingUp", up ? "True" : "False", up ? "ScalingUp" : "NotScalingUp", up ? `Scaling up from ${live.length} to ${replicas} replicas` : "");
  cond("ScalingDown", down ? "True" : "False", down ? "ScalingDown" : "NotScalingDown", down ? `Scaling down from ${live.length} to ${replicas} replicas${blocked ? `; ${blocked}` : ""}` : "");
  if (up || down) setV1Beta1Condition(kcp, { type: "Resized", status: "False", severity: blocked ? "Warning" : "Info", reason: up ? "ScalingUp" : "ScalingDown", message: blocked ?? `Scaling to ${replicas} replicas (actual ${live.length})` });
  else setV1Beta1Condition(kcp, { type: "Resized", status: "True" });
  const settled = action.kind === "none" && available && !outdated.length;
  setV1Beta1Condition(kcp, settled ? { type: "Ready", status: "True" } : { type: "Ready", status: "False", severity: "Info", reason: action.kind === "wait" ? "Waiting" : "Reconciling", message: "reason" in action ? action.reason : "" });
  await save();
  if (requeue !== undefined) return { requeueAfter: requeue };
  if (action.kind !== "none") return { requeueAfter: Math.min(requeueMs, 1_000) };
  return { requeueAfter: requeueMs * 6 };
}

/** The Machines' UpToDate condition, which upstream leaves to the control plane for its machines. */
async function setMachinesUpToDate(client: Client, machines: KObject[], outdatedWhy: Map<string, string | undefined>): Promise<void> {
  for (const mm of machines) {
    if (mm.metadata.deletionTimestamp) continue;
    const why = outdatedWhy.get(mm.metadata.name!);
    const want = why ? { type: "UpToDate", status: "False" as const, reason: "NotUpToDate", message: `* ${why[0]!.toUpperCase()}${why.slice(1)}` } : { type: "UpToDate", status: "True" as const, reason: "UpToDate", message: "" };
    const have = ((mm.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === "UpToDate");
    if (have && have.status === want.status && have.reason === want.reason && (have.message ?? "") === want.message) continue;
    const next = cloneData(mm);
    setCondition(next, want);
    await patchObject(client, mm, next);
  }
}

/**
 * Removes one machine: mark it leaving, move etcd leadership away, remove its member, delete it.
 * Returns why it could not finish (the Machine is then kept), undefined when deleted.
 */
async function removeMachine(client: Client, recorder: EventRecorder, env: KcpControllerEnv, cluster: KObject, kcp: KObject, machines: KObject[], name: string, ctx: ReconcileContext): Promise<string | undefined> {
  const machine = machines.find((mm) => mm.metadata.name === name)!;
  const ns = machine.metadata.namespace!;
  const ref = { apiVersion: CAPI_VERSION, kind: "Machine", namespace: ns, name };
  if (!(LEAVING_ANNOTATION in (machine.metadata.annotations ?? {}))) {
    await client.patch(ref, "merge", { metadata: { annotations: { [LEAVING_ANNOTATION]: "" }, resourceVersion: machine.metadata.resourceVersion } });
  }
  const spec = (kcp.spec ?? {}) as KcpSpec;
  const external = Boolean((spec.kubeadmConfigSpec?.clusterConfiguration as { etcd?: { external?: unknown } } | undefined)?.etcd?.external);
  if (!external) {
    const etcd = env.etcd(cluster);
    if (!etcd) {
      const why = `no etcd client for cluster ${cluster.metadata.name}: the etcd member of ${name} cannot be removed, so the machine is kept`;
      recorder.warning(kcp, "ScaleDownBlocked", why);
      ctx.log.info({ machine: name }, why);
      return why;
    }
    const others = machines.filter((mm) => mm.metadata.name !== name && !mm.metadata.deletionTimestamp && !(LEAVING_ANNOTATION in (mm.metadata.annotations ?? {})));
    const newest = [...others].sort((a, b) => (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "") || (b.metadata.name! < a.metadata.name! ? -1 : 1))[0];
    try {
      if (newest) await etcd.forwardLeadership(etcdMachine(machine), etcdMachine(newest));
      await etcd.removeMember(etcdMachine(machine), others.map(etcdMachine));
    } catch (e) {
      const why = `failed to remove the etcd member of ${name}: ${msg(e)}`;
      recorder.warning(kcp, "ScaleDownBlocked", why);
      return why;
    }
  }
  await client.delete(ref);
  recorder.normal(kcp, "SuccessfulDelete", `deleted control-plane machine ${name}`);
  ctx.log.info({ machine: name }, "deleted control-plane machine");
  return undefined;
}
