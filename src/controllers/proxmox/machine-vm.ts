/**
 * Finding the machine's VM each reconcile (CAPMOX FindVM / updateVMLocation), adopting it when
 * it is provably the machine's own, clearing a VMID that turned out to be someone else's, and
 * tearing down a VM condemned after a failed clone or start (stop, destroy with purge, remove
 * its bootstrap data) before it is cloned anew. Deletion uses the same teardown.
 * @module
 */
import { parseUpid } from "../../providers/proxmox/types.ts";
import { readAttachment, readIntent, readRecreate, writeAttachment, writeIntent, writeRecreate } from "./clone-intent.ts";
import { setVmProvisioned } from "./conditions.ts";
import { VmReasons } from "./constants.ts";
import { locateVm, type LocatedVm } from "./locate.ts";
import { startClone } from "./machine-clone.ts";
import type { MachineScope, Step } from "./machine-scope.ts";
import { setNodeLocation } from "./node-locations.ts";
import { cloneInProgress, OWNERSHIP_TAG, proveOwnership } from "./ownership.ts";
import { formatTags, parseTags, providerIdFor, smbiosUuid } from "./vmconfig.ts";

export type EnsureResult = { vm: LocatedVm } | { step: Step };

function wait(s: MachineScope, reason: string, message: string, ms: number): EnsureResult {
  setVmProvisioned(s.pm, "False", reason, message);
  return { step: { requeueAfter: ms } };
}

export function locateOwn(s: MachineScope, vmid: number): Promise<LocatedVm | undefined> {
  const intent = readIntent(s);
  return locateVm(s.backend, vmid, [s.status.proxmoxNode, intent?.targetNode, intent?.sourceNode]);
}

export type TeardownResult = { gone: true; foreign?: string } | { step: Step };

/**
 * Takes the VM down if it is provably ours: stop if running, then destroy with purge (each a
 * task recorded in `status.taskRef`). Resolves `gone` when there is nothing (left) to destroy,
 * or `foreign` with the reason when the VM under this VMID cannot be proven ours (left alone).
 */
export async function teardownVm(s: MachineScope, vmid: number, reason: string): Promise<TeardownResult> {
  const poll = s.shared.timings.taskPollMs;
  const vm = await locateOwn(s, vmid);
  if (!vm) return { gone: true };
  if (cloneInProgress(vm.config) && !vm.config.name) {
    setVmProvisioned(s.pm, "False", reason, `waiting for the clone into VM ${vmid} to finish before removing it`);
    return { step: { requeueAfter: poll } };
  }
  const own = proveOwnership(vm.config, s.owner);
  if (!own.owned) return { gone: true, foreign: `VM ${vmid} on ${vm.node} is not provably this machine's (${own.why}); left untouched` };
  if (vm.config.lock) {
    setVmProvisioned(s.pm, "False", reason, `VM ${vmid} is locked (${vm.config.lock})`);
    return { step: { requeueAfter: poll } };
  }
  if (!own.tagged) {
    // Complete the proof on the VM itself before destroying it.
    await s.backend.setVmConfig(vm.node, vmid, { tags: formatTags([...parseTags(vm.config.tags), OWNERSHIP_TAG]) });
  }
  const state = await s.backend.vmStatus(vm.node, vmid);
  const task = state?.status === "running" || state?.status === "paused" ? await s.backend.stopVm(vm.node, vmid) : await s.backend.destroyVm(vm.node, vmid, { purge: true });
  s.status.taskRef = task.upid;
  s.log.info({ vmid, node: vm.node, task: parseUpid(task.upid)?.type }, "tearing down VM");
  setVmProvisioned(s.pm, "False", reason, `${parseUpid(task.upid)?.type === "qmstop" ? "stopping" : "destroying"} VM ${vmid} on ${vm.node}`);
  await s.save();
  return { step: { requeueAfter: poll } };
}

/** Removes the bootstrap data the machine recorded (snippets or ISO); missing files are fine. */
export async function removeBootstrap(s: MachineScope): Promise<void> {
  const a = readAttachment(s);
  if (!a) return;
  if (!a.ejected) await s.backend.removeBootstrapData(a.node, a);
  writeAttachment(s, undefined);
  s.status.bootstrapDataProvided = false;
}

async function recreate(s: MachineScope, vmid: number, why: string): Promise<EnsureResult> {
  const down = await teardownVm(s, vmid, VmReasons.Cloning);
  if ("step" in down) return { step: down.step };
  await removeBootstrap(s);
  writeRecreate(s, undefined);
  if (down.foreign) {
    // The VMID is someone else's now: choose a new one.
    delete s.spec.virtualMachineID;
    writeIntent(s, undefined);
  }
  delete s.status.addresses;
  delete s.spec.providerID;
  s.log.info({ vmid, why }, "cloning the machine anew");
  setVmProvisioned(s.pm, "False", VmReasons.Cloning, `recloning after: ${why}`);
  await s.save();
  return { step: await startClone(s) };
}

/** The machine's VM, ready for the next steps; or a step telling the reconcile to stop here. */
export async function ensureVm(s: MachineScope): Promise<EnsureResult> {
  const poll = s.shared.timings.taskPollMs;
  const vmid = s.spec.virtualMachineID;
  if (vmid === undefined) return { step: await startClone(s) };
  const mark = readRecreate(s);
  if (mark && mark.vmid === vmid) return recreate(s, vmid, mark.why);
  const intent = readIntent(s);
  const vm = await locateOwn(s, vmid);
  if (!vm) {
    if (s.status.initialization?.provisioned) {
      return wait(s, VmReasons.VMProvisionFailed, `VM ${vmid} no longer exists in Proxmox`, s.shared.timings.requeueMs);
    }
    // Never sent, or failed and removed by PVE, or a VMID the user chose: clone into it.
    if (await s.backend.vmidFree(vmid)) return { step: await startClone(s) };
    return wait(s, VmReasons.Cloning, `VM ${vmid} exists but is not visible on any node yet`, poll);
  }
  if (cloneInProgress(vm.config) && !vm.config.name) return wait(s, VmReasons.Cloning, `waiting for the clone into VM ${vmid} to finish`, poll);
  const own = proveOwnership(vm.config, s.owner);
  if (!own.owned) {
    if (intent?.vmid === vmid) {
      // Our planned VMID holds another VM (a racing clone elsewhere): never touch it, pick another.
      s.shared.recorder.warning(s.pm, "VMIDCollision", `VM ${vmid} on ${vm.node} is not this machine's (${own.why}); choosing another VMID`);
      delete s.spec.virtualMachineID;
      writeIntent(s, undefined);
      setVmProvisioned(s.pm, "False", VmReasons.Cloning, `VMID ${vmid} is in use by another VM`);
      await s.save();
      return { step: { requeueAfter: 0 } };
    }
    if (vm.config.name !== s.name) {
      return wait(s, VmReasons.VMProvisionFailed, `expected VM name to match ${JSON.stringify(s.name)} but it was ${JSON.stringify(vm.config.name ?? "")}`, s.shared.timings.requeueMs);
    }
    // A VMID the user set on a VM of this name: used as CAPMOX would, but never destroyed.
  }
  if (vm.config.lock) return wait(s, VmReasons.Cloning, `VM ${vmid} is locked (${vm.config.lock})`, poll);
  const uuid = smbiosUuid(vm.config.smbios1);
  if (uuid) s.spec.providerID = providerIdFor(uuid);
  if (s.status.proxmoxNode !== vm.node) s.status.proxmoxNode = vm.node;
  if (intent) {
    // Without a clone task seen to the end, the VM was found by VMID + name + marker after a restart.
    const adopted = !s.cloneTaskSucceeded;
    s.log.info({ vmid, node: vm.node, adopted }, adopted ? "adopted VM" : "VM cloned");
    s.shared.recorder.normal(s.pm, adopted ? "VMAdopted" : "VMCloned", `VM ${vmid} on ${vm.node}`);
    writeIntent(s, undefined);
    s.shared.cloneQueue.release(s.uid);
    await s.save();
  }
  const pcRef = { apiVersion: s.pc.apiVersion!, kind: s.pc.kind!, namespace: s.pc.metadata.namespace, name: s.pc.metadata.name! };
  await setNodeLocation(s.client, pcRef, s.name, vm.node, s.isControlPlane());
  return { vm };
}
