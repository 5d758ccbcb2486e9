/**
 * The Machine controller (CAPI core/reconcilers/machine): finalizer, pause, owner and cluster-name
 * label, BootstrapConfig → InfraMachine → Node, certificates expiry, ordered deletion, and the
 * status (conditions, phase) after every reconcile. The phases live in machine-*.ts.
 *
 * Workload clusters are reached through `WorkloadClusters`; since that client has no watch, a
 * Machine with a providerID re-reads its Node every `nodeSyncIntervalMs` (upstream reacts to Node
 * events instead).
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import { setCondition } from "../../runtime/conditions.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import type { WorkloadClusters } from "../../providers/workload/types.ts";
import { CAPI_GROUP, CAPI_VERSION, CLUSTER_NAME_LABEL, DEPLOYMENT_NAME_LABEL, ensureFinalizer, groupOf } from "./contract.ts";
import { ExternalWatches } from "./external.ts";
import {
  MACHINE_FINALIZER,
  MACHINE_OWNED_CONDITIONS,
  MACHINE_OWNED_V1BETA1_CONDITIONS,
  machineSpec,
  machineStatus,
  pausedCondition,
} from "./machine-api.ts";
import { reconcileDelete } from "./machine-delete.ts";
import { reconcileNode } from "./machine-node.ts";
import { reconcileBootstrap, reconcileCertificateExpiry, reconcileInfrastructure, reconcileOwnerAndLabels } from "./machine-phases.ts";
import { MACHINE_DEFAULTS, lowestRequeue, type MachineControllerOptions, type MachineScope, type PhaseResult } from "./machine-scope.ts";
import { updateStatus } from "./machine-status.ts";
import { writeMachine } from "./machine-write.ts";
import { cloneData } from "../../lib/clone.ts";

export { MACHINE_FINALIZER } from "./machine-api.ts";
export type { MachineControllerOptions } from "./machine-scope.ts";

interface Env {
  client: Client;
  recorder: EventRecorder;
  workloads: WorkloadClusters;
  external: ExternalWatches;
  opts: Required<MachineControllerOptions>;
  lastContact: Map<string, number>;
}

const OWNED = { conditions: MACHINE_OWNED_CONDITIONS, v1beta1: MACHINE_OWNED_V1BETA1_CONDITIONS };

export function setupMachineController(m: Manager, workloads: WorkloadClusters, options: MachineControllerOptions = {}): Controller | undefined {
  const opts = { ...MACHINE_DEFAULTS, ...options };
  const env: Env = {
    client: m.client("machine-controller"),
    recorder: m.recorder("machine-controller"),
    workloads,
    external: new ExternalWatches(m),
    opts,
    lastContact: new Map(),
  };
  const machines = m.informers.forKind(CAPI_VERSION, "Machine");
  if (!machines) return undefined;
  const c = new Controller("machine", (req, ctx) => reconcile(env, req, ctx), opts.concurrency);
  c.watchFor(machines);
  machines.addIndex("machine-controller/cluster", (o) => {
    const cluster = o.metadata.labels?.[CLUSTER_NAME_LABEL];
    return cluster ? [`${o.metadata.namespace}/${cluster}`] : [];
  });
  machines.addIndex("machine-controller/machineset", (o) =>
    (o.metadata.ownerReferences ?? []).filter((r) => r.kind === "MachineSet" && groupOf(r.apiVersion) === CAPI_GROUP).map((r) => `${o.metadata.namespace}/${r.name}`),
  );
  machines.addIndex("machine-controller/deployment", (o) => {
    const md = o.metadata.labels?.[DEPLOYMENT_NAME_LABEL];
    return md ? [`${o.metadata.namespace}/${md}`] : [];
  });
  machines.addIndex("machine-controller/providerID", (o) => {
    const id = (o.spec as { providerID?: string } | undefined)?.providerID;
    return id ? [`${o.metadata.namespace}/${id}`] : [];
  });
  // Workload Nodes (watched per cluster): the Machine with the Node's providerID.
  workloads.onNodeEvent?.((e) => {
    const id = (e.node.spec as { providerID?: string } | undefined)?.providerID ?? (e.old?.spec as { providerID?: string } | undefined)?.providerID;
    if (!id) return;
    for (const x of machines.byIndex("machine-controller/providerID", `${e.namespace}/${id}`)) {
      if (x.metadata.labels?.[CLUSTER_NAME_LABEL] === e.cluster) c.enqueue({ namespace: x.metadata.namespace, name: x.metadata.name! });
    }
  });
  const toMachines = (index: string) => (o: KObject) => machines.byIndex(index, `${o.metadata.namespace}/${o.metadata.name}`).map((x) => ({ namespace: x.metadata.namespace, name: x.metadata.name! }));
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (clusters) {
    // Only what Machines act on (upstream's Cluster predicates): pause, infrastructure and control
    // plane readiness, the endpoint, deletion. Replica summaries change with every Machine and
    // must not fan out to all of them.
    const relevant = (o: KObject) =>
      JSON.stringify([
        (o.spec as { paused?: unknown } | undefined)?.paused,
        o.metadata.annotations?.["cluster.x-k8s.io/paused"],
        (o.status as { initialization?: unknown } | undefined)?.initialization,
        (o.spec as { controlPlaneEndpoint?: unknown } | undefined)?.controlPlaneEndpoint,
        (o.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.find((x) => x.type === "ControlPlaneInitialized")?.status,
        Boolean(o.metadata.deletionTimestamp),
      ]);
    const map = toMachines("machine-controller/cluster");
    c.watchMapped(clusters, (obj, old) => (old && relevant(obj) === relevant(old) ? [] : map(obj)));
  }
  // Owners matter for their templates and revision (UpToDate, the outdated-revision taint), not
  // for their status, which changes with every Machine.
  const specChanged = (index: string) => {
    const map = toMachines(index);
    return (obj: KObject, old: KObject | undefined) =>
      old &&
      obj.metadata.generation === old.metadata.generation &&
      JSON.stringify(obj.metadata.annotations ?? {}) === JSON.stringify(old.metadata.annotations ?? {}) &&
      Boolean(obj.metadata.deletionTimestamp) === Boolean(old.metadata.deletionTimestamp)
        ? []
        : map(obj);
  };
  const sets = m.informers.forKind(CAPI_VERSION, "MachineSet");
  if (sets) c.watchMapped(sets, specChanged("machine-controller/machineset"));
  const deployments = m.informers.forKind(CAPI_VERSION, "MachineDeployment");
  if (deployments) c.watchMapped(deployments, specChanged("machine-controller/deployment"));
  // BootstrapConfigs and InfraMachines report to the Machine controlling them.
  env.external.onChange = (obj) => {
    const owner = obj.metadata.ownerReferences?.find((r) => r.controller && r.kind === "Machine" && groupOf(r.apiVersion) === CAPI_GROUP);
    if (owner) c.enqueue({ namespace: obj.metadata.namespace, name: owner.name });
  };
  m.add(c);
  return c;
}

function getOwner(client: Client, m: KObject, kind: string): KObject | undefined {
  const ref = m.metadata.ownerReferences?.find((r) => r.kind === kind && groupOf(r.apiVersion) === CAPI_GROUP);
  return ref ? client.get({ apiVersion: CAPI_VERSION, kind, namespace: m.metadata.namespace, name: ref.name }) : undefined;
}

async function reconcile(env: Env, req: Request, ctx: ReconcileContext): Promise<Result | void> {
  const { client } = env;
  const current = client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: req.namespace, name: req.name });
  if (!current) return;
  const clusterName = machineSpec(current).clusterName;
  const log = ctx.log.child({ cluster: `${req.namespace}/${clusterName}` });
  const cluster = client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: req.namespace, name: clusterName });
  const deleting = Boolean(current.metadata.deletionTimestamp);
  if (!cluster && !deleting) {
    log.info({}, "Cluster does not exist yet, requeuing");
    return { requeueAfter: env.opts.externalReadyWaitMs };
  }

  // The finalizer first, so a deletion can never race initialization.
  if (!deleting && !(current.metadata.finalizers ?? []).includes(MACHINE_FINALIZER)) {
    const after = cloneData(current);
    ensureFinalizer(after, MACHINE_FINALIZER);
    await patchObject(client, current, after);
    return;
  }

  const machine = cloneData(current);
  const paused = pausedCondition(cluster, machine);
  setCondition(machine, paused);
  if (paused.status === "True") {
    await writeMachine(client, current, machine, OWNED);
    return;
  }

  const s: MachineScope = {
    client,
    recorder: env.recorder,
    workloads: env.workloads,
    external: env.external,
    opts: env.opts,
    log,
    cluster,
    machine,
    infraMachineNotFound: false,
    bootstrapConfigNotFound: false,
    lastContact: env.lastContact,
  };
  s.owningMachineSet = getOwner(client, machine, "MachineSet");
  const mdName = s.owningMachineSet?.metadata.labels?.[DEPLOYMENT_NAME_LABEL];
  if (mdName) s.owningMachineDeployment = client.get({ apiVersion: CAPI_VERSION, kind: "MachineDeployment", namespace: req.namespace, name: mdName });

  const phases: ((s: MachineScope) => PhaseResult | Promise<PhaseResult>)[] = [
    reconcileOwnerAndLabels,
    reconcileBootstrap,
    reconcileInfrastructure,
    reconcileNode,
    reconcileCertificateExpiry,
  ];
  if (deleting) phases.push(reconcileDelete);
  // As upstream doReconcile: every phase runs; after an error, results no longer count.
  const errors: unknown[] = [];
  let result: PhaseResult = {};
  for (const phase of phases) {
    try {
      const r = await phase(s);
      if (!errors.length) result = lowestRequeue(result, r);
    } catch (e) {
      errors.push(e);
    }
  }

  const statusResult = updateStatus(s);
  if (!errors.length) machineStatus(machine).observedGeneration = machine.metadata.generation;
  const previousPhase = machineStatus(current).phase;
  await writeMachine(client, current, machine, OWNED);
  const phase = machineStatus(machine).phase;
  if (phase !== previousPhase) log.info({ phase, previous: previousPhase ?? "" }, "machine phase changed");
  if (errors.length) throw errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map((e) => String((e as Error)?.message ?? e)).join("; "));
  const merged = lowestRequeue(result, statusResult);
  return merged.requeueAfter !== undefined ? { requeueAfter: merged.requeueAfter } : undefined;
}
