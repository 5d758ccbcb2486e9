/**
 * The MachineHealthCheck controller (CAPI core/reconcilers/machinehealthcheck): finds the Machines
 * a MachineHealthCheck targets, checks them and their Nodes, and marks unhealthy ones
 * (`HealthCheckSucceeded=False`, `OwnerRemediated=False`) for their owner — a MachineSet or control
 * plane — to replace; or, with `spec.remediation.templateRef`, creates an external remediation
 * request named like the Machine. The budget (`triggerIf`) short-circuits remediation when too many
 * targets are unhealthy.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { labelSelectorFromObject } from "../../lib/selectors/index.ts";
import type { Client } from "../../runtime/client.ts";
import { setCondition, setV1Beta1Condition } from "../../runtime/conditions.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import type { WorkloadClient, WorkloadClusters } from "../../providers/workload/types.ts";
import { CAPI_VERSION, CLONED_FROM_GROUPKIND, CLONED_FROM_NAME, CLUSTER_NAME_LABEL, groupOf } from "./contract.ts";
import { C, SKIP_REMEDIATION_ANNOTATION, clusterControlPlaneInitialized, hasAnnotation, nodeRefName, pausedCondition } from "./machine-api.ts";
import { writeMachine, type OwnedConditions } from "./machine-write.ts";
import {
  DEFAULT_NODE_STARTUP_TIMEOUT_SECONDS,
  healthCheckTargets,
  remediationAllowed,
  type MachineHealthCheckSpec,
  type Target,
} from "./machinehealthcheck-targets.ts";
import { cloneData } from "../../lib/clone.ts";

export interface MachineHealthCheckControllerOptions {
  /**
   * Re-check every MachineHealthCheck this often when workload Nodes cannot be watched (access
   * without `onNodeEvent`); with a watch, Node changes trigger the check (0 turns it off).
   */
  resyncIntervalMs?: number;
  concurrency?: number;
}

const DEFAULTS: Required<MachineHealthCheckControllerOptions> = { resyncIntervalMs: 60_000, concurrency: 2 };

/** What a health check reads from a Node. */
function nodeHealthView(n: KObject | undefined): string {
  return JSON.stringify((n?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.map((c) => [c.type, c.status]) ?? null);
}

interface Env {
  client: Client;
  recorder: EventRecorder;
  workloads: WorkloadClusters;
  opts: Required<MachineHealthCheckControllerOptions>;
}

interface MHCStatus {
  expectedMachines?: number;
  currentHealthy?: number;
  remediationsAllowed?: number;
  targets?: string[];
  observedGeneration?: number;
}

const HEALTHY_OWNED: OwnedConditions = { conditions: [C.HealthCheckSucceeded], v1beta1: ["HealthCheckSucceeded"] };

function mhcSpec(o: KObject): MachineHealthCheckSpec {
  return (o.spec ?? {}) as unknown as MachineHealthCheckSpec;
}

function selects(mhc: KObject, machine: KObject): boolean {
  const spec = mhcSpec(mhc);
  if (machine.metadata.labels?.[CLUSTER_NAME_LABEL] !== spec.clusterName) return false;
  try {
    return labelSelectorFromObject(spec.selector ?? {}).matches(machine.metadata.labels ?? {});
  } catch {
    return false;
  }
}

export function setupMachineHealthCheckController(m: Manager, workloads: WorkloadClusters, options: MachineHealthCheckControllerOptions = {}): Controller | undefined {
  const opts = { ...DEFAULTS, ...options };
  const env: Env = { client: m.client("machinehealthcheck-controller"), recorder: m.recorder("machinehealthcheck-controller"), workloads, opts };
  const mhcs = m.informers.forKind(CAPI_VERSION, "MachineHealthCheck");
  if (!mhcs) return undefined;
  const c = new Controller("machinehealthcheck", (req, ctx) => reconcile(env, req, ctx), opts.concurrency);
  c.watchFor(mhcs);
  const machines = m.informers.forKind(CAPI_VERSION, "Machine");
  if (machines) {
    c.watchMapped(machines, (obj, old) => {
      // Only what health checks look at: nodeRef, labels, annotations, conditions.
      if (old) {
        const same =
          nodeRefName(obj) === nodeRefName(old) &&
          JSON.stringify(obj.metadata.labels ?? {}) === JSON.stringify(old.metadata.labels ?? {}) &&
          JSON.stringify(obj.metadata.annotations ?? {}) === JSON.stringify(old.metadata.annotations ?? {}) &&
          JSON.stringify((obj.status as { conditions?: unknown } | undefined)?.conditions ?? []) === JSON.stringify((old.status as { conditions?: unknown } | undefined)?.conditions ?? []) &&
          Boolean(obj.metadata.deletionTimestamp) === Boolean(old.metadata.deletionTimestamp);
        if (same) return [];
      }
      return mhcs
        .list(obj.metadata.namespace)
        .filter((h) => selects(h, obj) || (old !== undefined && selects(h, old)))
        .map((h) => ({ namespace: h.metadata.namespace, name: h.metadata.name! }));
    });
  }
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (clusters) {
    const relevant = (o: KObject) =>
      JSON.stringify([
        (o.spec as { paused?: unknown } | undefined)?.paused,
        o.metadata.annotations?.["cluster.x-k8s.io/paused"],
        clusterControlPlaneInitialized(o),
        (o.status as { initialization?: unknown } | undefined)?.initialization,
      ]);
    c.watchMapped(clusters, (obj, old) => {
      if (old && relevant(obj) === relevant(old)) return [];
      return mhcs
        .list(obj.metadata.namespace)
        .filter((h) => mhcSpec(h).clusterName === obj.metadata.name)
        .map((h) => ({ namespace: h.metadata.namespace, name: h.metadata.name! }));
    });
  }
  // Workload Nodes appearing, going away or changing conditions re-check the cluster's MHCs.
  workloads.onNodeEvent?.((e) => {
    if (e.type === "MODIFIED" && nodeHealthView(e.node) === nodeHealthView(e.old)) return;
    for (const h of mhcs.list(e.namespace)) if (mhcSpec(h).clusterName === e.cluster) c.enqueue({ namespace: h.metadata.namespace, name: h.metadata.name! });
  });
  if (workloads.onNodeEvent && options.resyncIntervalMs === undefined) opts.resyncIntervalMs = 0;
  m.add(c);
  return c;
}

async function reconcile(env: Env, req: Request, ctx: ReconcileContext): Promise<Result | void> {
  const { client } = env;
  const current = client.get({ apiVersion: CAPI_VERSION, kind: "MachineHealthCheck", namespace: req.namespace, name: req.name });
  if (!current) return;
  const spec = mhcSpec(current);
  const log = ctx.log.child({ cluster: `${req.namespace}/${spec.clusterName}` });
  const cluster = client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: req.namespace, name: spec.clusterName });
  if (!cluster) throw new Error(`failed to get Cluster ${req.namespace}/${spec.clusterName} for MachineHealthCheck`);
  const mhc = cloneData(current);
  const paused = pausedCondition(cluster, mhc);
  setCondition(mhc, paused);
  if (paused.status === "True") {
    await patchObject(client, current, mhc);
    return;
  }
  (mhc.metadata.labels ??= {})[CLUSTER_NAME_LABEL] = spec.clusterName;
  const refs = (mhc.metadata.ownerReferences ??= []);
  if (!refs.some((r) => r.kind === "Cluster" && groupOf(r.apiVersion) === "cluster.x-k8s.io" && r.name === cluster.metadata.name)) {
    refs.push({ apiVersion: CAPI_VERSION, kind: "Cluster", name: cluster.metadata.name!, uid: cluster.metadata.uid! });
  }
  let result: Result | undefined;
  let failure: unknown;
  try {
    result = await check(env, cluster, mhc, log);
  } catch (e) {
    failure = e;
  }
  if (!failure) (mhc.status as MHCStatus).observedGeneration = mhc.metadata.generation;
  await patchObject(client, current, mhc);
  if (failure) throw failure;
  const resync = env.opts.resyncIntervalMs;
  const next = result?.requeueAfter;
  if (resync > 0) return { requeueAfter: next !== undefined ? Math.min(next, resync) : resync };
  return result;
}

async function check(env: Env, cluster: KObject, mhc: KObject, log: ReconcileContext["log"]): Promise<Result | undefined> {
  const { client } = env;
  const spec = mhcSpec(mhc);
  const status = ((mhc.status as MHCStatus | undefined) ??= {}) as MHCStatus;
  const ns = mhc.metadata.namespace!;

  let remote: WorkloadClient | undefined;
  if (clusterControlPlaneInitialized(cluster)) {
    remote = await env.workloads.forCluster(ns, cluster.metadata.name!);
    if (!remote) throw new Error(`the workload cluster ${ns}/${cluster.metadata.name} is not reachable (no kubeconfig yet)`);
  }

  // Targets: selected Machines of the Cluster, minus paused and skip-remediation ones.
  const machines = client.listShared(CAPI_VERSION, "Machine", ns, { labelSelector: `${CLUSTER_NAME_LABEL}=${spec.clusterName}` }).filter((m) => selects(mhc, m));
  const targets: Target[] = [];
  for (const m of machines) {
    if (hasAnnotation(m, "cluster.x-k8s.io/paused") || hasAnnotation(m, SKIP_REMEDIATION_ANNOTATION)) {
      log.info({ machine: m.metadata.name }, "skipping remediation");
      continue;
    }
    const t: Target = { before: m, machine: cloneData(m), nodeMissing: false };
    const nodeName = nodeRefName(m);
    if (remote && nodeName) {
      t.node = await remote.getNode(nodeName);
      if (!t.node) t.nodeMissing = true;
    }
    targets.push(t);
  }
  status.expectedMachines = targets.length;
  status.targets = targets.map((t) => t.machine.metadata.name!).sort();

  const now = Date.now();
  const { healthy, unhealthy, nextCheckMs } = healthCheckTargets(targets, cluster, spec, now);
  status.currentHealthy = healthy.length;

  const budget = remediationAllowed(spec, targets.length, healthy.length);
  if (!budget.allowed) {
    const triggerIf = spec.remediation?.triggerIf ?? {};
    const message = triggerIf.unhealthyInRange
      ? `Remediation is not allowed, the number of not started or unhealthy machines does not fall within the range (total: ${targets.length}, unhealthy: ${unhealthy.length}, unhealthyRange: ${triggerIf.unhealthyInRange})`
      : `Remediation is not allowed, the number of not started or unhealthy machines exceeds maxUnhealthy (total: ${targets.length}, unhealthy: ${unhealthy.length}, maxUnhealthy: ${triggerIf.unhealthyLessThanOrEqualTo ?? "100%"})`;
    status.remediationsAllowed = 0;
    setV1Beta1Condition(mhc, { type: "RemediationAllowed", status: "False", severity: "Warning", reason: "TooManyUnhealthy", message });
    setCondition(mhc, { type: "RemediationAllowed", status: "False", reason: "TooManyUnhealthy", message });
    if (unhealthy.length) env.recorder.warning(mhc, "RemediationRestricted", message);
    log.info({ total: targets.length, unhealthy: unhealthy.length }, "short-circuiting remediation");
    for (const t of [...healthy, ...unhealthy]) await writeMachine(client, t.before, t.machine, HEALTHY_OWNED);
    return undefined;
  }

  status.remediationsAllowed = budget.count;
  setV1Beta1Condition(mhc, { type: "RemediationAllowed", status: "True" });
  setCondition(mhc, { type: "RemediationAllowed", status: "True", reason: "RemediationAllowed" });

  const errors: unknown[] = [];
  for (const t of unhealthy) {
    try {
      await markUnhealthy(env, mhc, cluster, t, log);
    } catch (e) {
      errors.push(e);
    }
  }
  for (const t of healthy) {
    try {
      if (spec.remediation?.templateRef?.kind) await deleteRemediationRequest(env, mhc, t.machine);
      await writeMachine(client, t.before, t.machine, HEALTHY_OWNED);
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length) throw errors[0];
  if (nextCheckMs > 0) {
    log.debug({ requeueAfterMs: nextCheckMs }, "some targets might go unhealthy, ensuring a requeue happens");
    return { requeueAfter: nextCheckMs };
  }
  return undefined;
}

async function markUnhealthy(env: Env, mhc: KObject, cluster: KObject, t: Target, log: ReconcileContext["log"]): Promise<void> {
  const spec = mhcSpec(mhc);
  const m = t.machine;
  let owned: OwnedConditions = HEALTHY_OWNED;
  const paused = (cluster.spec as { paused?: boolean } | undefined)?.paused === true || hasAnnotation(cluster, "cluster.x-k8s.io/paused") || hasAnnotation(m, "cluster.x-k8s.io/paused");
  if (paused) {
    log.info({ machine: m.metadata.name }, "machine has failed health check, but machine is paused so skipping remediation");
  } else if (spec.remediation?.templateRef?.kind) {
    // One request per Machine: while it exists, the external remediation controller is at work.
    if ((await createRemediationRequest(env, mhc, m)) === "created") {
      owned = { ...HEALTHY_OWNED, conditions: [...HEALTHY_OWNED.conditions, C.ExternallyRemediated] };
    }
  } else if (!m.metadata.deletionTimestamp) {
    log.info({ machine: m.metadata.name }, "machine has failed health check, marking for remediation");
    setV1Beta1Condition(m, { type: "OwnerRemediated", status: "False", severity: "Warning", reason: "WaitingForRemediation" });
    setCondition(m, { type: C.OwnerRemediated, status: "False", reason: "WaitingForRemediation", message: "Waiting for remediation" });
    // Started only when missing or True: a remediation in progress belongs to the owner.
    owned = { ...HEALTHY_OWNED, startOnly: [C.OwnerRemediated] };
  }
  await writeMachine(env.client, t.before, m, owned);
  env.recorder.normal(m, "MachineMarkedUnhealthy", `Machine ${m.metadata.namespace}/${m.metadata.name} has been marked as unhealthy by ${mhc.metadata.namespace}/${mhc.metadata.name}`);
}

function remediationRequestRef(mhc: KObject, machineName: string) {
  const ref = mhcSpec(mhc).remediation!.templateRef!;
  return { apiVersion: ref.apiVersion!, kind: ref.kind!.replace(/Template$/, ""), namespace: mhc.metadata.namespace, name: machineName };
}

/** Creates the external remediation request (a copy of the template's `spec.template`, named like the Machine). */
async function createRemediationRequest(env: Env, mhc: KObject, m: KObject): Promise<"exists" | "created"> {
  const { client } = env;
  const ref = mhcSpec(mhc).remediation!.templateRef!;
  const requestRef = remediationRequestRef(mhc, m.metadata.name!);
  if (client.served(requestRef.apiVersion, requestRef.kind) && client.get(requestRef)) return "exists";
  const template = client.served(ref.apiVersion!, ref.kind!) ? client.get({ apiVersion: ref.apiVersion!, kind: ref.kind!, namespace: mhc.metadata.namespace, name: ref.name! }) : undefined;
  if (!template) {
    const message = `Error retrieving remediation template ${ref.kind} ${mhc.metadata.namespace}/${ref.name}`;
    setV1Beta1Condition(mhc, { type: "ExternalRemediationTemplateAvailable", status: "False", severity: "Error", reason: "ExternalRemediationTemplateNotFound", message });
    setCondition(m, { type: C.ExternallyRemediated, status: "False", reason: "RemediationTemplateNotFound", message });
    throw new Error(`error retrieving remediation template ${ref.kind} ${ref.name} for machine ${m.metadata.name}`);
  }
  const tpl = ((template.spec as { template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: unknown } } | undefined)?.template ?? {});
  const obj: KObject = {
    apiVersion: requestRef.apiVersion,
    kind: requestRef.kind,
    metadata: {
      name: m.metadata.name,
      namespace: m.metadata.namespace,
      labels: { ...(tpl.metadata?.labels ?? {}), [CLUSTER_NAME_LABEL]: mhcSpec(mhc).clusterName },
      annotations: { ...(tpl.metadata?.annotations ?? {}), [CLONED_FROM_NAME]: ref.name!, [CLONED_FROM_GROUPKIND]: `${ref.kind}.${groupOf(ref.apiVersion!)}` },
      ownerReferences: [{ apiVersion: CAPI_VERSION, kind: "Machine", name: m.metadata.name!, uid: m.metadata.uid! }],
    },
    ...(tpl.spec !== undefined ? { spec: cloneData(tpl.spec) } : {}),
  };
  try {
    await client.create(obj);
  } catch (e) {
    setV1Beta1Condition(mhc, { type: "ExternalRemediationRequestAvailable", status: "False", severity: "Error", reason: "ExternalRemediationRequestCreationFailed", message: String((e as Error).message ?? e) });
    setCondition(m, { type: C.ExternallyRemediated, status: "False", reason: "RemediationRequestCreationFailed", message: "Please check controller logs for errors" });
    throw e;
  }
  setCondition(m, { type: C.ExternallyRemediated, status: "False", reason: "WaitingForRemediation" });
  return "created";
}

/** A healthy Machine's leftover remediation request goes away. */
async function deleteRemediationRequest(env: Env, mhc: KObject, m: KObject): Promise<void> {
  const requestRef = remediationRequestRef(mhc, m.metadata.name!);
  if (!env.client.served(requestRef.apiVersion, requestRef.kind)) return;
  const obj = env.client.get(requestRef);
  if (obj && !obj.metadata.deletionTimestamp) await env.client.delete(requestRef);
}

export { DEFAULT_NODE_STARTUP_TIMEOUT_SECONDS };
