/**
 * CAPMOX step 2, before the first boot only: sockets, cores, memory, description (with the
 * ownership marker), NICs and tags (the user's plus the ownership tag) in one synchronous
 * config update; then the boot volume grown to `sizeGb` (a `resize` task; never shrunk).
 * @module
 */
import { setVmProvisioned } from "./conditions.ts";
import { VmReasons } from "./constants.ts";
import type { LocatedVm } from "./locate.ts";
import type { MachineScope, Step } from "./machine-scope.ts";
import { OWNERSHIP_TAG, vmDescription } from "./ownership.ts";
import { desiredConfigChanges, diskSizeBytes, formatTags, parseTags } from "./vmconfig.ts";

const GiB = 1024 ** 3;

export async function configureVm(s: MachineScope, vm: LocatedVm): Promise<Step> {
  const vmid = s.spec.virtualMachineID!;
  const set = desiredConfigChanges(s.spec, vm.config, vmDescription(s.spec.description, s.owner));
  const current = parseTags(vm.config.tags);
  const wanted = formatTags([...current, ...(s.spec.tags ?? []), OWNERSHIP_TAG]);
  if (wanted !== formatTags(current)) set.tags = wanted;
  if (Object.keys(set).length) {
    await s.backend.setVmConfig(vm.node, vmid, set);
    s.log.info({ vmid, keys: Object.keys(set) }, "configured VM");
    Object.assign(vm.config, Object.fromEntries(Object.entries(set).map(([k, v]) => [k, String(v)])));
  }

  const boot = s.spec.disks?.bootVolume;
  if (boot) {
    const have = diskSizeBytes(vm.config[boot.disk]);
    if (have === undefined) {
      setVmProvisioned(s.pm, "False", VmReasons.WaitingForDiskReconciliation, `the VM has no disk ${boot.disk} to resize`);
      return { requeueAfter: s.shared.timings.requeueMs };
    }
    if (have < boot.sizeGb * GiB) {
      const task = await s.backend.resizeDisk(vm.node, vmid, boot.disk, `${boot.sizeGb}G`);
      s.status.taskRef = task.upid;
      setVmProvisioned(s.pm, "False", VmReasons.WaitingForDiskReconciliation, `resizing ${boot.disk} to ${boot.sizeGb}G`);
      await s.save();
      return { requeueAfter: s.shared.timings.taskPollMs };
    }
  }
  return undefined;
}
