/**
 * Drive options of a VM config: creating disks from `<storage>:<size-in-GiB>` and
 * `<storage>:cloudinit`, registering replaced or detached disks as `unusedN`, and freeing the
 * volumes a VM owns.
 * @module
 */
import { die } from "./errors.ts";
import type { LabHost } from "./host.ts";
import { formatSize, isCdrom, isDriveKey, parseDrive, printDrive } from "./property-string.ts";
import type { VmConfig } from "./state.ts";
import { allocImage, findVolume, freeVolume, parseVolid } from "./volumes.ts";

const NEW_DISK_RE = /^(([^/:\s]+):)?(\d+(\.\d+)?)$/;
const GiB = 1024 ** 3;

/** The drive key already holding a cloud-init drive (in the config or pending). */
function cloudinitKey(conf: VmConfig, except: string): string | undefined {
  return Object.keys(conf).find((k) => k !== except && isDriveKey(k) && /(^|[:/])vm-\d+-cloudinit(\.\w+)?$/.test(parseDrive(conf[k]!).file));
}

/**
 * create_disks for one option: allocates what the value asks for and returns the value to store.
 * `conf` is the VM's config with pending values merged (to find an existing cloud-init drive).
 */
export function createDisk(host: LabHost, node: string, vmid: number, key: string, value: string, conf: VmConfig, log: (l: string) => void, created: string[]): string {
  const d = parseDrive(value);
  if (d.options["import-from"] !== undefined) die("importing disks is not supported by the lab");
  const ci = /^([^/:\s]+):cloudinit$/.exec(d.file);
  if (ci) {
    const other = cloudinitKey(conf, key);
    if (other) die(`${key} - cloud-init drive is already attached at '${other}'`);
    const storage = host.storageOnNode(ci[1]!, node);
    const volid = allocImage(host, storage, node, vmid, 4 * 1024 * 1024, { name: `vm-${vmid}-cloudinit`, ...(d.options.format ? { format: d.options.format } : {}) });
    created.push(volid);
    const options: Record<string, string> = { ...d.options, media: "cdrom" };
    delete options.format;
    const out = printDrive({ file: volid, options });
    log(`${key}: successfully created disk '${out}'`);
    return out;
  }
  const m = NEW_DISK_RE.exec(d.file);
  if (m && !isCdrom(d)) {
    if (!m[2]) die(`missing storage for new disk '${key}'`);
    const storage = host.storageOnNode(m[2], node);
    const size = Math.floor(Number(m[3]) * GiB);
    const volid = allocImage(host, storage, node, vmid, size, { ...(d.options.format ? { format: d.options.format } : {}) });
    created.push(volid);
    const options: Record<string, string> = { ...d.options, size: formatSize(size) };
    delete options.format;
    const out = printDrive({ file: volid, options });
    log(`${key}: successfully created disk '${out}'`);
    return out;
  }
  if (!isCdrom(d) && d.file !== "none" && !d.file.startsWith("/")) {
    const vol = findVolume(host, node, d.file);
    if (!vol) die(`volume '${d.file}' does not exist`);
    if (d.options.size === undefined) return printDrive({ file: d.file, options: { ...d.options, size: formatSize(vol.record.size) } });
  }
  return value;
}

/** Volids referenced anywhere in a config (drives and unusedN). */
export function referencedVolumes(conf: VmConfig): Set<string> {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(conf)) if (isDriveKey(k) || /^unused\d+$/.test(k)) out.add(parseDrive(v).file);
  return out;
}

/** Registers a volume as `unusedN` unless the config still references it. */
export function addUnused(conf: VmConfig, volid: string): void {
  if (referencedVolumes(conf).has(volid)) return;
  for (let i = 0; i < 256; i++) {
    if (conf[`unused${i}`] === undefined) {
      conf[`unused${i}`] = volid;
      return;
    }
  }
}

/** Whether `volid` is an image this VM owns (its volume record says so). */
export function ownedVolume(host: LabHost, node: string, vmid: number, volid: string): boolean {
  const v = findVolume(host, node, volid);
  return Boolean(v && v.record.vmid === vmid);
}

/** A detached drive: a cloud-init drive is freed, a disk becomes unused (or is freed with force). */
export function detachDrive(host: LabHost, node: string, vmid: number, conf: VmConfig, value: string, force: boolean): void {
  const d = parseDrive(value);
  if (!parseVolid(d.file) || !ownedVolume(host, node, vmid, d.file)) return;
  const cloudinit = /(^|[:/])vm-\d+-cloudinit(\.\w+)?$/.test(d.file);
  if (isCdrom(d) && !cloudinit) return;
  if (cloudinit || force) freeVolume(host, node, d.file);
  else addUnused(conf, d.file);
}
