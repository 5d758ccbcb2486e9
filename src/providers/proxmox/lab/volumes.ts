/**
 * Volumes on storages: names as each storage type makes them, allocation with capacity rules
 * (thin pools overcommit, the others fail when full), linked clones of base volumes, freeing,
 * and the file content types (iso, snippets, vztmpl) that live as real files in the lab dir.
 * @module
 */
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { die } from "./errors.ts";
import type { LabHost } from "./host.ts";
import type { StorageSpec } from "./inventory.ts";
import { volumeKey, type VolumeRecord } from "./state.ts";

export interface VolumeId {
  storage: string;
  volname: string;
}

export function parseVolid(volid: string): VolumeId | undefined {
  const m = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.exec(volid);
  return m ? { storage: m[1]!, volname: m[2]! } : undefined;
}

export const isFileStorage = (s: StorageSpec) => s.type === "dir" || s.type === "nfs";

/** Where file content of a type lives inside a storage (PVE's layout). */
export const CONTENT_DIRS: Record<string, string> = { iso: "template/iso", vztmpl: "template/cache", snippets: "snippets", import: "import" };

/** The record of an image volume as seen from `node`, if it exists there. */
export function findVolume(host: LabHost, node: string, volid: string): { storage: StorageSpec; record: VolumeRecord; key: string } | undefined {
  const id = parseVolid(volid);
  if (!id) return undefined;
  const storage = host.inv.storages.find((s) => s.id === id.storage);
  if (!storage) return undefined;
  const key = volumeKey(storage, node, id.volname);
  const record = host.state.volumes[key];
  return record ? { storage, record, key } : undefined;
}

export function usedBytes(host: LabHost, storage: StorageSpec, node: string): number {
  let used = 0;
  for (const v of Object.values(host.plain.volumes)) {
    if (v.storage !== storage.id || (!storage.shared && v.node !== node)) continue;
    used += v.parent && storage.type !== "dir" && storage.type !== "nfs" ? 0 : v.size;
  }
  if (isFileStorage(storage)) {
    for (const sub of Object.values(CONTENT_DIRS)) used += filesBytes(join(host.storageDir(storage, node), sub));
  }
  return used;
}

/**
 * Bytes of the files in a content directory. When the directory changed (its mtime), only files
 * not seen before are measured: one VM's snippet must not cost a stat of every other VM's.
 */
const dirFiles = new Map<string, { mtimeNs: bigint; sizes: Map<string, number>; bytes: number }>();

function filesBytes(dir: string): number {
  const st = statSync(dir, { bigint: true, throwIfNoEntry: false });
  if (!st) {
    dirFiles.delete(dir);
    return 0;
  }
  let known = dirFiles.get(dir);
  if (known && known.mtimeNs === st.mtimeNs) return known.bytes;
  if (!known) dirFiles.set(dir, (known = { mtimeNs: st.mtimeNs, sizes: new Map(), bytes: 0 }));
  known.mtimeNs = st.mtimeNs;
  const names = new Set(readdirSync(dir));
  for (const [name, size] of known.sizes) {
    if (names.has(name)) continue;
    known.sizes.delete(name);
    known.bytes -= size;
  }
  for (const name of names) {
    if (known.sizes.has(name)) continue;
    const size = statSync(join(dir, name), { throwIfNoEntry: false })?.size ?? 0;
    known.sizes.set(name, size);
    known.bytes += size;
  }
  return known.bytes;
}

/** A file in a content directory was replaced in place (its directory's mtime does not change). */
export function fileContentChanged(path: string): void {
  const known = dirFiles.get(dirname(path));
  if (!known) return;
  const name = path.slice(dirname(path).length + 1);
  const size = statSync(path, { throwIfNoEntry: false })?.size;
  known.bytes -= known.sizes.get(name) ?? 0;
  if (size === undefined) known.sizes.delete(name);
  else {
    known.sizes.set(name, size);
    known.bytes += size;
  }
}

function volname(storage: StorageSpec, vmid: number, name: string, format: string): string {
  return isFileStorage(storage) ? `${vmid}/${name}.${format}` : name;
}

function defaultFormat(storage: StorageSpec): VolumeRecord["format"] {
  return isFileStorage(storage) ? "qcow2" : "raw";
}

/** The format a new image gets: qcow2/vmdk only on file storages; block storages are raw. */
export function targetFormat(storage: StorageSpec, wanted?: string): VolumeRecord["format"] {
  if (!isFileStorage(storage)) return "raw";
  return wanted === "raw" || wanted === "qcow2" || wanted === "vmdk" ? wanted : defaultFormat(storage);
}

/** First free `vm-<vmid>-disk-<n>` on the storage (as PVE's find_free_diskname). */
function freeDiskName(host: LabHost, storage: StorageSpec, node: string, vmid: number, format: string): string {
  const taken = new Set<string>();
  const mine = `-${vmid}-disk-`;
  for (const v of Object.values(host.plain.volumes)) {
    if (!v.volname.includes(mine) || v.storage !== storage.id || (!storage.shared && v.node !== node)) continue;
    taken.add(v.volname.split("/").pop()!.replace(/\.\w+$/, ""));
  }
  for (let n = 0; n < 1000; n++) {
    if (!taken.has(`vm-${vmid}-disk-${n}`) && !taken.has(`base-${vmid}-disk-${n}`)) return volname(storage, vmid, `vm-${vmid}-disk-${n}`, format);
  }
  return die(`unable to allocate an image name for VM ${vmid} in storage '${storage.id}'`);
}

function checkSpace(host: LabHost, storage: StorageSpec, node: string, size: number): void {
  if (storage.type === "lvmthin" || storage.type === "zfspool") return; // thin: overcommit, never fails here
  const free = storage.size - usedBytes(host, storage, node);
  if (size <= free) return;
  if (storage.type === "lvm") die(`not enough free space (${free} < ${size})`);
  die(`error writing image: No space left on device`);
}

function record(host: LabHost, storage: StorageSpec, node: string, r: Omit<VolumeRecord, "storage" | "ctime" | "node">): string {
  const key = volumeKey(storage, node, r.volname);
  host.state.volumes[key] = { ...r, storage: storage.id, ...(storage.shared ? {} : { node }), ctime: Math.floor(host.now() / 1000) };
  return `${storage.id}:${r.volname}`;
}

/** Allocates a new image (`name` for a fixed name such as the cloud-init drive). Returns its volid. */
export function allocImage(host: LabHost, storage: StorageSpec, node: string, vmid: number, size: number, opts: { format?: string; name?: string } = {}): string {
  if (!storage.content.includes("images")) die(`storage '${storage.id}' does not support vm images`);
  const format = targetFormat(storage, opts.format);
  const name = opts.name ? volname(storage, vmid, opts.name, format) : freeDiskName(host, storage, node, vmid, format);
  if (host.state.volumes[volumeKey(storage, node, name)]) {
    if (isFileStorage(storage)) die(`disk image '${host.storageMount(storage)}/images/${name}' already exists`);
    die(`lvcreate 'pve/${name}' error:   Logical Volume "${name}" already exists in volume group "pve"`);
  }
  checkSpace(host, storage, node, size);
  return record(host, storage, node, { volname: name, vmid, format, size });
}

/** Whether a linked clone of this volume is possible (a base image on a storage with clone support). */
export function canLinkClone(storage: StorageSpec, vol: VolumeRecord): boolean {
  if (!vol.base) return false;
  if (storage.type === "lvmthin" || storage.type === "zfspool") return true;
  return isFileStorage(storage) && vol.format === "qcow2";
}

/** A linked clone of a base volume for `vmid`, on the same storage. */
export function linkClone(host: LabHost, storage: StorageSpec, node: string, base: VolumeRecord, vmid: number): string {
  const baseVolid = `${storage.id}:${base.volname}`;
  let name: string;
  if (isFileStorage(storage)) {
    const own = freeDiskName(host, storage, node, vmid, base.format).split("/").pop()!;
    name = `${base.volname}/${vmid}/${own}`;
  } else {
    name = freeDiskName(host, storage, node, vmid, base.format);
  }
  return record(host, storage, node, { volname: name, vmid, format: base.format, size: base.size, parent: baseVolid, ...(base.guest ? { guest: base.guest } : {}) });
}

/** Volids of linked clones depending on a base volume. */
export function linkedChildren(host: LabHost, storage: StorageSpec, node: string, baseVolname: string): string[] {
  const baseVolid = `${storage.id}:${baseVolname}`;
  return Object.values(host.plain.volumes)
    .filter((v) => v.parent === baseVolid && v.storage === storage.id && (storage.shared || v.node === node))
    .map((v) => `${v.storage}:${v.volname}`);
}

export function freeVolume(host: LabHost, node: string, volid: string): void {
  const found = findVolume(host, node, volid);
  if (!found) die(`no such volume '${volid}'`);
  if (found.record.base && linkedChildren(host, found.storage, node, found.record.volname).length) die(`base volume '${volid}' is still in use by linked cloned`);
  delete host.state.volumes[found.key];
}

/** The display name of a volume's file for content types kept as files (`local:iso/x.iso` → path). */
export function contentFilePath(host: LabHost, storage: StorageSpec, node: string, volname: string): { type: string; path: string } | undefined {
  const m = /^(iso|vztmpl|snippets|import)\/([^/]+)$/.exec(volname);
  if (!m) return undefined;
  return { type: m[1]!, path: join(host.storageDir(storage, node), CONTENT_DIRS[m[1]!]!, m[2]!) };
}
