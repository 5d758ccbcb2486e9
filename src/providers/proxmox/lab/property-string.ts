/**
 * PVE property strings (`key=value,key=value`, an optional leading value for the default key):
 * parsing and printing for the config keys the lab interprets (netN, disks, ipconfigN, smbios1,
 * agent, memory, cicustom, boot) and PVE's size notation (`10G`, powers of 1024).
 * @module
 */

export type PropertyMap = Record<string, string>;

/** Splits `a=1,b=2` / `value,b=2` (the value goes to `defaultKey`). Throws on a malformed part. */
export function parsePropertyString(value: string, defaultKey?: string): PropertyMap {
  const out: PropertyMap = {};
  for (const part of value.split(",")) {
    if (/^\s*$/.test(part)) continue;
    const eq = part.indexOf("=");
    if (eq > 0 && eq < part.length - 1) {
      const k = part.slice(0, eq);
      if (k in out) throw new Error(`duplicate key in comma-separated list property: ${k}`);
      out[k] = part.slice(eq + 1);
    } else if (eq < 0) {
      if (!defaultKey) throw new Error("value without key, but schema does not define a default key");
      if (defaultKey in out) throw new Error(`duplicate key in comma-separated list property: ${defaultKey}`);
      out[defaultKey] = part;
    } else {
      throw new Error("missing key in comma-separated list property");
    }
  }
  return out;
}

/** Prints `first` (bare, or `k=v` when `bareFirst` is false) then the other keys sorted. */
export function printPropertyString(map: PropertyMap, first?: string, bareFirst = true): string {
  const parts: string[] = [];
  if (first && map[first] !== undefined) parts.push(bareFirst ? map[first]! : `${first}=${map[first]}`);
  for (const k of Object.keys(map).sort()) {
    if (k === first || map[k] === undefined) continue;
    parts.push(`${k}=${map[k]}`);
  }
  return parts.join(",");
}

// ---- sizes --------------------------------------------------------------------------------

const UNIT: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `10G` → bytes; a bare number is bytes. Undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT])?$/.exec(text);
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * (m[2] ? UNIT[m[2]]! : 1));
}

/** Bytes → PVE's shortest exact notation (`10G`, `3584M`, `4194304` is `4M`). */
export function formatSize(bytes: number): string {
  for (const u of ["T", "G", "M", "K"] as const) {
    if (bytes >= UNIT[u]! && bytes % UNIT[u]! === 0) return `${bytes / UNIT[u]!}${u}`;
  }
  return String(bytes);
}

// ---- network devices ----------------------------------------------------------------------

export const NIC_MODELS = ["e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551", "i82557b", "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3"];

export interface NetDevice {
  model: string;
  macaddr?: string;
  bridge?: string;
  /** Other options (tag, firewall, mtu, queues, …) as written. */
  options: PropertyMap;
}

export function parseNet(value: string): NetDevice {
  const map = parsePropertyString(value, "model");
  const dev: NetDevice = { model: "", options: {} };
  for (const [k, v] of Object.entries(map)) {
    if (NIC_MODELS.includes(k)) {
      dev.model = k;
      dev.macaddr = v;
    } else if (k === "model") dev.model = v;
    else if (k === "macaddr") dev.macaddr = v;
    else if (k === "bridge") dev.bridge = v;
    else dev.options[k] = v;
  }
  return dev;
}

export function printNet(dev: NetDevice): string {
  const head = dev.macaddr ? `${dev.model}=${dev.macaddr}` : dev.model;
  const rest: PropertyMap = { ...dev.options };
  if (dev.bridge) rest.bridge = dev.bridge;
  const tail = printPropertyString(rest);
  return tail ? `${head},${tail}` : head;
}

/** A MAC with PVE's default prefix BC:24:11, upper-case. */
export function randomMac(random: () => number = Math.random): string {
  const b = () => Math.floor(random() * 256).toString(16).toUpperCase().padStart(2, "0");
  return `BC:24:11:${b()}:${b()}:${b()}`;
}

// ---- drives -------------------------------------------------------------------------------

export const DRIVE_BUSES: Record<string, number> = { ide: 4, sata: 6, scsi: 31, virtio: 16 };

export function isDriveKey(key: string): boolean {
  const m = /^(ide|sata|scsi|virtio)(\d+)$/.exec(key);
  return Boolean(m && Number(m[2]) < DRIVE_BUSES[m[1]!]! && String(Number(m[2])) === m[2]);
}

export interface Drive {
  /** Volume id (`shared:101/vm-101-disk-0.qcow2`), `none`, `cdrom`, or a new-disk spec (`local-lvm:10`). */
  file: string;
  options: PropertyMap;
}

export function parseDrive(value: string): Drive {
  const map = parsePropertyString(value, "file");
  const file = map.file ?? map.volume ?? "";
  const options = { ...map };
  delete options.file;
  delete options.volume;
  return { file, options };
}

export function printDrive(d: Drive): string {
  const tail = printPropertyString(d.options);
  return tail ? `${d.file},${tail}` : d.file;
}

export function isCdrom(d: Drive): boolean {
  return d.options.media === "cdrom";
}

export function isCloudinitVolume(file: string): boolean {
  return /(^|[:/])vm-\d+-cloudinit(\.\w+)?$/.test(file);
}

// ---- cloud-init, smbios, agent, memory, boot ---------------------------------------------

export interface IpConfig {
  ip?: string;
  gw?: string;
  ip6?: string;
  gw6?: string;
}

export function parseIpconfig(value: string): IpConfig {
  return parsePropertyString(value) as IpConfig;
}

export function parseCicustom(value: string): { user?: string; network?: string; meta?: string; vendor?: string } {
  return parsePropertyString(value);
}

export function parseSmbios1(value: string): PropertyMap {
  return parsePropertyString(value);
}

export function printSmbios1(map: PropertyMap): string {
  return printPropertyString(map);
}

/** `agent: 1` / `enabled=1,fstrim_cloned_disks=1`: whether the agent device is enabled. */
export function agentEnabled(value: string | undefined): boolean {
  if (value === undefined) return false;
  const map = parsePropertyString(value, "enabled");
  return /^(1|on|yes|true)$/i.test(map.enabled ?? "0");
}

/** `memory: 2048` / `current=2048` → MiB. */
export function memoryMiB(value: string | undefined): number {
  if (!value) return 512;
  const map = parsePropertyString(value, "current");
  return Number(map.current ?? 512);
}

/** The `order=` device list of a `boot` value (legacy `cdn` values have none). */
export function bootOrder(value: string | undefined): string[] {
  if (!value) return [];
  const map = parsePropertyString(value, "legacy");
  return map.order ? map.order.split(/[;,\s]+/).filter(Boolean) : [];
}
