/**
 * The file system of a lab VM's disk as cloud-init and the simulated programs see it: files
 * (bytes, mode, owner) and directories, kept in memory and persisted as
 * DATA_DIR/lab/guests/<vmid>/disk.json — it survives daemon restarts as the disk would, `/run`
 * is a tmpfs emptied at every boot, and the whole disk goes when the VM is destroyed.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";

export interface FileEntry {
  /** base64 of the bytes */
  data: string;
  mode: number;
  owner: string;
}

/** The whole persisted disk: files, directories and cloud-init's own records. */
export interface DiskImage {
  files: Record<string, FileEntry>;
  dirs: Record<string, { mode: number }>;
  meta: Record<string, unknown>;
}

const BASE_DIRS = ["/", "/etc", "/home", "/root", "/run", "/tmp", "/usr", "/usr/bin", "/usr/local", "/usr/local/bin", "/var", "/var/lib", "/var/lib/cloud", "/var/log"];

export class FsError extends Error {
  constructor(
    readonly code: "ENOENT" | "ENOTDIR" | "EISDIR" | "EACCES",
    message: string,
  ) {
    super(message);
  }
}

export class GuestFs {
  #img: DiskImage;

  constructor(
    /** DATA_DIR/lab/guests/<vmid>, or undefined for a disk that lives in memory only (tests). */
    readonly dir?: string,
  ) {
    this.#img = this.#load() ?? { files: {}, dirs: Object.fromEntries(BASE_DIRS.map((d) => [d, { mode: 0o755 }])), meta: {} };
  }

  static dirOf(dataDir: string, vmid: number): string {
    return join(dataDir, "lab", "guests", String(vmid));
  }

  /** cloud-init's records on this disk (instance id, users, last run). */
  get meta(): Record<string, unknown> {
    return this.#img.meta;
  }

  #load(): DiskImage | undefined {
    if (!this.dir) return undefined;
    const file = join(this.dir, "disk.json");
    if (!existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, "utf8")) as DiskImage;
  }

  /** Writes the disk out (atomically: a crash leaves the old or the new image). */
  save(): void {
    if (!this.dir) return;
    mkdirSync(this.dir, { recursive: true });
    const tmp = join(this.dir, "disk.json.tmp");
    writeFileSync(tmp, JSON.stringify(this.#img));
    renameSync(tmp, join(this.dir, "disk.json"));
  }

  /** The disk is gone (VM destroyed). */
  wipe(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.#img = { files: {}, dirs: Object.fromEntries(BASE_DIRS.map((d) => [d, { mode: 0o755 }])), meta: {} };
  }

  static normalize(path: string, cwd = "/"): string {
    return posix.resolve(cwd, path);
  }

  isDir(path: string): boolean {
    return GuestFs.normalize(path) in this.#img.dirs;
  }

  isFile(path: string): boolean {
    return GuestFs.normalize(path) in this.#img.files;
  }

  exists(path: string): boolean {
    return this.isDir(path) || this.isFile(path);
  }

  stat(path: string): { mode: number; owner: string; size: number } | undefined {
    const f = this.#img.files[GuestFs.normalize(path)];
    return f ? { mode: f.mode, owner: f.owner, size: Buffer.from(f.data, "base64").length } : undefined;
  }

  read(path: string): Buffer | undefined {
    const f = this.#img.files[GuestFs.normalize(path)];
    return f ? Buffer.from(f.data, "base64") : undefined;
  }

  readText(path: string): string | undefined {
    return this.read(path)?.toString("utf8");
  }

  /** mkdir; `parents` as `mkdir -p` (no error for an existing directory). */
  mkdir(path: string, parents = false, mode = 0o755): void {
    const p = GuestFs.normalize(path);
    if (this.isDir(p)) {
      if (parents) return;
      throw new FsError("EISDIR", `cannot create directory '${path}': File exists`);
    }
    if (this.isFile(p)) throw new FsError("ENOTDIR", `cannot create directory '${path}': File exists`);
    const parent = posix.dirname(p);
    if (!this.isDir(parent)) {
      if (!parents) throw new FsError("ENOENT", `cannot create directory '${path}': No such file or directory`);
      this.mkdir(parent, true, mode);
    }
    this.#img.dirs[p] = { mode };
  }

  /** Writes a file; its directory must exist unless `parents` (write_files creates it). */
  write(path: string, data: Buffer | string, o: { mode?: number; owner?: string; append?: boolean; parents?: boolean } = {}): void {
    const p = GuestFs.normalize(path);
    if (this.isDir(p)) throw new FsError("EISDIR", `${path}: Is a directory`);
    const parent = posix.dirname(p);
    if (!this.isDir(parent)) {
      if (!o.parents) throw new FsError("ENOENT", `cannot create ${path}: Directory nonexistent`);
      this.mkdir(parent, true);
    }
    const old = this.#img.files[p];
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, "utf8");
    const content = o.append && old ? Buffer.concat([Buffer.from(old.data, "base64"), bytes]) : bytes;
    this.#img.files[p] = { data: content.toString("base64"), mode: o.mode ?? old?.mode ?? 0o644, owner: o.owner ?? old?.owner ?? "root:root" };
  }

  chmod(path: string, mode: number): void {
    const f = this.#img.files[GuestFs.normalize(path)];
    if (f) f.mode = mode;
    else if (this.isDir(path)) this.#img.dirs[GuestFs.normalize(path)]!.mode = mode;
    else throw new FsError("ENOENT", `cannot access '${path}': No such file or directory`);
  }

  /** rm (`recursive` for directories). */
  remove(path: string, recursive = false): void {
    const p = GuestFs.normalize(path);
    if (this.isFile(p)) {
      delete this.#img.files[p];
      return;
    }
    if (!this.isDir(p)) throw new FsError("ENOENT", `cannot remove '${path}': No such file or directory`);
    if (!recursive) throw new FsError("EISDIR", `cannot remove '${path}': Is a directory`);
    const under = (k: string) => k === p || k.startsWith(p === "/" ? "/" : `${p}/`);
    for (const k of Object.keys(this.#img.files)) if (under(k)) delete this.#img.files[k];
    for (const k of Object.keys(this.#img.dirs)) if (under(k) && k !== "/") delete this.#img.dirs[k];
  }

  /** Paths of the files under a directory. */
  list(dir = "/"): string[] {
    const p = GuestFs.normalize(dir);
    return Object.keys(this.#img.files)
      .filter((k) => p === "/" || k.startsWith(`${p}/`))
      .sort();
  }

  /** A new boot: /run is a tmpfs. */
  clearRun(): void {
    for (const k of Object.keys(this.#img.files)) if (k.startsWith("/run/")) delete this.#img.files[k];
    for (const k of Object.keys(this.#img.dirs)) if (k.startsWith("/run/")) delete this.#img.dirs[k];
  }
}
