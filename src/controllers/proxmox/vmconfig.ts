/**
 * Reading and writing a VM's config the way CAPMOX does: the `netN` property strings
 * (`virtio=BC:24:11:…,bridge=vmbr0,mtu=…,tag=…,queues=…`), the SMBIOS UUID in `smbios1`, tags
 * (`a;b`, stored lower-cased and sorted), the boot disk size, and the changes to send before the
 * first boot (sockets, cores, memory, description, NICs, tags).
 * @module
 */
import type { VmConfig } from "../../providers/proxmox/types.ts";
import type { NetworkDeviceSpec, ProxmoxMachineSpec } from "./types.ts";

export interface NetDevice {
  model: string;
  mac?: string;
  bridge?: string;
  mtu?: number;
  tag?: number;
  queues?: number;
}

/** Parses a `netN` value; the model may carry the MAC (`virtio=BC:24:11:AA:BB:CC`). */
export function parseNetDevice(value: string): NetDevice {
  const parts = value.split(",");
  const [first = ""] = parts;
  const eq = first.indexOf("=");
  const dev: NetDevice = eq < 0 ? { model: first } : { model: first.slice(0, eq), mac: first.slice(eq + 1) };
  for (const p of parts.slice(1)) {
    const i = p.indexOf("=");
    const k = i < 0 ? p : p.slice(0, i);
    const v = i < 0 ? "" : p.slice(i + 1);
    if (k === "macaddr") dev.mac = v;
    else if (k === "model") dev.model = v;
    else if (k === "bridge") dev.bridge = v;
    else if (k === "mtu") dev.mtu = Number(v);
    else if (k === "tag") dev.tag = Number(v);
    else if (k === "queues") dev.queues = Number(v);
  }
  return dev;
}

/** CAPMOX formatNetworkDevice: `virtio,bridge=vmbr0[,mtu=N][,tag=N][,queues=N]`. */
export function formatNetDevice(spec: NetworkDeviceSpec): string {
  const parts = [spec.model ?? "virtio", `bridge=${spec.bridge ?? ""}`];
  if (spec.mtu !== undefined) parts.push(`mtu=${spec.mtu}`);
  if (spec.vlan !== undefined) parts.push(`tag=${spec.vlan}`);
  if (spec.queues !== undefined) parts.push(`queues=${spec.queues}`);
  return parts.join(",");
}

/** Whether the VM's NIC differs from the spec (CAPMOX shouldUpdateNetworkDevices, per device). */
export function netDeviceDiffers(current: string | undefined, spec: NetworkDeviceSpec): boolean {
  if (!current) return true;
  const d = parseNetDevice(current);
  if (d.model !== (spec.model ?? "virtio") || (d.bridge ?? "") !== (spec.bridge ?? "")) return true;
  if (spec.mtu !== undefined && d.mtu !== spec.mtu) return true;
  if (spec.vlan !== undefined && d.tag !== spec.vlan) return true;
  if (spec.queues !== undefined && d.queues !== spec.queues) return true;
  return false;
}

/**
 * The NIC spec with a new device keeping the MAC PVE gave it: re-sending a `netN` without its
 * MAC would make PVE generate a new one.
 */
export function formatNetDeviceKeepingMac(spec: NetworkDeviceSpec, current: string | undefined): string {
  const mac = current ? parseNetDevice(current).mac : undefined;
  const value = formatNetDevice(spec);
  if (!mac) return value;
  const [model, ...rest] = value.split(",");
  return [`${model}=${mac}`, ...rest].join(",");
}

const UUID_RE = /(?:^|,)uuid=([0-9a-fA-F-]+)/;
const UUID_SHAPE = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

/** The SMBIOS UUID in `smbios1` (lower-case, dashed), or undefined. */
export function smbiosUuid(smbios1: string | undefined): string | undefined {
  const m = UUID_RE.exec(smbios1 ?? "");
  if (!m || !UUID_SHAPE.test(m[1]!)) return undefined;
  const hex = m[1]!.replaceAll("-", "").toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const PROVIDER_ID_PREFIX = "proxmox://";

export function providerIdFor(uuid: string): string {
  return `${PROVIDER_ID_PREFIX}${uuid}`;
}

/** The UUID of a `proxmox://<uuid>` providerID, lower-cased; undefined for other schemes. */
export function parseProviderId(providerID: string | undefined): string | undefined {
  if (!providerID?.startsWith(PROVIDER_ID_PREFIX)) return undefined;
  return smbiosUuid(`uuid=${providerID.slice(PROVIDER_ID_PREFIX.length)}`);
}

/** A VM's tags: PVE's `;`-separated string (also accepts `,` and spaces, as PVE does). */
export function parseTags(value: string | undefined): string[] {
  return (value ?? "").split(/[;, ]+/).map((t) => t.trim().toLowerCase()).filter(Boolean);
}

/** How PVE stores tags: lower-cased, de-duplicated, sorted, `;`-joined. */
export function formatTags(tags: readonly string[]): string {
  return [...new Set(tags.map((t) => t.toLowerCase()))].sort().join(";");
}

/** `size=20G` of a disk value, in bytes (undefined when absent). */
export function diskSizeBytes(value: string | undefined): number | undefined {
  const m = /(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)(?:,|$)/.exec(value ?? "");
  if (!m) return undefined;
  const unit = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2] as "" | "K" | "M" | "G" | "T"];
  return Math.round(Number(m[1]) * unit);
}

/** The sockets/cores/memory/description/NIC changes CAPMOX sends before the first boot. */
export function desiredConfigChanges(spec: ProxmoxMachineSpec, config: VmConfig, description: string | undefined): Record<string, string | number> {
  const set: Record<string, string | number> = {};
  if (spec.numSockets && Number(config.sockets ?? 0) !== spec.numSockets) set.sockets = spec.numSockets;
  if (spec.numCores && Number(config.cores ?? 0) !== spec.numCores) set.cores = spec.numCores;
  // memory is a property string since PVE 8.1 (`[current=]MiB`).
  const memory = Number(/^(?:current=)?(\d+)/.exec(config.memory ?? "")?.[1] ?? 0);
  if (spec.memoryMiB && memory !== spec.memoryMiB) set.memory = spec.memoryMiB;
  if (description !== undefined && (config.description ?? "") !== description) set.description = description;
  const devices = spec.network?.networkDevices ?? [];
  if (devices.some((d) => netDeviceDiffers(config[d.name ?? "net0"], d))) {
    for (const d of devices) set[d.name ?? "net0"] = formatNetDeviceKeepingMac(d, config[d.name ?? "net0"]);
  }
  return set;
}

/** Every `netN` of the config has a MAC (CAPMOX vmHasMacAddresses). */
export function allNicsHaveMacs(config: VmConfig): boolean {
  const nets = Object.keys(config).filter((k) => /^net\d+$/.test(k));
  return nets.length > 0 && nets.every((k) => Boolean(parseNetDevice(config[k]!).mac));
}

/** The config's boot order with `device` appended (`order=scsi0;net0` → `order=scsi0;net0;ide0`). */
export function bootOrderWith(boot: string | undefined, device: string): string {
  const m = /(?:^|,)order=([^,]*)/.exec(boot ?? "");
  const order = m?.[1] ? m[1].split(";").filter(Boolean) : [];
  if (order.includes(device)) return boot!;
  return `order=${[...order, device].join(";")}`;
}
