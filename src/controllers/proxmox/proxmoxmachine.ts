/**
 * The ProxmoxMachine controller (CAPMOX internal/controller/proxmoxmachine_controller.go +
 * vmservice): waits for its Machine, the Cluster's infrastructure and the bootstrap data, then
 * walks the provisioning steps, each of which reports itself through the reason of
 * `VirtualMachineProvisioned`. The steps read the VM's actual state each time, so a reconcile
 * after a crash picks up wherever the VM is.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { PveError } from "../../providers/proxmox/types.ts";
import type { Client } from "../../runtime/client.ts";
import { getCondition } from "../../runtime/conditions.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import { CAPI_GROUP, CAPI_VERSION, CLUSTER_NAME_LABEL, ensureFinalizer, groupOf, isPaused } from "../core/contract.ts";
import { CredentialsError } from "./backend-resolver.ts";
import { setVmProvisioned } from "./conditions.ts";
import { INFRA_GROUP, INFRA_VERSION, IPAM_CONTRACT_VERSION, isTerminalReason, MACHINE_FINALIZER, REQUEUE_MS, VM_PROVISIONED, VmReasons } from "./constants.ts";
import { reconcileBootstrap } from "./machine-bootstrap.ts";
import { configureVm } from "./machine-configure.ts";
import { reconcileDelete } from "./machine-delete.ts";
import { reconcileIps } from "./machine-ips.ts";
import { checkGuest, ejectIso, markProvisioned, powerOn, reconcileAddresses } from "./machine-power.ts";
import { MachineScope, type MachineShared, type ProxmoxControllerOptions, type Step } from "./machine-scope.ts";
import { reconcileTask } from "./machine-tasks.ts";
import { ensureVm } from "./machine-vm.ts";
import { Backoff, CloneQueue, KeyedMutex, TaskPolls } from "./retry.ts";
import { VmidReservations } from "./vmid.ts";
import { cloneData } from "../../lib/clone.ts";

export function machineShared(m: Manager, opts: ProxmoxControllerOptions): MachineShared {
  const client = m.client("proxmoxmachine-controller");
  return {
    client,
    recorder: m.recorder("proxmoxmachine-controller"),
    resolver: opts.resolver,
    timings: { taskPollMs: opts.taskPollMs ?? 5_000, requeueMs: opts.requeueMs ?? REQUEUE_MS },
    backoff: new Backoff(opts.retryBaseMs ?? 5_000, opts.retryMaxMs ?? 5 * 60_000),
    cloneQueue: new CloneQueue(opts.clonesPerStorage ?? 2),
    reservations: new VmidReservations(),
    clusterLocks: new KeyedMutex(),
    taskPolls: new TaskPolls(),
  };
}

export function setupProxmoxMachineController(m: Manager, opts: ProxmoxControllerOptions): Controller | undefined {
  const machines = m.informers.forKind(INFRA_VERSION, "ProxmoxMachine");
  if (!machines) return undefined;
  const shared = machineShared(m, opts);
  const c = new Controller("proxmoxmachine", (req, ctx) => reconcile(shared, req, ctx), opts.concurrency ?? 4);
  shared.wake = (namespace, name) => c.enqueue({ namespace, name });
  c.watchFor(machines);
  // The Machine that owns one (bootstrap data, version, deletion, Available for the ISO eject).
  const capiMachines = m.informers.forKind(CAPI_VERSION, "Machine");
  if (capiMachines) {
    c.watchMapped(capiMachines, (o) => {
      const ref = (o.spec as { infrastructureRef?: { apiGroup?: string; kind?: string; name?: string } } | undefined)?.infrastructureRef;
      return ref?.kind === "ProxmoxMachine" && ref.apiGroup === INFRA_GROUP && ref.name ? [{ namespace: o.metadata.namespace, name: ref.name }] : [];
    });
  }
  // Cluster infrastructure readiness and the ProxmoxCluster's pools reach all its machines.
  const byCluster = (ns: string | undefined, cluster: string | undefined): Request[] =>
    cluster ? shared.client.listShared(INFRA_VERSION, "ProxmoxMachine", ns, { labelSelector: `${CLUSTER_NAME_LABEL}=${cluster}` }).map((pm) => ({ namespace: pm.metadata.namespace, name: pm.metadata.name! })) : [];
  // Only the fields that matter here, so the Cluster's and ProxmoxCluster's own status churn
  // does not fan out to every machine.
  const clusterFacts = (o: KObject) => JSON.stringify([(o.status as { initialization?: unknown } | undefined)?.initialization ?? null, o.spec ?? null, o.metadata.annotations ?? null]);
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (clusters) c.watchMapped(clusters, (o, old) => (old && clusterFacts(o) === clusterFacts(old) ? [] : byCluster(o.metadata.namespace, o.metadata.name)));
  const pcFacts = (o: KObject) => JSON.stringify([(o.status as { inClusterZoneRef?: unknown } | undefined)?.inClusterZoneRef ?? null, o.spec ?? null, o.metadata.labels ?? null]);
  const pcs = m.informers.forKind(INFRA_VERSION, "ProxmoxCluster");
  if (pcs) c.watchMapped(pcs, (o, old) => (old && pcFacts(o) === pcFacts(old) ? [] : byCluster(o.metadata.namespace, o.metadata.labels?.[CLUSTER_NAME_LABEL])));
  const claims = m.informers.forKind(IPAM_CONTRACT_VERSION, "IPAddressClaim");
  if (claims) c.watchOwned(claims, { group: INFRA_GROUP, kind: "ProxmoxMachine" });
  m.add(c);
  return c;
}

// The Machine, Cluster and ProxmoxCluster are only read here: the caches' own frozen objects
// (no copy per reconcile; a write to one would throw).
function ownerMachine(client: Client, pm: KObject): KObject | undefined {
  const ref = pm.metadata.ownerReferences?.find((r) => r.kind === "Machine" && groupOf(r.apiVersion) === CAPI_GROUP);
  return ref ? client.getShared({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: pm.metadata.namespace, name: ref.name }) : undefined;
}

async function reconcile(shared: MachineShared, req: Request, ctx: ReconcileContext): Promise<Result | void> {
  const { client } = shared;
  // The stored version, read only (the scope works on its own copy).
  const current = client.getShared({ apiVersion: INFRA_VERSION, kind: "ProxmoxMachine", namespace: req.namespace, name: req.name });
  if (!current) return;
  const deleting = Boolean(current.metadata.deletionTimestamp);
  if (deleting && !current.metadata.finalizers?.includes(MACHINE_FINALIZER)) return;
  let machine = ownerMachine(client, current);
  if (!machine) {
    if (!deleting) {
      ctx.log.debug({}, "Machine Controller has not yet set OwnerRef");
      return;
    }
    machine = { apiVersion: CAPI_VERSION, kind: "Machine", metadata: { name: "", namespace: req.namespace } };
  }
  const clusterName = machine.metadata.labels?.[CLUSTER_NAME_LABEL] ?? current.metadata.labels?.[CLUSTER_NAME_LABEL];
  const cluster = clusterName ? client.getShared({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: req.namespace, name: clusterName }) : undefined;
  if (!cluster) {
    ctx.log.debug({}, "Machine is missing cluster label or cluster does not exist");
    return;
  }
  if (isPaused(cluster, current)) return;
  const infraRef = (cluster.spec as { infrastructureRef?: { name?: string; kind?: string } } | undefined)?.infrastructureRef;
  const pc = infraRef?.kind === "ProxmoxCluster" && infraRef.name ? client.getShared({ apiVersion: INFRA_VERSION, kind: "ProxmoxCluster", namespace: req.namespace, name: infraRef.name }) : undefined;
  if (!pc) {
    ctx.log.debug({}, "ProxmoxCluster is not ready yet");
    return;
  }
  let backend;
  try {
    backend = await shared.resolver.forCluster(pc);
  } catch (e) {
    if (!(e instanceof CredentialsError)) throw e;
    // The ProxmoxCluster reports the same (CredentialsNotFound / ProxmoxUnreachable); look again
    // now and then rather than through the controller-wide error backoff.
    const after = cloneData(current);
    setVmProvisioned(after, "False", getCondition(after, VM_PROVISIONED)?.reason ?? VmReasons.WaitingForClusterInfrastructureReady, e.message);
    await patchObject(client, current, after);
    return { requeueAfter: shared.timings.requeueMs * 6 };
  }
  const s = new MachineScope(shared, current, machine, cluster, pc, backend, ctx.log);

  let step: Step;
  try {
    if (deleting) {
      step = (await reconcileTask(s, true)) ?? (await reconcileDelete(s));
      if (!s.pm.metadata.finalizers?.includes(MACHINE_FINALIZER)) s.pm.status = s.before.status; // the object goes away with this write
    } else {
      step = await reconcileNormal(s);
      shared.backoff.reset(`${s.uid}/api`);
    }
  } catch (e) {
    if (!(e instanceof PveError)) throw e;
    // PVE refused or failed a call (a 500, a lock timeout, unreachable): keep the state, say
    // why, and come back after this machine's own backoff (not the controller-wide limiter).
    const wait = shared.backoff.next(`${s.uid}/api`);
    const reason = getCondition(s.pm, VM_PROVISIONED)?.reason ?? VmReasons.Cloning;
    setVmProvisioned(s.pm, "False", deleting ? VmReasons.DeletionFailed : reason, e.message);
    ctx.log.info({ err: e.message, status: e.status, retryInMs: wait }, "Proxmox call failed; retrying");
    step = { requeueAfter: wait };
  }
  await patchObject(client, s.before, s.pm);
  if (step && step.requeueAfter >= 0) return { requeueAfter: step.requeueAfter };
}

async function reconcileNormal(s: MachineScope): Promise<Step> {
  const cond = getCondition(s.pm, VM_PROVISIONED);
  // A terminal stop holds until the spec changes.
  if (cond && isTerminalReason(cond.reason) && cond.observedGeneration === s.pm.metadata.generation) return undefined;
  const clusterStatus = (s.cluster.status ?? {}) as { initialization?: { infrastructureProvisioned?: boolean } };
  if (!clusterStatus.initialization?.infrastructureProvisioned) {
    setVmProvisioned(s.pm, "False", VmReasons.WaitingForClusterInfrastructureReady);
    return undefined;
  }
  if (!(s.machine.spec as { bootstrap?: { dataSecretName?: string } } | undefined)?.bootstrap?.dataSecretName) {
    setVmProvisioned(s.pm, "False", VmReasons.WaitingForBootstrapData);
    return undefined;
  }
  if (ensureFinalizer(s.pm, MACHINE_FINALIZER)) await s.save();
  if (!cond || cond.reason === VmReasons.WaitingForClusterInfrastructureReady || cond.reason === VmReasons.WaitingForBootstrapData || isTerminalReason(cond.reason)) {
    setVmProvisioned(s.pm, "False", VmReasons.Cloning);
  }
  if (s.status.initialization?.provisioned && s.spec.virtualMachineID !== undefined && !s.status.taskRef) {
    // Provisioned: nothing is reconciled on the VM any more (as CAPMOX), except the ISO eject.
    await ejectIso(s);
    return undefined;
  }
  s.status.vmStatus = "pending";
  const task = await reconcileTask(s, false);
  if (task) return task;

  const found = await ensureVm(s);
  if ("step" in found) return found.step;
  const vm = found.vm;
  const vmid = s.spec.virtualMachineID!;
  const state = await s.backend.vmStatus(vm.node, vmid);
  const running = state?.status === "running";
  if (!running) {
    setVmProvisioned(s.pm, "False", VmReasons.WaitingForDiskReconciliation);
    const configured = await configureVm(s, vm);
    if (configured) return configured;
    setVmProvisioned(s.pm, "False", VmReasons.WaitingForStaticIPAllocation);
    const ips = await reconcileIps(s, vm);
    if ("step" in ips) return ips.step;
    setVmProvisioned(s.pm, "False", VmReasons.WaitingForBootstrapDataReconciliation);
    const boot = await reconcileBootstrap(s, vm, ips);
    if (boot) return boot;
    setVmProvisioned(s.pm, "False", VmReasons.WaitingForVMPowerUp);
    const power = await powerOn(s, vm);
    if (power) return power;
  }
  setVmProvisioned(s.pm, "False", VmReasons.WaitingForClusterAPIMachineAddresses);
  const addresses = await reconcileAddresses(s, vm);
  if (addresses) return addresses;
  setVmProvisioned(s.pm, "False", VmReasons.WaitingForCloudInit);
  const guest = await checkGuest(s, vm);
  if (guest) return guest;
  setVmProvisioned(s.pm, "False", VmReasons.WaitingForBootstrapReady);
  markProvisioned(s);
  s.shared.backoff.reset(s.uid);
  s.log.info({ vmid, node: vm.node, providerID: s.spec.providerID }, "ProxmoxMachine is ready");
  await ejectIso(s);
  return undefined;
}
