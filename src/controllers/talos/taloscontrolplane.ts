/**
 * The TalosControlPlane controller (CACPPT's role), one step per reconcile (see tcp-plan.ts):
 * create control-plane machines one at a time, each after the previous is healthy; bootstrap etcd
 * exactly once on the first machine in numeric address order; check health (etcd service running
 * and healthy, the machine listed as an etcd member); scale down by forfeit-leadership → leave →
 * remove member, then delete the Machine; replace out-of-date machines (RollingUpdate with
 * maxSurge; OnDelete leaves them); keep `<cluster>-kubeconfig` current; report status
 * (selector, replicas, readyReplicas, unavailableReplicas, initialized, ready, conditions).
 *
 * The bootstrap is recorded before the call — annotation {@link BOOTSTRAP_ANNOTATION} (machine
 * and address) and condition `EtcdBootstrapped=False/BootstrapRequested` — so a restarted
 * controller never picks another node: it asks that node's etcd first and calls it again only when
 * etcd evidently never started there (AlreadyExists counts as done).
 * A machine being removed is marked with {@link LEAVING_ANNOTATION} before its etcd membership is
 * given up, so a restart finishes the removal instead of waiting for it to become healthy again.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import { CAPI_VERSION, clusterInfrastructureProvisioned, clusterOfControlPlane, clusterPausedTransitionsOrInfrastructureProvisioned, controlPlaneOfCluster, ensureOwnerRef, isPaused } from "../core/contract.ts";
import { parseTalosconfig, storedSecretsBundle, syncTalosconfigEndpoints } from "./cluster-secrets.ts";
import { CONTROL_PLANE_NAME_LABEL, getSecret, machineAddress, secretValue, TALOSCONFIG_VERSION, TCP_VERSION, upsertLegacyCondition, type LegacyCondition } from "./common.ts";
import type { TalosControllersEnv } from "./index.ts";
import { createControlPlaneMachine, ETCD_HOOK_ANNOTATION, machineUpToDate, selectorString, templateApiVersion, type TalosControlPlaneSpec } from "./tcp-machines.ts";
import { ensureControlPlaneKubeconfig } from "./tcp-kubeconfig.ts";
import { plan, resolveMaxSurge, type Action, type MachineView } from "./tcp-plan.ts";
import { BOOTSTRAP_TIMEOUT_MS, TalosNodes, TalosNodesPool } from "./tcp-talos.ts";
import { cloneData } from "../../lib/clone.ts";

export const BOOTSTRAP_ANNOTATION = "controlplane.cluster.x-k8s.io/talos-etcd-bootstrap";
export const LEAVING_ANNOTATION = "controlplane.cluster.x-k8s.io/talos-etcd-leaving";

interface TcpStatus {
  selector?: string;
  replicas?: number;
  readyReplicas?: number;
  unavailableReplicas?: number;
  initialized?: boolean;
  ready?: boolean;
  bootstrapped?: boolean;
  version?: string;
  observedGeneration?: number;
  conditions?: LegacyCondition[];
}

export function setupTalosControlPlaneController(m: Manager, env: TalosControllersEnv = {}): Controller | undefined {
  const tcps = m.informers.forKind(TCP_VERSION, "TalosControlPlane");
  if (!tcps) return undefined;
  const client = m.client("taloscontrolplane-controller");
  const recorder = m.recorder("taloscontrolplane-controller");
  const talos = new TalosNodesPool();
  const c = new Controller("taloscontrolplane", (req, ctx) => reconcile(client, recorder, env, req, ctx, talos), 4);
  c.onStop(() => talos.close());
  c.watchFor(tcps);
  const machines = m.informers.forKind(CAPI_VERSION, "Machine");
  if (machines) c.watchOwned(machines, { group: "controlplane.cluster.x-k8s.io", kind: "TalosControlPlane" }, machineChangeMatters);
  const configs = m.informers.forKind(TALOSCONFIG_VERSION, "TalosConfig");
  if (configs) {
    c.watchMapped(configs, (o) => {
      const tcp = o.metadata.labels?.[CONTROL_PLANE_NAME_LABEL];
      return tcp ? [{ namespace: o.metadata.namespace, name: tcp }] : [];
    });
  }
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (clusters) {
    // as upstream CACPPT: only pause transitions and the infrastructure becoming provisioned
    const map = controlPlaneOfCluster("TalosControlPlane");
    c.watchMapped(clusters, (o, old, type) => (clusterPausedTransitionsOrInfrastructureProvisioned(o, old, type) ? map(o) : []));
  }
  m.add(c);
  return c;
}



const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** As upstream: the Cluster owns the machine template, so deleting the Cluster removes it. */
async function ownInfrastructureTemplate(client: Client, cluster: KObject, spec: TalosControlPlaneSpec, ns: string): Promise<void> {
  const ref = spec.infrastructureTemplate;
  if (!ref?.apiVersion || !ref.kind?.endsWith("Template") || !ref.name) return;
  const tmpl = client.get({ apiVersion: templateApiVersion(client, { apiVersion: ref.apiVersion, kind: ref.kind }), kind: ref.kind, namespace: ns, name: ref.name });
  if (!tmpl) return;
  const after = cloneData(tmpl);
  if (ensureOwnerRef(after, cluster, false)) await patchObject(client, tmpl, after, false);
}

async function reconcile(client: Client, recorder: EventRecorder, env: TalosControllersEnv, req: Request, ctx: ReconcileContext, talos: TalosNodesPool): Promise<Result | void> {
  const requeueMs = env.requeueMs ?? 10_000;
  const current = client.get({ apiVersion: TCP_VERSION, kind: "TalosControlPlane", namespace: req.namespace, name: req.name });
  if (!current || current.metadata.deletionTimestamp) return;
  const cluster = clusterOfControlPlane(client, current);
  if (!cluster) {
    ctx.log.debug({}, "waiting for the owner Cluster");
    return;
  }
  if (isPaused(cluster, current)) return;
  const ns = current.metadata.namespace!;
  const clusterName = cluster.metadata.name!;
  const tcpName = current.metadata.name!;
  const tcp = cloneData(current);
  const spec = (tcp.spec ?? {}) as TalosControlPlaneSpec;
  const status = (tcp.status ??= {}) as TcpStatus;
  const cond = (c: Omit<LegacyCondition, "lastTransitionTime">) => {
    status.conditions = upsertLegacyCondition(status.conditions, c);
  };
  status.selector = selectorString(clusterName, tcpName);
  status.observedGeneration = tcp.metadata.generation;
  const save = async () => {
    await patchObject(client, current, tcp);
  };

  await ownInfrastructureTemplate(client, cluster, spec, ns);
  if (!clusterInfrastructureProvisioned(cluster)) {
    cond({ type: "Ready", status: "False", severity: "Info", reason: "WaitingForClusterInfrastructure" });
    await save();
    return;
  }

  const machines = client
    .list(CAPI_VERSION, "Machine", ns, { labelSelector: selectorString(clusterName, tcpName) })
    .filter((mm) => mm.metadata.ownerReferences?.some((r) => r.uid === tcp.metadata.uid));
  // The Secret's data is read only to make the clients: they are kept while its resourceVersion holds.
  const talosconfigName = `${clusterName}-talosconfig`;
  const talosconfig = client.getCachedMetadata({ apiVersion: "v1", kind: "Secret", namespace: ns, name: talosconfigName });
  const lease = talosconfig
    ? talos.acquire(`${ns}/${clusterName}`, talosconfig.metadata.resourceVersion!, () => {
        const text = secretValue(getSecret(client, ns, talosconfigName), "talosconfig");
        return new TalosNodes(clusterName, parseTalosconfig(text), env.dialer, env.talosTimeoutMs ?? 10_000);
      })
    : undefined;
  const nodes = lease?.nodes;
  try {
    // ---- observe ----
    let memberNames: Set<string> | undefined;
    const views: MachineView[] = [];
    const healthMsgs: string[] = [];
    for (const mm of machines) {
      const address = machineAddress(mm);
      let healthy = false;
      if (address && nodes && status.bootstrapped && !mm.metadata.deletionTimestamp) {
        try {
          const svc = await nodes.etcdService(address);
          if (svc?.state === "Running" && svc.healthy) {
            memberNames ??= new Set((await nodes.members(address)).map((x) => x.hostname));
            healthy = memberNames.has(mm.metadata.name!);
            if (!healthy) healthMsgs.push(`${mm.metadata.name}: not an etcd member`);
          } else healthMsgs.push(`${mm.metadata.name}: etcd ${svc?.state ?? "absent"}`);
        } catch (e) {
          healthMsgs.push(`${mm.metadata.name}: ${msg(e)}`);
        }
      }
      views.push({
        name: mm.metadata.name!,
        created: Date.parse(mm.metadata.creationTimestamp ?? "") || 0,
        address,
        healthy,
        upToDate: machineUpToDate(client, spec, mm),
        deleting: Boolean(mm.metadata.deletionTimestamp),
        leaving: LEAVING_ANNOTATION in (mm.metadata.annotations ?? {}),
        hook: ETCD_HOOK_ANNOTATION in (mm.metadata.annotations ?? {}),
      });
    }
    const replicas = spec.replicas ?? 1;
    const ready = views.filter((v) => v.healthy).length;
    status.replicas = views.filter((v) => !v.deleting).length;
    status.readyReplicas = ready;
    status.unavailableReplicas = Math.max(0, (status.replicas ?? 0) - ready);
    if (views.length && views.every((v) => v.upToDate)) status.version = spec.version;
    const stray = memberNames ? [...memberNames].filter((n) => !machines.some((mm) => mm.metadata.name === n)) : [];
    if (stray.length) healthMsgs.push(`etcd members without a machine: ${stray.join(", ")}`);
    if (status.bootstrapped) {
      cond(
        healthMsgs.length
          ? { type: "EtcdClusterHealthy", status: "False", severity: "Warning", reason: "EtcdClusterUnhealthy", message: healthMsgs.join("; ") }
          : { type: "EtcdClusterHealthy", status: "True" },
      );
    }

    // ---- act ----
    const strategyType = spec.rolloutStrategy?.type === "OnDelete" ? "OnDelete" : "RollingUpdate";
    const action: Action = plan({
      replicas,
      members: memberNames ? [...memberNames] : undefined,
      machines: views,
      bootstrapped: Boolean(status.bootstrapped),
      strategy: { type: strategyType, maxSurge: resolveMaxSurge(spec.rolloutStrategy?.rollingUpdate?.maxSurge, replicas) },
    });
    let requeue: number | undefined;
    switch (action.kind) {
      case "create": {
        const name = await createControlPlaneMachine(client, tcp, clusterName);
        recorder.normal(tcp, "MachineCreated", `created control-plane machine ${name} (${action.reason})`);
        ctx.log.info({ machine: name, reason: action.reason }, "created control-plane machine");
        cond({ type: "MachinesCreated", status: "True" });
        break;
      }
      case "bootstrap":
        requeue = await bootstrapEtcd(client, recorder, current, tcp, status, nodes, action.machine, action.address, ctx);
        break;
      case "scaleDown":
        requeue = await scaleDown(client, recorder, tcp, nodes, machines, views, action.machine, ctx);
        break;
      case "release":
        requeue = await releaseDeleting(client, recorder, tcp, nodes, machines, views, action.machine, ctx);
        break;
      case "removeStrayMembers":
        requeue = await removeStrayMembers(recorder, tcp, nodes, views, action.members, ctx);
        break;
      case "wait":
        ctx.log.debug({ reason: action.reason }, "waiting");
        requeue = requeueMs;
        break;
      case "none":
        break;
    }

    // ---- report ----
    if (talosconfig) {
      await syncTalosconfigEndpoints(client, cluster, () => storedSecretsBundle(client, cluster));
    }
    status.initialized = Boolean(status.bootstrapped);
    if (status.initialized) {
      const why = await ensureControlPlaneKubeconfig(client, cluster, env.labProxyUrl);
      if (why) {
        ctx.log.info({ reason: why }, "wrote the cluster kubeconfig");
        recorder.normal(cluster, "KubeconfigGenerated", `wrote Secret ${clusterName}-kubeconfig (${why})`);
      }
    }
    status.ready = status.initialized && ready > 0;
    cond(
      status.ready
        ? { type: "Available", status: "True" }
        : { type: "Available", status: "False", severity: "Info", reason: status.initialized ? "WaitingForEtcd" : "WaitingForBootstrap" },
    );
    const settled = action.kind === "none";
    cond(settled && ready === replicas ? { type: "Ready", status: "True" } : { type: "Ready", status: "False", severity: "Info", reason: action.kind === "wait" ? "Waiting" : "Reconciling", message: "reason" in action ? action.reason : "" });
    if (action.kind === "bootstrap") {
      // bootstrapEtcd wrote its own status (before and after the call).
      const latest = client.get({ apiVersion: TCP_VERSION, kind: "TalosControlPlane", namespace: ns, name: tcpName });
      if (latest) await patchObject(client, latest, { ...tcp, metadata: latest.metadata, status: { ...(tcp.status as object), bootstrapped: (latest.status as TcpStatus | undefined)?.bootstrapped, conditions: mergeConditions(latest, status) } });
    } else await save();
    if (requeue !== undefined) return { requeueAfter: requeue };
    // polled closely only for what no event announces (etcd health); Machine changes come as events
    if (!settled) return { requeueAfter: action.kind === "wait" && action.onEvent ? requeueMs : Math.min(requeueMs, 1_000) };
    return status.ready ? { requeueAfter: requeueMs * 6 } : { requeueAfter: requeueMs };
  } finally {
    lease?.release();
  }
}

/**
 * What the control plane reads of its Machines: an update that changes none of it (a condition's
 * message following the infrastructure's progress, observedGeneration) does not reconcile the
 * TalosControlPlane — a Machine's status is written about a dozen times while it provisions.
 * etcd health, which no event announces, is polled by the requeue either way.
 */
export function machineChangeMatters(obj: KObject, old: KObject): boolean {
  const view = (m: KObject) => {
    const st = (m.status ?? {}) as { addresses?: unknown; nodeRef?: unknown; initialization?: unknown; phase?: unknown };
    const { labels, annotations, deletionTimestamp, finalizers, ownerReferences } = m.metadata;
    return JSON.stringify([m.spec, labels, annotations, deletionTimestamp, finalizers, ownerReferences, st.addresses, st.nodeRef, st.initialization, st.phase]);
  };
  return view(obj) !== view(old);
}

function mergeConditions(latest: KObject, status: TcpStatus): LegacyCondition[] {
  const stored = (latest.status as TcpStatus | undefined)?.conditions ?? [];
  const boot = stored.find((c) => c.type === "EtcdBootstrapped");
  const mine = (status.conditions ?? []).filter((c) => c.type !== "EtcdBootstrapped");
  return boot ? [...mine, boot] : mine;
}

/**
 * The one-time etcd bootstrap: record the chosen node, then call it. A recorded node is kept
 * across restarts; its etcd is asked before any second call.
 */
async function bootstrapEtcd(
  client: Client,
  recorder: EventRecorder,
  before: KObject,
  tcp: KObject,
  status: TcpStatus,
  nodes: TalosNodes | undefined,
  machine: string,
  address: string,
  ctx: ReconcileContext,
): Promise<number | undefined> {
  if (!nodes) return 1_000;
  const ref = { apiVersion: TCP_VERSION, kind: "TalosControlPlane", namespace: tcp.metadata.namespace, name: tcp.metadata.name! };
  const recorded = before.metadata.annotations?.[BOOTSTRAP_ANNOTATION];
  let target = { machine, address };
  if (recorded) {
    const [m, a] = recorded.split("/");
    target = { machine: m!, address: a! };
    // Already asked once: did etcd start there?
    try {
      const members = await nodes.members(target.address, BOOTSTRAP_TIMEOUT_MS);
      if (members.length) {
        await markBootstrapped(client, ref, target, "etcd already running on the recorded node");
        status.bootstrapped = true;
        return undefined;
      }
    } catch {
      // etcd is not running there: the earlier call did not happen or failed; ask again below.
    }
  } else {
    // Record first (annotation + status), so no restart can ever choose a different node.
    await client.patch(ref, "merge", { metadata: { annotations: { [BOOTSTRAP_ANNOTATION]: `${machine}/${address}` }, resourceVersion: before.metadata.resourceVersion } });
    const latest = client.get(ref)!;
    const withCond = cloneData(latest);
    const st = (withCond.status ??= {}) as TcpStatus;
    st.conditions = upsertLegacyCondition(st.conditions, { type: "EtcdBootstrapped", status: "False", severity: "Info", reason: "BootstrapRequested", message: `etcd bootstrap requested on ${machine} (${address})` });
    await patchObject(client, latest, withCond);
  }
  try {
    const result = await nodes.bootstrap(target.address);
    recorder.normal(tcp, "EtcdBootstrapped", `bootstrapped etcd on ${target.machine} (${target.address})${result === "already" ? ": it was already bootstrapped" : ""}`);
    ctx.log.info({ machine: target.machine, address: target.address, result }, "bootstrapped etcd");
    await markBootstrapped(client, ref, target, result === "already" ? "AlreadyExists" : "");
    status.bootstrapped = true;
    return undefined;
  } catch (e) {
    ctx.log.info({ machine: target.machine, err: msg(e) }, "etcd bootstrap not accepted yet");
    // Say why on the condition (time not in sync, node unreachable), keeping the recorded intent.
    const latest = client.get(ref);
    if (latest) {
      const next = cloneData(latest);
      const st = (next.status ??= {}) as TcpStatus;
      st.conditions = upsertLegacyCondition(st.conditions, { type: "EtcdBootstrapped", status: "False", severity: "Info", reason: "BootstrapRequested", message: `etcd bootstrap requested on ${target.machine} (${target.address}), not accepted yet: ${msg(e)}` });
      await patchObject(client, latest, next);
    }
    return 2_000;
  }
}

async function markBootstrapped(client: Client, ref: { apiVersion: string; kind: string; namespace?: string; name: string }, target: { machine: string; address: string }, note: string): Promise<void> {
  const latest = client.get(ref)!;
  const next = cloneData(latest);
  const st = (next.status ??= {}) as TcpStatus;
  st.bootstrapped = true;
  st.conditions = upsertLegacyCondition(st.conditions, { type: "EtcdBootstrapped", status: "True", message: `etcd bootstrapped on ${target.machine} (${target.address})${note ? `: ${note}` : ""}` });
  await patchObject(client, latest, next);
}

/** Marks the machine as leaving, gives up its etcd membership, then deletes the Machine. */
async function scaleDown(
  client: Client,
  recorder: EventRecorder,
  tcp: KObject,
  nodes: TalosNodes | undefined,
  machines: KObject[],
  views: MachineView[],
  name: string,
  ctx: ReconcileContext,
): Promise<number | undefined> {
  const mm = machines.find((x) => x.metadata.name === name);
  const view = views.find((v) => v.name === name);
  if (!mm || !view) return 1_000;
  if (!view.leaving) {
    await client.patch({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: mm.metadata.namespace, name }, "merge", { metadata: { annotations: { [LEAVING_ANNOTATION]: "true" } } });
  }
  if (nodes && view.address) {
    const via = views.filter((v) => v.name !== name && v.address && v.healthy && !v.leaving).sort((a, b) => a.created - b.created)[0]?.address;
    try {
      await nodes.removeMember(name, view.address, via);
      recorder.normal(tcp, "EtcdMemberRemoved", `machine ${name} (${view.address}) left etcd`);
    } catch (e) {
      ctx.log.info({ machine: name, err: msg(e) }, "could not take the machine out of etcd yet");
      return 2_000;
    }
  }
  await client.delete({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: mm.metadata.namespace, name });
  recorder.normal(tcp, "MachineDeleted", `removed control-plane machine ${name} from etcd and deleted it`);
  ctx.log.info({ machine: name }, "scaled down control-plane machine");
  return undefined;
}

/** A healthy, staying machine's address to reach etcd through. */
function viaAddress(views: MachineView[], except: string): string | undefined {
  return views.filter((v) => v.name !== except && v.address && v.healthy && !v.leaving && !v.deleting).sort((a, b) => a.created - b.created)[0]?.address;
}

/**
 * A Machine being deleted (by us or by someone else) still holds our pre-terminate hook: remove
 * its etcd member through a healthy remaining member, then drop the hook so deletion goes on. With
 * other machines but none healthy it waits; with no other machine at all (the whole control plane
 * goes) the hook is dropped without etcd calls.
 */
async function releaseDeleting(
  client: Client,
  recorder: EventRecorder,
  tcp: KObject,
  nodes: TalosNodes | undefined,
  machines: KObject[],
  views: MachineView[],
  name: string,
  ctx: ReconcileContext,
): Promise<number | undefined> {
  const mm = machines.find((x) => x.metadata.name === name);
  const view = views.find((v) => v.name === name);
  if (!mm || !view) return 1_000;
  const others = views.filter((v) => v.name !== name && !v.deleting);
  const via = viaAddress(views, name);
  if (others.length && !via) {
    ctx.log.info({ machine: name }, "waiting for a healthy machine to remove the deleting machine's etcd member through");
    return 2_000;
  }
  if (nodes && via) {
    try {
      await nodes.removeMember(name, view.address ?? "", via);
      recorder.normal(tcp, "EtcdMemberRemoved", `removed the etcd member of deleting machine ${name}`);
    } catch (e) {
      ctx.log.info({ machine: name, err: msg(e) }, "could not remove the deleting machine's etcd member yet");
      return 2_000;
    }
  }
  await client.patch({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: mm.metadata.namespace, name }, "merge", { metadata: { annotations: { [ETCD_HOOK_ANNOTATION]: null } } });
  recorder.normal(tcp, "EtcdMemberReleased", `machine ${name} is out of etcd; its deletion may proceed`);
  return undefined;
}

async function removeStrayMembers(recorder: EventRecorder, tcp: KObject, nodes: TalosNodes | undefined, views: MachineView[], members: string[], ctx: ReconcileContext): Promise<number | undefined> {
  const via = viaAddress(views, "");
  if (!nodes || !via) return 2_000;
  for (const hostname of members) {
    try {
      await nodes.removeMember(hostname, "", via);
      recorder.normal(tcp, "EtcdMemberRemoved", `removed etcd member ${hostname}: no machine of this control plane has that name`);
    } catch (e) {
      ctx.log.info({ member: hostname, err: msg(e) }, "could not remove a stray etcd member");
      return 2_000;
    }
  }
  return undefined;
}
