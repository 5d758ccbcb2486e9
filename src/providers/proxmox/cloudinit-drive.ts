/**
 * PVE reads cicustom snippets only through a VM's cloud-init drive (it writes them into that
 * drive's ISO at every start); a template without one would boot with no bootstrap data at all.
 * @module
 */
import type { VmConfig } from "./types.ts";

const DRIVE_KEY = /^(ide|sata|scsi|virtio)\d+$/;
const BOOT_DISK_ORDER = ["scsi0", "virtio0", "sata0", "ide0"];

function volumeOf(value: string): string {
  return value.split(",")[0] ?? "";
}

/** The key of the VM's cloud-init drive (`ide2: shared:vm-101-cloudinit,media=cdrom`), if any. */
export function cloudInitDriveKey(config: VmConfig): string | undefined {
  return Object.keys(config).find((k) => DRIVE_KEY.test(k) && /(^|[:/])(vm-\d+-)?cloudinit(\.\w+)?$/.test(volumeOf(config[k]!)));
}

/**
 * Config keys that add a cloud-init drive (`ide2: <storage>:cloudinit`, on the boot disk's
 * storage) to a VM that has none; nothing when it has one or the config is unknown.
 */
export function cloudInitDriveFor(config: VmConfig | undefined): Record<string, string> {
  if (!config || cloudInitDriveKey(config)) return {};
  const boot = BOOT_DISK_ORDER.map((k) => config[k]).find((v) => v && !v.includes("media=cdrom"));
  const storage = boot ? volumeOf(boot).split(":")[0] : undefined;
  if (!storage) return {};
  const slot = ["ide2", "ide0", "ide1", "ide3"].find((k) => config[k] === undefined);
  return slot ? { [slot]: `${storage}:cloudinit` } : {};
}
