/**
 * Cloning (CAPMOX step 1), crash-safe: the VMID, the target node and the clone about to be sent
 * are written to the ProxmoxMachine before the request; the UPID right after it. Whatever the
 * process knew when it died, the next reconcile finds the VM by VMID on the recorded nodes and
 * adopts it when it can prove it is its own (name + description marker), instead of cloning
 * again. Only a missing template, an exhausted VMID range or no node with room stop for good.
 * @module
 */
import { crashPoint } from "../../lib/faults.ts";
import { PveError } from "../../providers/proxmox/types.ts";
import { writeIntent, type CloneIntent } from "./clone-intent.ts";
import { setVmProvisioned } from "./conditions.ts";
import { INFRA_VERSION, TerminalReasons, VmReasons } from "./constants.ts";
import type { MachineScope, Step } from "./machine-scope.ts";
import { locationsFor, setNodeLocation } from "./node-locations.ts";
import { vmDescription } from "./ownership.ts";
import { isLockTimeout } from "./retry.ts";
import { InsufficientMemoryError, scheduleVm } from "./scheduler.ts";
import { selectTemplate, TEMPLATE_NOT_FOUND, TemplateNotFoundError, type TemplateRef } from "./templates.ts";
import type { ProxmoxMachineSpec } from "./types.ts";
import { chooseVmid, VmidsExhaustedError } from "./vmid.ts";

/** Stops for good: the condition says why; a spec change (new generation) tries again. */
function terminal(s: MachineScope, reason: string, message: string): Step {
  setVmProvisioned(s.pm, "False", reason, message);
  s.shared.recorder.warning(s.pm, reason, message);
  s.log.warn({ reason, message }, "provisioning stopped");
  return { requeueAfter: -1 };
}

function waitFor(s: MachineScope, reason: string, message: string, ms = s.shared.timings.requeueMs): Step {
  setVmProvisioned(s.pm, "False", reason, message);
  return { requeueAfter: ms };
}

async function resolveTemplate(s: MachineScope): Promise<TemplateRef> {
  const spec = s.spec;
  const tpl = selectTemplate(spec, spec.templateSelector?.matchTags?.length ? await s.backend.vms() : []);
  if (!spec.templateSelector?.matchTags?.length) {
    // Confirm it from the config (consistent at once; /cluster/resources can lag).
    const config = await s.backend.vmConfig(tpl.node, tpl.vmid);
    if (!config) throw new TemplateNotFoundError(`${TEMPLATE_NOT_FOUND}: VM ${tpl.vmid} does not exist on node ${tpl.node}`);
  }
  return tpl;
}

function allowedNodes(s: MachineScope): string[] {
  const failureDomain = (s.machine.spec as { failureDomain?: string } | undefined)?.failureDomain;
  if (failureDomain) return [failureDomain];
  const own = s.spec.allowedNodes ?? [];
  return own.length ? own : (s.pcSpec.allowedNodes ?? []);
}

/** VMIDs every ProxmoxMachine the appliance knows has recorded (VMIDs are unique per PVE cluster). */
function recordedVmids(s: MachineScope): Set<number> {
  const out = new Set<number>();
  for (const pm of s.client.listShared(INFRA_VERSION, "ProxmoxMachine")) {
    const id = (pm.spec as ProxmoxMachineSpec | undefined)?.virtualMachineID;
    if (id !== undefined && pm.metadata.uid !== s.uid) out.add(id);
  }
  return out;
}

/** The clone slot's key when the spec alone names it (a target storage, or templateID on sourceNode). */
function slotKeyFromSpec(spec: ProxmoxMachineSpec): string | undefined {
  if (spec.storage) return `storage/${spec.storage}`;
  if (!spec.templateSelector?.matchTags?.length && spec.templateID !== undefined && spec.sourceNode) return `template/${spec.sourceNode}/${spec.templateID}`;
  return undefined;
}

/**
 * Takes a clone slot, or says to wait for one. The message stays the same while waiting (no
 * position in it), so a queue of N machines does not rewrite N conditions whenever it moves; a
 * freed slot wakes the machines next in line.
 */
function claimSlot(s: MachineScope, storage: string): Step | undefined {
  const { namespace, name } = s;
  const wake = s.shared.wake;
  const slot = s.shared.cloneQueue.acquire(storage, s.uid, () => wake?.(namespace, name));
  if (slot.granted) return undefined;
  s.log.debug({ storage, position: slot.position, holders: slot.holders }, "waiting for a clone slot");
  return waitFor(s, VmReasons.Cloning, `waiting for a clone slot on ${storage} (${s.shared.cloneQueue.perStorage} clones at a time)`, s.shared.timings.taskPollMs);
}

/**
 * Plans the clone (clone slot, template, node, VMID) and records it; then sends it. The slot
 * comes first when the spec names it, so machines queued behind others cost no PVE calls.
 */
export async function startClone(s: MachineScope): Promise<Step> {
  const pcRef = { apiVersion: s.pc.apiVersion!, kind: s.pc.kind!, namespace: s.pc.metadata.namespace, name: s.pc.metadata.name! };
  const planned = await s.shared.clusterLocks.run(s.pc.metadata.uid!, async (): Promise<CloneIntent | Step> => {
    const early = slotKeyFromSpec(s.spec);
    const queued = early && claimSlot(s, early);
    if (queued) return queued;
    // Gives the slot back on the way out of a plan that will not clone now.
    const abandon = (step: Step): Step => {
      s.shared.cloneQueue.release(s.uid);
      return step;
    };
    let tpl: TemplateRef;
    try {
      tpl = await resolveTemplate(s);
    } catch (e) {
      if (e instanceof TemplateNotFoundError) return abandon(terminal(s, TerminalReasons.TemplateNotFound, e.message));
      s.shared.cloneQueue.release(s.uid);
      throw e;
    }
    let target = tpl.node;
    const allowed = allowedNodes(s);
    if (allowed.length) {
      try {
        const [nodes, vms] = await Promise.all([s.backend.nodes(), s.backend.vms()]);
        const pc = s.client.getShared(pcRef) ?? s.pc;
        target = scheduleVm({
          allowedNodes: allowed,
          nodes,
          vms,
          memoryAdjustment: s.pcSpec.schedulerHints?.memoryAdjustment,
          memoryMiB: s.spec.memoryMiB ?? 0,
          locations: locationsFor(pc, s.isControlPlane()),
        }).node;
      } catch (e) {
        if (e instanceof InsufficientMemoryError) return abandon(terminal(s, TerminalReasons.NoFittingNode, e.message));
        return abandon(waitFor(s, VmReasons.Cloning, (e as Error).message));
      }
    }
    const storage = early ?? `template/${tpl.node}/${tpl.vmid}`;
    const late = !early && claimSlot(s, storage);
    if (late) return late;
    let vmid = s.spec.virtualMachineID;
    if (vmid === undefined) {
      try {
        vmid = await chooseVmid({ range: s.spec.vmIDRange, used: recordedVmids(s), owner: s.uid, reservations: s.shared.reservations, source: s.backend });
      } catch (e) {
        s.shared.cloneQueue.release(s.uid);
        if (e instanceof VmidsExhaustedError) return terminal(s, TerminalReasons.VmidsExhausted, e.message);
        throw e;
      }
    }
    const intent: CloneIntent = { vmid, sourceNode: tpl.node, template: tpl.vmid, targetNode: target, storage };
    // Record before acting: VMID, target node, the clone itself, the placement.
    s.spec.virtualMachineID = vmid;
    writeIntent(s, intent);
    s.status.proxmoxNode = target;
    setVmProvisioned(s.pm, "False", VmReasons.Cloning, `cloning VM ${tpl.vmid} on ${tpl.node} into VM ${vmid} on ${target}`);
    await s.save();
    s.shared.reservations.release(vmid, s.uid);
    await setNodeLocation(s.client, pcRef, s.name, target, s.isControlPlane());
    return intent;
  });
  if (!planned || "requeueAfter" in planned) {
    // The VMID (if any) stays reserved for a retry; a terminal stop gives it back.
    return planned;
  }
  return sendClone(s, planned);
}

async function sendClone(s: MachineScope, intent: CloneIntent): Promise<Step> {
  const spec = s.spec;
  let upid: string;
  try {
    const task = await s.backend.clone({
      node: intent.sourceNode,
      vmid: intent.template,
      newid: intent.vmid,
      name: s.name,
      full: spec.full ?? true,
      ...(intent.targetNode !== intent.sourceNode ? { target: intent.targetNode } : {}),
      ...(spec.storage ? { storage: spec.storage } : {}),
      ...(spec.format ? { format: spec.format } : {}),
      ...(spec.pool ? { pool: spec.pool } : {}),
      ...(spec.snapName ? { snapname: spec.snapName } : {}),
      description: vmDescription(spec.description, s.owner),
    });
    upid = task.upid;
    crashPoint("after-clone");
  } catch (e) {
    if (!(e instanceof PveError)) throw e;
    s.shared.cloneQueue.release(s.uid);
    if (/already exists|File exists/.test(e.message)) {
      // The VMID went to someone else between our check and the clone: pick another.
      s.log.info({ vmid: intent.vmid, err: e.message }, "VMID taken; choosing another");
      delete s.spec.virtualMachineID;
      writeIntent(s, undefined);
      setVmProvisioned(s.pm, "False", VmReasons.Cloning, `VMID ${intent.vmid} is taken: ${e.message}`);
      await s.save();
      return { requeueAfter: 0 };
    }
    const wait = isLockTimeout(e.message) ? s.shared.backoff.baseMs : s.shared.backoff.next(s.uid);
    s.status.retryAfter = new Date(Date.now() + wait).toISOString();
    setVmProvisioned(s.pm, "False", VmReasons.CloningFailed, e.message);
    s.shared.recorder.warning(s.pm, VmReasons.CloningFailed, e.message);
    await s.save();
    return { requeueAfter: wait };
  }
  s.status.taskRef = upid;
  await s.save();
  s.log.info({ vmid: intent.vmid, upid, source: `${intent.sourceNode}/${intent.template}`, target: intent.targetNode }, "clone started");
  return { requeueAfter: s.shared.timings.taskPollMs };
}

