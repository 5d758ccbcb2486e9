/**
 * The PVE task a ProxmoxMachine waits on (`status.taskRef`, CAPMOX taskservice) and the
 * `status.retryAfter` gate after a failure. A running task is polled; a finished one is
 * cleared. Failures (`<type>: <exitstatus>` as CAPMOX words them) are retried with backoff
 * instead of halting: a failed clone or start condemns the VM (torn down and cloned anew), a
 * qmstart that "failed" but left the VM running counts as a start, anything else repeats its
 * step.
 * @module
 */
import { parseUpid, PveError, type TaskStatus } from "../../providers/proxmox/types.ts";
import { readRecreate, writeRecreate } from "./clone-intent.ts";
import { setVmProvisioned, vmProvisionedReason } from "./conditions.ts";
import { VmReasons } from "./constants.ts";
import type { MachineScope, Step } from "./machine-scope.ts";
import { isLockTimeout } from "./retry.ts";

function failureReason(type: string, deleting: boolean): string {
  if (deleting) return VmReasons.DeletionFailed;
  if (type === "qmclone") return VmReasons.CloningFailed;
  if (type === "qmstart") return VmReasons.PoweringOnFailed;
  return VmReasons.TaskFailed;
}

/** Handles `retryAfter` and `taskRef`; undefined means: go on with the steps. */
export async function reconcileTask(s: MachineScope, deleting: boolean): Promise<Step> {
  const status = s.status;
  if (status.retryAfter) {
    const left = Date.parse(status.retryAfter) - Date.now();
    if (left > 0) return { requeueAfter: left };
    delete status.retryAfter;
  }
  const upid = status.taskRef;
  if (!upid) return undefined;
  const parsed = parseUpid(upid);
  let task: TaskStatus;
  try {
    if (!parsed) throw new PveError(`unable to parse worker upid '${upid}'`, 400);
    task = await s.backend.task({ upid, node: parsed.node });
  } catch (e) {
    if (!(e instanceof PveError) || e.status >= 500) throw e;
    // The task is unknown (PVE restarted, log rotated): go by what the VM looks like now.
    s.log.warn({ upid, err: e.message }, "task not found; continuing from the VM's state");
    s.shared.taskPolls.done(upid);
    delete status.taskRef;
    return undefined;
  }
  if (task.running) return { requeueAfter: s.shared.taskPolls.next(upid, s.shared.timings.taskPollMs) };
  s.shared.taskPolls.done(upid);
  delete status.taskRef;
  if (task.ok) {
    if (task.type === "qmclone") {
      s.cloneTaskSucceeded = true;
      s.shared.cloneQueue.release(s.uid);
    }
    if (task.type === "qmstart") s.shared.recorder.normal(s.pm, "VMStarted", `VM ${parsed!.id} started on ${parsed!.node}`);
    if (task.type === "qmdestroy") s.shared.recorder.normal(s.pm, "VMDeleted", `VM ${parsed!.id} destroyed on ${parsed!.node}`);
    return undefined;
  }
  const exit = task.exitstatus ?? "unexpected status";
  const message = exit === "OK" ? `task ${upid} failed but its exit status is OK; this should not happen` : `${task.type}: ${exit}`;
  if (task.type === "qmclone") s.shared.cloneQueue.release(s.uid);
  if (task.type === "qmstart" && !deleting) {
    const vmid = s.spec.virtualMachineID;
    const state = vmid !== undefined && s.status.proxmoxNode ? await s.backend.vmStatus(s.status.proxmoxNode, vmid) : undefined;
    // qmstart can fail and still leave the VM running (CAPMOX keeps going then).
    if (state?.status === "running") {
      s.log.info({ upid, exit }, "qmstart failed but the VM runs");
      return undefined;
    }
  }
  const wait = isLockTimeout(exit) ? s.shared.backoff.baseMs : s.shared.backoff.next(s.uid);
  status.retryAfter = new Date(Date.now() + wait).toISOString();
  const vmid = s.spec.virtualMachineID;
  if (!deleting && (task.type === "qmclone" || task.type === "qmstart") && vmid !== undefined && !readRecreate(s)) {
    writeRecreate(s, { vmid, why: message });
  }
  setVmProvisioned(s.pm, "False", failureReason(task.type, deleting), message);
  s.shared.recorder.warning(s.pm, "TaskFailed", `${upid}: ${message}`);
  s.log.warn({ upid, message, retryInMs: wait, state: vmProvisionedReason(s.pm) }, "task failed; retrying");
  await s.save();
  return { requeueAfter: wait };
}
