/**
 * Reads the files of an ISO 9660 image as a guest's cloud-init would find them on a cdrom: the
 * volume label and every file by path. Names come from Joliet when present, else Rock Ridge `NM`
 * entries, else plain ISO 9660 names (`USER_DAT.;1` → `user_dat`). Enough for the NoCloud and
 * config-drive ISOs that genisoimage or a JavaScript ISO writer produce.
 * @module
 */

const SECTOR = 2048;

interface DirEntry {
  name: string;
  extent: number;
  size: number;
  isDir: boolean;
}

function readEntries(buf: Buffer, extent: number, size: number, joliet: boolean): DirEntry[] {
  const out: DirEntry[] = [];
  const start = extent * SECTOR;
  let off = start;
  const end = start + size;
  while (off < end) {
    const len = buf[off]!;
    if (len === 0) {
      // records do not cross sectors: skip to the next one
      off = (Math.floor((off - start) / SECTOR) + 1) * SECTOR + start;
      continue;
    }
    const nameLen = buf[off + 32]!;
    const rawName = buf.subarray(off + 33, off + 33 + nameLen);
    const flags = buf[off + 25]!;
    const entry: DirEntry = { name: "", extent: buf.readUInt32LE(off + 2), size: buf.readUInt32LE(off + 10), isDir: (flags & 2) !== 0 };
    if (nameLen === 1 && (rawName[0] === 0 || rawName[0] === 1)) {
      off += len;
      continue; // . and ..
    }
    if (joliet) {
      entry.name = Buffer.from(rawName).swap16().toString("utf16le");
    } else {
      entry.name = rockRidgeName(buf.subarray(off + 33 + nameLen + (nameLen % 2 === 0 ? 1 : 0), off + len)) ?? rawName.toString("latin1").toLowerCase();
    }
    entry.name = entry.name.replace(/;\d+$/, "");
    if (!joliet && !entry.isDir) entry.name = entry.name.replace(/\.$/, "");
    out.push(entry);
    off += len;
  }
  return out;
}

function rockRidgeName(su: Buffer): string | undefined {
  let off = 0;
  let name: string | undefined;
  while (off + 4 <= su.length) {
    const sig = su.toString("latin1", off, off + 2);
    const len = su[off + 2]!;
    if (len < 4) break;
    if (sig === "NM") name = (name ?? "") + su.toString("utf8", off + 5, off + len);
    off += len;
  }
  return name;
}

export interface IsoImage {
  label: string;
  /** `/user-data` → content (UTF-8). */
  files: Record<string, string>;
}

export function readIso9660(buf: Buffer): IsoImage {
  let primary: number | undefined;
  let joliet: number | undefined;
  for (let s = 16; s < 64 && (s + 1) * SECTOR <= buf.length; s++) {
    const off = s * SECTOR;
    if (buf.toString("latin1", off + 1, off + 6) !== "CD001") break;
    const type = buf[off]!;
    if (type === 255) break;
    if (type === 1 && primary === undefined) primary = off;
    if (type === 2 && /%\/[@CE]/.test(buf.toString("latin1", off + 88, off + 91))) joliet = off;
  }
  if (primary === undefined) throw new Error("not an ISO 9660 image");
  const label = buf.toString("latin1", primary + 40, primary + 72).trim();
  const vd = joliet ?? primary;
  const root = vd + 156;
  const files: Record<string, string> = {};
  const walk = (extent: number, size: number, prefix: string, depth: number) => {
    if (depth > 8) return;
    for (const e of readEntries(buf, extent, size, joliet !== undefined)) {
      const path = `${prefix}/${e.name}`;
      if (e.isDir) walk(e.extent, e.size, path, depth + 1);
      else files[path] = buf.toString("utf8", e.extent * SECTOR, e.extent * SECTOR + e.size);
    }
  };
  walk(buf.readUInt32LE(root + 2), buf.readUInt32LE(root + 10), "", 0);
  return { label, files };
}
