/**
 * A small ISO 9660 writer and reader for NoCloud `cidata` volumes (the http backend uploads one
 * per VM, as CAPMOX does; the lab PVE reads them back to learn what a VM booted with).
 *
 * The image is what `genisoimage -J -R -V cidata` would produce for a flat directory: a primary
 * volume descriptor (ISO level 3 names such as `USER_DATA.;1`), Rock Ridge entries (SP + ER on the
 * root, PX + NM on every file, so Linux and Talos see `user-data`), and a Joliet supplementary
 * descriptor (UCS-2 names, for readers without Rock Ridge). One root directory, no subdirectories.
 *
 * Layout (2048-byte sectors): 0–15 system area, 16 PVD, 17 Joliet SVD, 18 terminator,
 * 19–22 path tables (L/M primary, L/M Joliet), then the two root directories, then file data.
 * @module
 */

import type { BootstrapFiles } from "./types.ts";

export const SECTOR = 2048;
const FIRST_VD = 16;

export interface IsoFile {
  /** The POSIX name (Rock Ridge NM / Joliet), e.g. `user-data`. */
  name: string;
  data: Uint8Array;
}

export interface IsoOptions {
  /** Volume label (PVD volume identifier); NoCloud wants `cidata`. */
  label?: string;
  /** Recording time of every record (fixed in tests for byte-stable images). */
  date?: Date;
}

const enc = new TextEncoder();

/** The NoCloud files as PVE and CAPMOX name them; vendor-data only when given. */
export function noCloudFiles(files: BootstrapFiles): IsoFile[] {
  const out: IsoFile[] = [
    { name: "user-data", data: enc.encode(files.userData) },
    { name: "meta-data", data: enc.encode(files.metaData) },
    { name: "network-config", data: enc.encode(files.networkConfig) },
  ];
  if (files.vendorData !== undefined) out.push({ name: "vendor-data", data: enc.encode(files.vendorData) });
  return out;
}

/** A NoCloud `cidata` ISO holding user-data, meta-data, network-config (and vendor-data). */
export function buildNoCloudIso(files: BootstrapFiles, opts: Omit<IsoOptions, "label"> = {}): Uint8Array {
  return buildIso9660(noCloudFiles(files), { ...opts, label: "cidata" });
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/** ISO level 3 identifier: upper-case d-characters, a dot, version `;1`. */
export function isoName(name: string): string {
  let base = name.toUpperCase().replace(/[^A-Z0-9_.]/g, "_");
  const dot = base.lastIndexOf(".");
  let ext = "";
  if (dot >= 0) {
    ext = base.slice(dot + 1).replace(/\./g, "_");
    base = base.slice(0, dot).replace(/\./g, "_");
  }
  return `${base.slice(0, 30 - ext.length - 1)}.${ext};1`;
}

function ucs2(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    out[i * 2] = s.charCodeAt(i) >> 8;
    out[i * 2 + 1] = s.charCodeAt(i) & 0xff;
  }
  return out;
}

class Bytes {
  constructor(readonly b: Uint8Array, readonly at = 0) {}
  u8(o: number, v: number) {
    this.b[this.at + o] = v;
  }
  le16(o: number, v: number) {
    this.u8(o, v & 0xff);
    this.u8(o + 1, (v >> 8) & 0xff);
  }
  be16(o: number, v: number) {
    this.u8(o, (v >> 8) & 0xff);
    this.u8(o + 1, v & 0xff);
  }
  le32(o: number, v: number) {
    for (let i = 0; i < 4; i++) this.u8(o + i, (v >>> (8 * i)) & 0xff);
  }
  be32(o: number, v: number) {
    for (let i = 0; i < 4; i++) this.u8(o + i, (v >>> (8 * (3 - i))) & 0xff);
  }
  /** ISO 9660 "both-byte orders" fields. */
  both16(o: number, v: number) {
    this.le16(o, v);
    this.be16(o + 2, v);
  }
  both32(o: number, v: number) {
    this.le32(o, v);
    this.be32(o + 4, v);
  }
  bytes(o: number, v: Uint8Array) {
    this.b.set(v, this.at + o);
  }
  /** A fixed-width text field padded with spaces (a-/d-characters). */
  text(o: number, width: number, v: string) {
    this.bytes(o, enc.encode(v.padEnd(width, " ").slice(0, width)));
  }
  /** A fixed-width UCS-2 field padded with U+0020 (Joliet). */
  textUcs2(o: number, width: number, v: string) {
    this.bytes(o, ucs2(v.padEnd(width / 2, " ").slice(0, width / 2)));
  }
}

/** 7-byte directory record date (UTC). */
function recordDate(d: Date): Uint8Array {
  return Uint8Array.of(d.getUTCFullYear() - 1900, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), 0);
}

/** 17-byte volume descriptor date `YYYYMMDDHHMMSScc` + GMT offset (UTC). */
function volumeDate(d: Date | undefined): Uint8Array {
  if (!d) return Uint8Array.of(...enc.encode("0000000000000000"), 0);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const s = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${p(Math.floor(d.getUTCMilliseconds() / 10))}`;
  return Uint8Array.of(...enc.encode(s), 0);
}

// Rock Ridge (RRIP 1.09, SUSP 1.10) system-use entries.
function susp(sig: string, payload: number[]): number[] {
  return [sig.charCodeAt(0), sig.charCodeAt(1), 4 + payload.length, 1, ...payload];
}
const both32Arr = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff, (v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
const rrSP = () => susp("SP", [0xbe, 0xef, 0]);
function rrER(): number[] {
  const id = [...enc.encode("RRIP_1991A")];
  const des = [...enc.encode("ROCK RIDGE 1.09")];
  const src = [...enc.encode("capx-appliance")];
  return susp("ER", [id.length, des.length, src.length, 1, ...id, ...des, ...src]);
}
const rrPX = (mode: number, nlink: number) => susp("PX", [...both32Arr(mode), ...both32Arr(nlink), ...both32Arr(0), ...both32Arr(0)]);
const rrNM = (name: string) => susp("NM", [0, ...enc.encode(name)]);

const MODE_DIR = 0o040555;
const MODE_FILE = 0o100444;

interface DirRecord {
  id: Uint8Array;
  extent: number;
  size: number;
  dir: boolean;
  systemUse: number[];
}

function encodeRecord(r: DirRecord, date: Uint8Array): Uint8Array {
  const pad = r.id.length % 2 === 0 ? 1 : 0;
  const len = 33 + r.id.length + pad + r.systemUse.length;
  if (len > 255) throw new Error(`ISO 9660 directory record too long (${len} bytes)`);
  const out = new Uint8Array(len);
  const w = new Bytes(out);
  w.u8(0, len);
  w.both32(2, r.extent);
  w.both32(10, r.size);
  w.bytes(18, date);
  w.u8(25, r.dir ? 2 : 0);
  w.both16(28, 1);
  w.u8(32, r.id.length);
  w.bytes(33, r.id);
  w.bytes(33 + r.id.length + pad, Uint8Array.from(r.systemUse));
  return out;
}

/** Packs records into sectors; a record never crosses a sector boundary. */
function packDirectory(records: Uint8Array[]): Uint8Array[] {
  const sectors: Uint8Array[] = [new Uint8Array(SECTOR)];
  let used = 0;
  for (const r of records) {
    if (used + r.length > SECTOR) {
      sectors.push(new Uint8Array(SECTOR));
      used = 0;
    }
    sectors[sectors.length - 1]!.set(r, used);
    used += r.length;
  }
  return sectors;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function pathTable(rootExtent: number, bigEndian: boolean): Uint8Array {
  const t = new Uint8Array(10);
  const w = new Bytes(t);
  w.u8(0, 1);
  if (bigEndian) {
    w.be32(2, rootExtent);
    w.be16(6, 1);
  } else {
    w.le32(2, rootExtent);
    w.le16(6, 1);
  }
  return t;
}

/** Builds a flat ISO 9660 image with Rock Ridge and Joliet names. */
export function buildIso9660(files: IsoFile[], opts: IsoOptions = {}): Uint8Array {
  const label = opts.label ?? "cidata";
  const date = opts.date ?? new Date();
  const names = new Set<string>();
  for (const f of files) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(f.name)) throw new Error(`ISO file name '${f.name}' is not a plain file name`);
    const iso = isoName(f.name);
    if (names.has(iso)) throw new Error(`ISO file names collide: '${f.name}' maps to '${iso}'`);
    names.add(iso);
  }
  const recDate = recordDate(date);

  // Fixed sectors: PVD 16, SVD 17, terminator 18, path tables 19–22.
  const PT_L = 19, PT_M = 20, JPT_L = 21, JPT_M = 22;
  const primaryRoot = 23;
  // Directories are sized first with placeholder extents (sizes do not depend on extents).
  const primaryRecords = (rootExtent: number, rootSize: number, extents: number[]) => {
    const dot = { id: Uint8Array.of(0), extent: rootExtent, size: rootSize, dir: true, systemUse: [...rrSP(), ...rrPX(MODE_DIR, 2), ...rrER()] };
    const dotdot = { id: Uint8Array.of(1), extent: rootExtent, size: rootSize, dir: true, systemUse: rrPX(MODE_DIR, 2) };
    const entries = files
      .map((f, i) => ({ id: enc.encode(isoName(f.name)), extent: extents[i]!, size: f.data.length, dir: false, systemUse: [...rrPX(MODE_FILE, 1), ...rrNM(f.name)] }))
      .sort((a, b) => compareBytes(a.id, b.id));
    return [dot, dotdot, ...entries].map((r) => encodeRecord(r, recDate));
  };
  const jolietRecords = (rootExtent: number, rootSize: number, extents: number[]) => {
    const dot = { id: Uint8Array.of(0), extent: rootExtent, size: rootSize, dir: true, systemUse: [] };
    const dotdot = { id: Uint8Array.of(1), extent: rootExtent, size: rootSize, dir: true, systemUse: [] };
    const entries = files
      .map((f, i) => ({ id: ucs2(f.name), extent: extents[i]!, size: f.data.length, dir: false, systemUse: [] }))
      .sort((a, b) => compareBytes(a.id, b.id));
    return [dot, dotdot, ...entries].map((r) => encodeRecord(r, recDate));
  };
  const zeros = files.map(() => 0);
  const primarySectors = packDirectory(primaryRecords(0, 0, zeros)).length;
  const jolietSectors = packDirectory(jolietRecords(0, 0, zeros)).length;
  const jolietRoot = primaryRoot + primarySectors;
  let next = jolietRoot + jolietSectors;
  const extents = files.map((f) => {
    const at = next;
    next += Math.max(1, Math.ceil(f.data.length / SECTOR));
    return at;
  });
  const total = next;

  const image = new Uint8Array(total * SECTOR);
  const primaryDir = packDirectory(primaryRecords(primaryRoot, primarySectors * SECTOR, extents));
  const jolietDir = packDirectory(jolietRecords(jolietRoot, jolietSectors * SECTOR, extents));
  primaryDir.forEach((s, i) => image.set(s, (primaryRoot + i) * SECTOR));
  jolietDir.forEach((s, i) => image.set(s, (jolietRoot + i) * SECTOR));
  files.forEach((f, i) => image.set(f.data, extents[i]! * SECTOR));
  image.set(pathTable(primaryRoot, false), PT_L * SECTOR);
  image.set(pathTable(primaryRoot, true), PT_M * SECTOR);
  image.set(pathTable(jolietRoot, false), JPT_L * SECTOR);
  image.set(pathTable(jolietRoot, true), JPT_M * SECTOR);

  const writeDescriptor = (sector: number, joliet: boolean) => {
    const w = new Bytes(image, sector * SECTOR);
    w.u8(0, joliet ? 2 : 1);
    w.bytes(1, enc.encode("CD001"));
    w.u8(6, 1);
    if (joliet) {
      w.textUcs2(8, 32, "LINUX");
      w.textUcs2(40, 32, label);
      w.bytes(88, enc.encode("%/E")); // UCS-2 level 3
    } else {
      w.text(8, 32, "LINUX");
      w.text(40, 32, label);
    }
    w.both32(80, total);
    w.both16(120, 1);
    w.both16(124, 1);
    w.both16(128, SECTOR);
    w.both32(132, 10);
    w.le32(140, joliet ? JPT_L : PT_L);
    w.be32(148, joliet ? JPT_M : PT_M);
    const rootRecord = encodeRecord({ id: Uint8Array.of(0), extent: joliet ? jolietRoot : primaryRoot, size: (joliet ? jolietSectors : primarySectors) * SECTOR, dir: true, systemUse: [] }, recDate);
    w.bytes(156, rootRecord);
    const fill = joliet ? (o: number, n: number, v: string) => w.textUcs2(o, n, v) : (o: number, n: number, v: string) => w.text(o, n, v);
    fill(190, 128, ""); // volume set
    fill(318, 128, ""); // publisher
    fill(446, 128, ""); // data preparer
    fill(574, 128, "CAPX-APPLIANCE NOCLOUD");
    fill(702, 37, "");
    fill(739, 37, "");
    fill(776, 37, "");
    w.bytes(813, volumeDate(date));
    w.bytes(830, volumeDate(date));
    w.bytes(847, volumeDate(undefined));
    w.bytes(864, volumeDate(undefined));
    w.u8(881, 1);
  };
  writeDescriptor(FIRST_VD, false);
  writeDescriptor(FIRST_VD + 1, true);
  const term = new Bytes(image, (FIRST_VD + 2) * SECTOR);
  term.u8(0, 255);
  term.bytes(1, enc.encode("CD001"));
  term.u8(6, 1);
  return image;
}

// ---------------------------------------------------------------------------------------------
// Reader (tests, and the lab PVE reading what a VM boots with)
// ---------------------------------------------------------------------------------------------

export interface IsoDirEntry {
  /** The raw primary identifier, e.g. `USER_DATA.;1`. */
  isoName: string;
  /** Rock Ridge NM name when present. */
  rockRidgeName?: string;
  extent: number;
  size: number;
  directory: boolean;
}

export interface IsoImage {
  /** PVD volume identifier, trailing spaces removed. */
  label: string;
  /** The root has an SP entry and an ER entry naming RRIP. */
  rockRidge: boolean;
  /** Joliet SVD volume identifier, when there is a Joliet descriptor. */
  jolietLabel?: string;
  primary: IsoDirEntry[];
  /** Joliet names (UCS-2) → entries; empty without Joliet. */
  joliet: IsoDirEntry[];
  /** The best name of each file (Rock Ridge, else Joliet, else the ISO name without `;1`) → bytes. */
  files: Map<string, Uint8Array>;
}

const dec = new TextDecoder();

function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function fromUcs2(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode((b[i]! << 8) | b[i + 1]!);
  return s;
}

function readDirectory(image: Uint8Array, extent: number, size: number, idDecoder: (b: Uint8Array) => string): { entries: IsoDirEntry[]; rootSystemUse: Uint8Array } {
  const entries: IsoDirEntry[] = [];
  let rootSystemUse: Uint8Array = new Uint8Array();
  const start = extent * SECTOR;
  for (let off = 0; off < size; ) {
    const at = start + off;
    const len = image[at] ?? 0;
    if (len === 0) {
      off = (Math.floor(off / SECTOR) + 1) * SECTOR; // rest of this sector is padding
      continue;
    }
    const rec = image.subarray(at, at + len);
    const idLen = rec[32]!;
    const id = rec.subarray(33, 33 + idLen);
    const suStart = 33 + idLen + (idLen % 2 === 0 ? 1 : 0);
    const systemUse = rec.subarray(suStart, len);
    if (idLen === 1 && (id[0] === 0 || id[0] === 1)) {
      if (id[0] === 0) rootSystemUse = systemUse;
    } else {
      const entry: IsoDirEntry = { isoName: idDecoder(id), extent: le32(rec, 2), size: le32(rec, 10), directory: (rec[25]! & 2) !== 0 };
      const nm = suspEntries(systemUse).find((e) => e.sig === "NM");
      if (nm) entry.rockRidgeName = dec.decode(nm.data.subarray(1));
      entries.push(entry);
    }
    off += len;
  }
  return { entries, rootSystemUse };
}

function suspEntries(su: Uint8Array): { sig: string; data: Uint8Array }[] {
  const out: { sig: string; data: Uint8Array }[] = [];
  for (let i = 0; i + 4 <= su.length; ) {
    const len = su[i + 2]!;
    if (len < 4) break;
    out.push({ sig: String.fromCharCode(su[i]!, su[i + 1]!), data: su.subarray(i + 4, i + len) });
    i += len;
  }
  return out;
}

/** Parses a flat ISO 9660 image (PVD, optional Joliet SVD, Rock Ridge names in the root). */
export function readIso9660(image: Uint8Array): IsoImage {
  const pvdAt = FIRST_VD * SECTOR;
  if (image.length < pvdAt + SECTOR || dec.decode(image.subarray(pvdAt + 1, pvdAt + 6)) !== "CD001" || image[pvdAt] !== 1) {
    throw new Error("not an ISO 9660 image (no primary volume descriptor at sector 16)");
  }
  const label = dec.decode(image.subarray(pvdAt + 40, pvdAt + 72)).replace(/ +$/, "");
  const rootRec = image.subarray(pvdAt + 156, pvdAt + 190);
  const primaryDir = readDirectory(image, le32(rootRec, 2), le32(rootRec, 10), (b) => dec.decode(b));
  const rootSu = suspEntries(primaryDir.rootSystemUse);
  const er = rootSu.find((e) => e.sig === "ER");
  const erId = er ? dec.decode(er.data.subarray(4, 4 + er.data[0]!)) : "";
  const rockRidge = rootSu[0]?.sig === "SP" && /^(RRIP_1991A|IEEE_P1282|IEEE_1282)$/.test(erId);

  let jolietLabel: string | undefined;
  let joliet: IsoDirEntry[] = [];
  for (let s = FIRST_VD + 1; (s + 1) * SECTOR <= image.length; s++) {
    const at = s * SECTOR;
    const type = image[at];
    if (type === 255 || dec.decode(image.subarray(at + 1, at + 6)) !== "CD001") break;
    const esc = dec.decode(image.subarray(at + 88, at + 91));
    if (type === 2 && /^%\/[@CE]$/.test(esc)) {
      jolietLabel = fromUcs2(image.subarray(at + 40, at + 72)).replace(/ +$/, "");
      const jr = image.subarray(at + 156, at + 190);
      joliet = readDirectory(image, le32(jr, 2), le32(jr, 10), fromUcs2).entries;
    }
  }

  const files = new Map<string, Uint8Array>();
  const jolietByExtent = new Map(joliet.map((e) => [e.extent, e.isoName.replace(/;1$/, "")]));
  for (const e of primaryDir.entries) {
    if (e.directory) continue;
    const name = (rockRidge ? e.rockRidgeName : undefined) ?? jolietByExtent.get(e.extent) ?? e.isoName.replace(/;1$/, "").replace(/\.$/, "");
    files.set(name, image.slice(e.extent * SECTOR, e.extent * SECTOR + e.size));
  }
  return { label, rockRidge, jolietLabel, primary: primaryDir.entries, joliet, files };
}

/** The NoCloud files of a `cidata` image (throws when the label or user-data is missing). */
export function readNoCloudIso(image: Uint8Array): BootstrapFiles {
  const iso = readIso9660(image);
  if (iso.label.toLowerCase() !== "cidata") throw new Error(`ISO volume label is '${iso.label}', not 'cidata'`);
  const text = (n: string) => {
    const b = iso.files.get(n);
    return b === undefined ? undefined : dec.decode(b);
  };
  const userData = text("user-data");
  if (userData === undefined) throw new Error("cidata ISO has no user-data");
  const out: BootstrapFiles = { userData, metaData: text("meta-data") ?? "", networkConfig: text("network-config") ?? "" };
  const vendor = text("vendor-data");
  if (vendor !== undefined) out.vendorData = vendor;
  return out;
}
