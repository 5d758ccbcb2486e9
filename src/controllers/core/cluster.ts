/**
 * The Cluster controller (CAPI core/reconcilers/cluster): finalizer, pause, infrastructure →
 * control plane → kubeconfig, endpoint and failure-domain copy, phases, replica summaries,
 * ordered deletion (workers, control plane, infrastructure).
 * @module
 */
import { nowRfc3339, type KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import { setCondition, setV1Beta1Condition, type V1Beta1Condition } from "../../runtime/conditions.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import {
  DEPLOYMENT_NAME_LABEL,
  CAPI_VERSION,
  CLUSTER_NAME_LABEL,
  CONTROL_PLANE_LABEL,
  endpointValid,
  ensureFinalizer,
  ensureLabel,
  ensureOwnerRef,
  getRef,
  isControlPlaneInitialized,
  isPaused,
  isProvisioned,
  readyCondition,
  refApiVersion,
  removeFinalizer,
  type ContractRef,
} from "./contract.ts";
import { ensureClusterKubeconfig } from "./kubeconfig.ts";
import { ExternalWatches } from "./external.ts";
import type { ControllerEnv } from "../index.ts";
import { cloneData } from "../../lib/clone.ts";

export const CLUSTER_FINALIZER = "cluster.cluster.x-k8s.io";

interface ClusterSpec {
  paused?: boolean;
  controlPlaneEndpoint?: { host?: string; port?: number };
  controlPlaneRef?: ContractRef;
  infrastructureRef?: ContractRef;
  topology?: unknown;
}

interface ReplicaSummary {
  desiredReplicas?: number;
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  upToDateReplicas?: number;
}

interface ClusterStatus {
  phase?: string;
  observedGeneration?: number;
  initialization?: { infrastructureProvisioned?: boolean; controlPlaneInitialized?: boolean };
  controlPlane?: ReplicaSummary;
  workers?: ReplicaSummary;
  failureDomains?: { name: string; controlPlane?: boolean; attributes?: Record<string, string> }[];
}

const REQUEUE_MISSING_MS = 30_000;

export function setupClusterController(m: Manager, env: Pick<ControllerEnv, "labProxyUrl"> = {}): void {
  const client = m.client("cluster-controller");
  const recorder = m.recorder("cluster-controller");
  const external = new ExternalWatches(m);
  const c = new Controller("cluster", (req, ctx) => reconcile(client, external, recorder, env, req, ctx), 4);
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (!clusters) return;
  c.watchFor(clusters);
  // Provider objects and descendants report back to their Cluster.
  external.onChange = (obj) => {
    const name = obj.metadata.labels?.[CLUSTER_NAME_LABEL] ?? obj.metadata.ownerReferences?.find((r) => r.kind === "Cluster")?.name;
    if (name) c.enqueue({ namespace: obj.metadata.namespace, name });
    // Not adopted yet (a file applied Cluster first): the Clusters naming it look again now,
    // where upstream waits for its 30 s requeue.
    else for (const cl of referencing(clusters.list(obj.metadata.namespace), obj)) c.enqueue({ namespace: cl.metadata.namespace, name: cl.metadata.name! });
  };
  const toCluster = (o: KObject) => (o.metadata.labels?.[CLUSTER_NAME_LABEL] ? [{ namespace: o.metadata.namespace, name: o.metadata.labels[CLUSTER_NAME_LABEL]! }] : []);
  for (const kind of ["MachineDeployment", "MachineSet"]) {
    const inf = m.informers.forKind(CAPI_VERSION, kind);
    if (inf) c.watchMapped(inf, toCluster);
  }
  // Machines of a MachineDeployment reach the Cluster through the MachineDeployment's status;
  // following each of them too would make every Machine change re-summarize the whole Cluster.
  const machines = m.informers.forKind(CAPI_VERSION, "Machine");
  if (machines) c.watchMapped(machines, (o) => (inDeployment(o) ? [] : toCluster(o)));
  m.add(c);
}

function referencing(clusters: KObject[], obj: KObject): KObject[] {
  const names = (r: ContractRef | undefined) => r !== undefined && r.kind === obj.kind && r.name === obj.metadata.name;
  return clusters.filter((cl) => {
    const spec = (cl.spec ?? {}) as ClusterSpec;
    return names(spec.infrastructureRef) || names(spec.controlPlaneRef);
  });
}

async function reconcile(
  client: Client,
  external: ExternalWatches,
  recorder: ReturnType<Manager["recorder"]>,
  env: Pick<ControllerEnv, "labProxyUrl">,
  req: Request,
  ctx: ReconcileContext,
): Promise<Result | void> {
  const current = client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: req.namespace, name: req.name });
  if (!current) return;
  const cluster = cloneData(current);
  const spec = (cluster.spec ?? {}) as ClusterSpec;
  if (cluster.metadata.deletionTimestamp) return reconcileDelete(client, cluster, current, ctx);
  if (ensureFinalizer(cluster, CLUSTER_FINALIZER)) {
    await patchObject(client, current, cluster);
    return;
  }
  const status = ((cluster.status as ClusterStatus | undefined) ??= {}) as ClusterStatus;
  if (isPaused(cluster)) {
    setCondition(cluster, { type: "Paused", status: "True", reason: "Paused", message: "Cluster is paused" });
    await patchObject(client, current, cluster);
    return;
  }
  setCondition(cluster, { type: "Paused", status: "False", reason: "NotPaused" });
  setCondition(cluster, { type: "Deleting", status: "False", reason: "NotDeleting" });

  let requeue: number | undefined;
  const ns = cluster.metadata.namespace!;

  // Infrastructure.
  const init = (status.initialization ??= {});
  if (spec.infrastructureRef) {
    external.watch(client, spec.infrastructureRef);
    const infra = getRef(client, spec.infrastructureRef, ns);
    if (!infra) {
      setCondition(cluster, { type: "InfrastructureReady", status: "Unknown", reason: "InfrastructureDoesNotExist", message: `${spec.infrastructureRef.kind} does not exist` });
      requeue = REQUEUE_MISSING_MS;
    } else {
      await adopt(client, infra, cluster);
      if (isProvisioned(infra)) {
        init.infrastructureProvisioned = true;
        const infraEp = (infra.spec as { controlPlaneEndpoint?: { host?: string; port?: number } } | undefined)?.controlPlaneEndpoint;
        if (!endpointValid(spec.controlPlaneEndpoint) && endpointValid(infraEp)) spec.controlPlaneEndpoint = { host: infraEp!.host, port: infraEp!.port };
        const fd = failureDomainsOf(infra);
        if (fd) status.failureDomains = fd;
      }
      const ready = readyCondition(infra);
      setCondition(cluster, {
        type: "InfrastructureReady",
        status: ready ? (ready.status as "True" | "False" | "Unknown") : isProvisioned(infra) ? "True" : "False",
        reason: ready?.reason || (isProvisioned(infra) ? "Ready" : "NotReady"),
        message: ready?.message ?? "",
      });
    }
  } else {
    init.infrastructureProvisioned = true;
    setCondition(cluster, { type: "InfrastructureReady", status: "True", reason: "NoInfrastructure" });
  }

  // Control plane.
  let v1cp: V1Beta1Mirror | undefined;
  if (spec.controlPlaneRef) {
    external.watch(client, spec.controlPlaneRef);
    const cp = getRef(client, spec.controlPlaneRef, ns);
    if (!cp) {
      setCondition(cluster, { type: "ControlPlaneInitialized", status: "Unknown", reason: "ControlPlaneDoesNotExist", message: `${spec.controlPlaneRef.kind} does not exist` });
      requeue = REQUEUE_MISSING_MS;
    } else {
      await adopt(client, cp, cluster);
      if (isControlPlaneInitialized(cp)) init.controlPlaneInitialized = true;
      const cpEp = (cp.spec as { controlPlaneEndpoint?: { host?: string; port?: number } } | undefined)?.controlPlaneEndpoint;
      if (!endpointValid(spec.controlPlaneEndpoint) && endpointValid(cpEp)) spec.controlPlaneEndpoint = { host: cpEp!.host, port: cpEp!.port };
      status.controlPlane = controlPlaneSummary(cp);
      const ready = readyCondition(cp);
      v1cp = mirrorV1Beta1Ready(cp);
      const available = (cp.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.find((c) => c.type === "Available");
      setCondition(cluster, {
        type: "ControlPlaneAvailable",
        status: (available?.status ?? ready?.status ?? "Unknown") as "True" | "False" | "Unknown",
        reason: available?.status === "True" || ready?.status === "True" ? "Available" : "NotAvailable",
      });
    }
  } else {
    // Machine-based control plane: initialized once a control-plane Machine has a Node.
    const cpMachines = client
      .listShared(CAPI_VERSION, "Machine", ns, { labelSelector: `${CLUSTER_NAME_LABEL}=${req.name},${CONTROL_PLANE_LABEL}` })
      .filter((mm) => !mm.metadata.deletionTimestamp);
    if (cpMachines.some((mm) => (mm.status as { nodeRef?: unknown } | undefined)?.nodeRef)) init.controlPlaneInitialized = true;
    status.controlPlane = summarizeMachines(cpMachines, cpMachines.length);
    // Without a control-plane provider the kubeconfig is needed to find the first Node at all.
    if (endpointValid(spec.controlPlaneEndpoint)) {
      const done = await ensureClusterKubeconfig(client, cluster, ctx, env.labProxyUrl);
      if (done) recorder.normal(cluster, "KubeconfigGenerated", `${done === "written" ? "wrote" : "renewed"} Secret ${req.name}-kubeconfig`);
    }
    setCondition(cluster, { type: "ControlPlaneAvailable", status: init.controlPlaneInitialized ? "True" : "False", reason: init.controlPlaneInitialized ? "Available" : "NotAvailable" });
  }
  setCondition(cluster, {
    type: "ControlPlaneInitialized",
    status: init.controlPlaneInitialized ? "True" : "False",
    reason: init.controlPlaneInitialized ? "Initialized" : "NotInitialized",
  });

  // Workers (upstream setWorkersReplicas): the MachineDeployments' counts, plus every other
  // non-control-plane Machine of the cluster on its own.
  const others = client
    .listShared(CAPI_VERSION, "Machine", ns, { labelSelector: `${CLUSTER_NAME_LABEL}=${req.name},!${CONTROL_PLANE_LABEL},!${DEPLOYMENT_NAME_LABEL}` })
    .filter((mm) => !mm.metadata.deletionTimestamp);
  const workers = summarizeMachines(others, others.length);
  for (const md of client.listShared(CAPI_VERSION, "MachineDeployment", ns, { labelSelector: `${CLUSTER_NAME_LABEL}=${req.name}` })) {
    const st = (md.status ?? {}) as { replicas?: number; readyReplicas?: number; availableReplicas?: number; upToDateReplicas?: number };
    workers.desiredReplicas = (workers.desiredReplicas ?? 0) + Number((md.spec as { replicas?: number } | undefined)?.replicas ?? 0);
    workers.replicas = (workers.replicas ?? 0) + (st.replicas ?? 0);
    workers.readyReplicas = (workers.readyReplicas ?? 0) + (st.readyReplicas ?? 0);
    workers.availableReplicas = (workers.availableReplicas ?? 0) + (st.availableReplicas ?? 0);
    workers.upToDateReplicas = (workers.upToDateReplicas ?? 0) + (st.upToDateReplicas ?? 0);
  }
  status.workers = workers;
  const desired = workers.desiredReplicas ?? 0;
  const workersAvailable = (status.workers.availableReplicas ?? 0) >= desired;
  setCondition(cluster, { type: "WorkersAvailable", status: workersAvailable ? "True" : "False", reason: workersAvailable ? "Available" : "NotAvailable" });

  // Phase and the Available summary.
  const anyRef = Boolean(spec.infrastructureRef || spec.controlPlaneRef);
  status.phase = init.infrastructureProvisioned && endpointValid(spec.controlPlaneEndpoint) ? "Provisioned" : anyRef ? "Provisioning" : "Pending";
  const available = Boolean(init.infrastructureProvisioned) && Boolean(init.controlPlaneInitialized) && workersAvailable && endpointValid(spec.controlPlaneEndpoint);
  setCondition(cluster, {
    type: "Available",
    status: available ? "True" : "False",
    reason: available ? "Available" : "NotAvailable",
    message: available ? "" : availabilityMessage(init, endpointValid(spec.controlPlaneEndpoint), workersAvailable),
  });
  setV1Beta1Conditions(cluster, init, spec.controlPlaneRef ? (v1cp ?? { status: "False", severity: "Info", reason: "WaitingForControlPlane" }) : undefined);
  status.observedGeneration = cluster.metadata.generation;
  // The schema wants at least one property in status.initialization (false values are omitted).
  if (Object.keys(init).length === 0) delete status.initialization;
  cluster.spec = spec as Record<string, unknown>;
  const before = current.status as ClusterStatus | undefined;
  const { changed } = await patchObject(client, current, cluster);
  if (changed && before?.phase !== status.phase) recorder.normal(cluster, "PhaseChanged", `Cluster ${req.name} is ${status.phase}`);
  ctx.log.debug({ phase: status.phase }, "reconciled");
  return requeue ? { requeueAfter: requeue } : undefined;
}

type V1Beta1Mirror = Omit<V1Beta1Condition, "type" | "lastTransitionTime">;

/** The control plane's Ready as a v1beta1 condition: its own (v1beta1-style) one, else `status.ready`. */
function mirrorV1Beta1Ready(cp: KObject): V1Beta1Mirror {
  const st = (cp.status ?? {}) as { ready?: boolean; conditions?: { type: string; status: string; severity?: string; reason?: string; message?: string }[]; deprecated?: { v1beta1?: { conditions?: { type: string; status: string; severity?: string; reason?: string; message?: string }[] } } };
  const own = (st.deprecated?.v1beta1?.conditions ?? st.conditions ?? []).find((c) => c.type === "Ready");
  if (own) return { status: own.status as V1Beta1Mirror["status"], ...(own.severity ? { severity: own.severity as V1Beta1Mirror["severity"] } : {}), ...(own.reason ? { reason: own.reason } : {}), ...(own.message ? { message: own.message } : {}) };
  return st.ready ? { status: "True" } : { status: "False", severity: "Info", reason: "WaitingForControlPlane" };
}

/**
 * The v1beta1 conditions (`status.deprecated.v1beta1.conditions`, served as `status.conditions`
 * of clusters.v1beta1): InfrastructureReady, ControlPlaneInitialized, ControlPlaneReady and Ready,
 * the summary of the infrastructure and control plane ones, as upstream keeps them.
 */
function setV1Beta1Conditions(cluster: KObject, init: NonNullable<ClusterStatus["initialization"]>, controlPlane: V1Beta1Mirror | undefined): void {
  const infra: V1Beta1Mirror = init.infrastructureProvisioned ? { status: "True" } : { status: "False", severity: "Info", reason: "WaitingForInfrastructure" };
  setV1Beta1Condition(cluster, { type: "InfrastructureReady", ...infra });
  setV1Beta1Condition(cluster, init.controlPlaneInitialized ? { type: "ControlPlaneInitialized", status: "True" } : { type: "ControlPlaneInitialized", status: "False", severity: "Info", reason: "WaitingForControlPlaneProviderInitialized" });
  if (controlPlane) setV1Beta1Condition(cluster, { type: "ControlPlaneReady", ...controlPlane });
  const parts = [controlPlane, infra].filter((c): c is V1Beta1Mirror => c !== undefined);
  const worst = parts.find((c) => c.status === "False" && c.severity === "Error") ?? parts.find((c) => c.status === "False" && c.severity === "Warning") ?? parts.find((c) => c.status !== "True");
  setV1Beta1Condition(cluster, worst ? { type: "Ready", status: worst.status, ...(worst.severity ? { severity: worst.severity } : {}), ...(worst.reason ? { reason: worst.reason } : {}), ...(worst.message ? { message: worst.message } : {}) } : { type: "Ready", status: "True" });
}

function availabilityMessage(init: NonNullable<ClusterStatus["initialization"]>, endpoint: boolean, workers: boolean): string {
  const why: string[] = [];
  if (!init.infrastructureProvisioned) why.push("infrastructure is not provisioned");
  if (!endpoint) why.push("control plane endpoint is not set");
  if (!init.controlPlaneInitialized) why.push("control plane is not initialized");
  if (!workers) why.push("not all workers are available");
  return why.join("; ");
}

/** Infra and control-plane objects are owned by their Cluster and carry its name label. */
async function adopt(client: Client, obj: KObject, cluster: KObject): Promise<void> {
  const after = cloneData(obj);
  const a = ensureOwnerRef(after, cluster, false);
  const b = ensureLabel(after, CLUSTER_NAME_LABEL, cluster.metadata.name!);
  if (a || b) await patchObject(client, obj, after);
}

function failureDomainsOf(infra: KObject): ClusterStatus["failureDomains"] | undefined {
  const fd = (infra.status as { failureDomains?: unknown } | undefined)?.failureDomains;
  if (Array.isArray(fd)) return fd as ClusterStatus["failureDomains"];
  if (fd && typeof fd === "object") {
    // v1beta1 contract: a map name → {controlPlane, attributes}.
    return Object.entries(fd as Record<string, { controlPlane?: boolean; attributes?: Record<string, string> }>)
      .map(([name, v]) => ({ name, ...(v.controlPlane !== undefined ? { controlPlane: v.controlPlane } : {}), ...(v.attributes ? { attributes: v.attributes } : {}) }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }
  return undefined;
}

function controlPlaneSummary(cp: KObject): ReplicaSummary {
  const s = (cp.status ?? {}) as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === "number" ? v : undefined);
  const out: ReplicaSummary = {
    desiredReplicas: n((cp.spec as { replicas?: number } | undefined)?.replicas),
    replicas: n(s.replicas),
    readyReplicas: n(s.readyReplicas),
    availableReplicas: n(s.availableReplicas),
    upToDateReplicas: n(s.upToDateReplicas) ?? n(s.updatedReplicas),
  };
  for (const k of Object.keys(out) as (keyof ReplicaSummary)[]) if (out[k] === undefined) delete out[k];
  return out;
}

function inDeployment(m: KObject): boolean {
  return DEPLOYMENT_NAME_LABEL in (m.metadata.labels ?? {}) && !(CONTROL_PLANE_LABEL in (m.metadata.labels ?? {}));
}

function conditionTrue(obj: KObject, type: string): boolean {
  return ((obj.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === type && c.status === "True");
}

function summarizeMachines(machines: KObject[], desired: number): ReplicaSummary {
  return {
    desiredReplicas: desired,
    replicas: machines.length,
    readyReplicas: machines.filter((m) => conditionTrue(m, "Ready")).length,
    availableReplicas: machines.filter((m) => conditionTrue(m, "Available")).length,
    upToDateReplicas: machines.filter((m) => conditionTrue(m, "UpToDate")).length,
  };
}

/** Deletion order: workers (MDs, MachineSets, standalone Machines), then control plane, then infrastructure. */
async function reconcileDelete(client: Client, cluster: KObject, current: KObject, ctx: ReconcileContext): Promise<Result | void> {
  const ns = cluster.metadata.namespace!;
  const name = cluster.metadata.name!;
  const spec = (cluster.spec ?? {}) as ClusterSpec;
  const selector = { labelSelector: `${CLUSTER_NAME_LABEL}=${name}` };
  const step = async (reason: string, message: string): Promise<Result> => {
    setCondition(cluster, { type: "Deleting", status: "True", reason, message });
    (cluster.status as ClusterStatus).phase = "Deleting";
    await patchObject(client, current, cluster);
    return { requeueAfter: 5_000 };
  };
  ((cluster.status as ClusterStatus | undefined) ??= {});

  const mds = client.listShared(CAPI_VERSION, "MachineDeployment", ns, selector);
  const sets = client.listShared(CAPI_VERSION, "MachineSet", ns, selector);
  const standalone = client
    .listShared(CAPI_VERSION, "Machine", ns, selector)
    .filter((m) => !m.metadata.ownerReferences?.some((r) => r.controller) && !(CONTROL_PLANE_LABEL in (m.metadata.labels ?? {}) && spec.controlPlaneRef));
  const workerMachines = standalone.filter((m) => !(CONTROL_PLANE_LABEL in (m.metadata.labels ?? {})));
  for (const o of [...mds, ...sets, ...workerMachines]) {
    if (!o.metadata.deletionTimestamp) await client.delete({ apiVersion: CAPI_VERSION, kind: o.kind!, namespace: ns, name: o.metadata.name! });
  }
  if (mds.length || sets.length || workerMachines.length) {
    return step("WaitingForWorkersDeletion", `waiting for ${mds.length + sets.length + workerMachines.length} worker objects to be deleted`);
  }
  const cpMachines = standalone.filter((m) => CONTROL_PLANE_LABEL in (m.metadata.labels ?? {}));
  for (const m of cpMachines) if (!m.metadata.deletionTimestamp) await client.delete({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: ns, name: m.metadata.name! });
  if (cpMachines.length) return step("WaitingForControlPlaneDeletion", `waiting for ${cpMachines.length} control plane Machines to be deleted`);
  for (const [ref, reason] of [
    [spec.controlPlaneRef, "WaitingForControlPlaneDeletion"],
    [spec.infrastructureRef, "WaitingForInfrastructureDeletion"],
  ] as const) {
    if (!ref) continue;
    const apiVersion = refApiVersion(client, ref);
    const obj = apiVersion ? client.get({ apiVersion, kind: ref.kind, namespace: ns, name: ref.name }) : undefined;
    if (obj) {
      if (!obj.metadata.deletionTimestamp) await client.delete({ apiVersion: apiVersion!, kind: ref.kind, namespace: ns, name: ref.name });
      return step(reason, `waiting for ${ref.kind} ${ref.name} to be deleted`);
    }
  }
  setCondition(cluster, { type: "Deleting", status: "True", reason: "DeletionCompleted", message: "" });
  const { object } = await patchObject(client, current, cluster);
  // Last: dropping the finalizer removes the Cluster.
  const released = cloneData(object);
  removeFinalizer(released, CLUSTER_FINALIZER);
  await patchObject(client, object, released);
  ctx.log.info({ at: nowRfc3339() }, "cluster deleted");
}

