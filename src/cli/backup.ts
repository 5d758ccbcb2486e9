/**
 * `capx-appliance backup --to FILE` and `capx-appliance restore FILE`.
 *
 * A backup is a tar archive of the data dir: the store (state.db) as an online snapshot taken
 * with `VACUUM INTO` from a separate connection — consistent under WAL while the daemon writes,
 * and holding every write acknowledged before it started — the PKI, and lab/ when present (the
 * lab PVE's VMs are "hardware": state restored without them would make the controllers see their
 * VMs gone). SQLite databases under lab/ are snapshotted the same way; other files are copied
 * first, then archived. WAL/SHM side files, temp files, pre-migration backups and the pid file
 * are left out. The archive starts with capx-backup.json, which `restore` requires.
 *
 * `restore` refuses while a daemon serves from the data dir, and refuses a non-empty data dir
 * unless --force (which moves it aside to DIR.bak-<stamp>). It extracts next to the data dir and
 * renames into place, so a failed restore leaves nothing half-written.
 * @module
 */
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { DEFAULT_DATA_DIR } from "../config/config.ts";
import { VERSION } from "../version.ts";
import { parseFlags, UsageError } from "./args.ts";
import { CommandError } from "./cluster-secret.ts";
import { runningDaemon } from "./running-daemon.ts";
import { readTar, TarFormatError, TarWriter } from "./tar.ts";

export const BACKUP_USAGE = "usage: capx-appliance backup --to FILE [--force] [--data-dir DIR]";
export const RESTORE_USAGE = "usage: capx-appliance restore FILE [--force] [--data-dir DIR]";

export const MANIFEST = "capx-backup.json";

/** Not state, or rebuilt from it: left out of a backup. */
const SKIP_TOP = new Set(["backups", "daemon.pid", MANIFEST]);
const SKIP_SUFFIX = ["-wal", "-shm", "-journal", ".tmp"];

function isSqlite(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(16);
    const n = readSync(fd, head, 0, 16, 0);
    return n === 16 && head.toString("latin1") === "SQLite format 3\0";
  } finally {
    closeSync(fd);
  }
}

/** An online, consistent copy of a SQLite database (the daemon may be writing to it). */
export function snapshotDatabase(source: string, target: string): void {
  const db = new Database(source, { readwrite: true, create: false });
  try {
    db.run("PRAGMA busy_timeout = 10000");
    db.run(`VACUUM INTO '${target.replace(/'/g, "''")}'`);
  } finally {
    db.close();
  }
}

interface Copied {
  path: string;
  type: "file" | "dir";
  mode: number;
  mtime: number;
}

/** Copies DIR into `into` (databases by snapshot, the store first), returning what to archive. */
function snapshotDataDir(dataDir: string, into: string): Copied[] {
  const out: Copied[] = [];
  const store = join(dataDir, "state.db");
  const storeStat = statSync(store);
  snapshotDatabase(store, join(into, "state.db"));
  out.push({ path: "state.db", type: "file", mode: storeStat.mode & 0o7777, mtime: storeStat.mtimeMs / 1000 });
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dataDir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (!rel && (SKIP_TOP.has(name) || name === "state.db")) continue;
      if (SKIP_SUFFIX.some((s) => name.endsWith(s))) continue;
      const src = join(dataDir, r);
      let st;
      try {
        st = lstatSync(src);
      } catch {
        continue; // removed while we walked (a lab VM's files, a temp file)
      }
      const mode = st.mode & 0o7777;
      const mtime = st.mtimeMs / 1000;
      if (st.isDirectory()) {
        mkdirSync(join(into, r), { mode: 0o700 });
        out.push({ path: r, type: "dir", mode, mtime });
        walk(r);
      } else if (st.isFile()) {
        try {
          if (name.endsWith(".db") && isSqlite(src)) snapshotDatabase(src, join(into, r));
          else copyFileSync(src, join(into, r));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
          throw e;
        }
        out.push({ path: r, type: "file", mode, mtime });
      }
    }
  };
  walk("");
  return out;
}

export function backupCommand(argv: string[]): string {
  const { flags, positional } = parseFlags(argv, { to: { type: "string" }, force: { type: "boolean" }, "data-dir": { type: "string" } });
  if (positional.length || typeof flags.to !== "string" || flags.to === "") throw new UsageError(BACKUP_USAGE);
  const dataDir = resolve((flags["data-dir"] as string | undefined) ?? DEFAULT_DATA_DIR);
  const file = resolve(flags.to);
  if (!existsSync(join(dataDir, "state.db"))) throw new CommandError(`${dataDir} holds no appliance state (no state.db)`);
  if (existsSync(file) && !flags.force) throw new CommandError(`${file} exists; use --force to overwrite it`);
  if (file === dataDir || file.startsWith(`${dataDir}${sep}`)) throw new CommandError(`the backup file must be outside the data dir ${dataDir}`);
  if (!existsSync(dirname(file))) throw new CommandError(`directory ${dirname(file)} does not exist`);

  const work = mkdtempSync(join(dirname(file), `.${basename(file)}.snap-`));
  const partial = join(work, "archive.tar");
  try {
    chmodSync(work, 0o700);
    const files = join(work, "files");
    mkdirSync(files, { mode: 0o700 });
    const entries = snapshotDataDir(dataDir, files);
    const now = Date.now() / 1000;
    const manifest = { format: 1, version: VERSION, createdAt: new Date().toISOString(), dataDir, files: entries.filter((e) => e.type === "file").length };
    const tar = new TarWriter(partial);
    try {
      tar.addBytes(MANIFEST, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 0o600, now);
      for (const e of entries) {
        if (e.type === "dir") tar.addDir(e.path, e.mode, e.mtime);
        else tar.addFile(e.path, join(files, e.path), e.mode, e.mtime);
      }
      tar.finish();
    } catch (err) {
      tar.abort();
      throw err;
    }
    renameSync(partial, file);
    syncDir(dirname(file));
    return `backup of ${dataDir} written to ${file} (${manifest.files} files, ${statSync(file).size} bytes)\n`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } catch {
    // some file systems do not fsync directories
  } finally {
    closeSync(fd);
  }
}

/** A relative path inside the archive that stays inside the target (no absolute, no `..`). */
function safePath(path: string): string {
  const parts = path.split("/");
  if (path === "" || path.startsWith("/") || parts.some((p) => p === ".." || p === "" || p === ".")) throw new CommandError(`archive entry ${JSON.stringify(path)} is not a plain relative path; refusing`);
  return parts.join(sep);
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "Z");
}

export async function restoreCommand(argv: string[]): Promise<string> {
  const { flags, positional } = parseFlags(argv, { force: { type: "boolean" }, "data-dir": { type: "string" } });
  if (positional.length !== 1) throw new UsageError(RESTORE_USAGE);
  const file = resolve(positional[0]!);
  const dataDir = resolve((flags["data-dir"] as string | undefined) ?? DEFAULT_DATA_DIR);
  if (!existsSync(file) || !statSync(file).isFile()) throw new CommandError(`${file} not found`);
  if (existsSync(dataDir)) {
    if (!statSync(dataDir).isDirectory()) throw new CommandError(`${dataDir} is not a directory`);
    const running = await runningDaemon(dataDir);
    if (running) throw new CommandError(`a daemon is running on ${dataDir} (${running}); stop it before restoring`);
  }
  const nonEmpty = existsSync(dataDir) && readdirSync(dataDir).length > 0;
  if (nonEmpty && !flags.force) throw new CommandError(`${dataDir} is not empty; use --force to move it aside to ${dataDir}.bak-<stamp> and restore`);

  mkdirSync(dirname(dataDir), { recursive: true });
  const staging = mkdtempSync(`${dataDir}.restore-`);
  let count = 0;
  try {
    chmodSync(staging, 0o700);
    const dirs: { path: string; mode: number }[] = [];
    let manifest: { format?: number } | undefined;
    try {
      readTar(file, (e, copyTo) => {
        const rel = safePath(e.path);
        if (e.path === MANIFEST) {
          const tmp = join(staging, `.${MANIFEST}`);
          const fd = openSync(tmp, "w", 0o600);
          copyTo(fd);
          closeSync(fd);
          manifest = JSON.parse(readFileSync(tmp, "utf8")) as { format?: number };
          rmSync(tmp);
          return;
        }
        const target = join(staging, rel);
        if (e.type === "dir") {
          mkdirSync(target, { recursive: true, mode: 0o700 });
          dirs.push({ path: target, mode: e.mode });
          return;
        }
        mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
        const fd = openSync(target, "wx", 0o600);
        try {
          copyTo(fd);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        chmodSync(target, e.mode & 0o777);
        count++;
      });
    } catch (e) {
      if (e instanceof TarFormatError || e instanceof SyntaxError) throw new CommandError(`${file} is not a capx-appliance backup: ${e.message}`);
      throw e;
    }
    if (manifest?.format !== 1 || !existsSync(join(staging, "state.db"))) throw new CommandError(`${file} is not a capx-appliance backup (no ${MANIFEST} or state.db)`);
    // Deepest first, so a read-only directory mode does not block its children.
    for (const d of dirs.reverse()) chmodSync(d.path, d.mode & 0o777);

    let moved: string | undefined;
    if (nonEmpty) {
      moved = `${dataDir}.bak-${stamp()}`;
      renameSync(dataDir, moved);
    } else if (existsSync(dataDir)) rmSync(dataDir, { recursive: true });
    renameSync(staging, dataDir);
    chmodSync(dataDir, 0o700);
    syncDir(dirname(dataDir));
    return `restored ${count} files from ${file} into ${dataDir}${moved ? ` (the previous data dir is in ${moved})` : ""}\n`;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
