/**
 * Deleting a ProxmoxMachine: stop and destroy (with purge) its VM — only when the VM is
 * provably the machine's own; a VM under the recorded VMID that is not (CAPMOX#742: a stale
 * VMID can name another machine's VM) is left alone with a warning — then remove its bootstrap
 * data, release its IP claims, forget its placement and drop the finalizer.
 * @module
 */
import { setVmProvisioned } from "./conditions.ts";
import { IPAM_CONTRACT_VERSION, MACHINE_FINALIZER, VmReasons } from "./constants.ts";
import { removeFinalizer } from "../core/contract.ts";
import { writeIntent, writeRecreate } from "./clone-intent.ts";
import { machineClaims } from "./machine-ips.ts";
import type { MachineScope, Step } from "./machine-scope.ts";
import { removeBootstrap, teardownVm } from "./machine-vm.ts";
import { removeNodeLocation } from "./node-locations.ts";

export async function reconcileDelete(s: MachineScope): Promise<Step> {
  const vmid = s.spec.virtualMachineID;
  if (vmid !== undefined && vmid >= 100) {
    const down = await teardownVm(s, vmid, VmReasons.Deleting);
    if ("step" in down) return down.step;
    if (down.foreign) {
      s.shared.recorder.warning(s.pm, "VMNotOwned", down.foreign);
      s.log.warn({ vmid }, down.foreign);
    }
  }
  await removeBootstrap(s);
  for (const claim of machineClaims(s)) {
    await s.client.delete({ apiVersion: IPAM_CONTRACT_VERSION, kind: "IPAddressClaim", namespace: s.namespace, name: claim.metadata.name! });
  }
  const pcRef = { apiVersion: s.pc.apiVersion!, kind: s.pc.kind!, namespace: s.pc.metadata.namespace, name: s.pc.metadata.name! };
  await removeNodeLocation(s.client, pcRef, s.name);
  s.shared.cloneQueue.release(s.uid);
  s.shared.backoff.reset(s.uid);
  if (vmid !== undefined) s.shared.reservations.release(vmid, s.uid);
  writeIntent(s, undefined);
  writeRecreate(s, undefined);
  setVmProvisioned(s.pm, "False", VmReasons.Deleting, "");
  removeFinalizer(s.pm, MACHINE_FINALIZER);
  s.log.info({ vmid }, "ProxmoxMachine deleted");
  return undefined;
}
