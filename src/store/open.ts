/**
 * Opens the SQLite database of the store: pragmas, embedded migrations with a backup before
 * each upgrade, and a refusal to run on a database written by a newer appliance.
 *
 * Durability: WAL with `synchronous=FULL` by default — every acknowledged write has been
 * fsynced to the WAL, so it survives a crash of the process *and* of the host (power loss).
 * `NORMAL` (config `storage.synchronous`) fsyncs only at checkpoints: still safe against a
 * process crash (`kill -9`), but the last transactions may be lost on power loss.
 * @module
 */
import { Database } from "bun:sqlite";
import { mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { embeddedMigrations, type EmbeddedMigration } from "./migrations.ts";

export type SyncLevel = "FULL" | "NORMAL";

export interface OpenOptions {
  synchronous?: SyncLevel;
  /** Folder for automatic pre-migration backups. */
  backupDir?: string;
  busyTimeoutMs?: number;
  /** SQLite's page cache, KiB (16,000 unless given). */
  cacheKiB?: number;
  /** The migrations to apply; defaults to the ones embedded in the binary. */
  migrations?: EmbeddedMigration[];
}

export class NewerDatabaseError extends Error {}

const MIGRATIONS_TABLE = "__drizzle_migrations";

export function openDatabase(path: string, opts: OpenOptions = {}): Database {
  const db = new Database(path, { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run(`PRAGMA synchronous = ${opts.synchronous ?? "FULL"}`);
  // Short: a busy database answers 429 + Retry-After rather than stalling the event loop.
  db.run(`PRAGMA busy_timeout = ${opts.busyTimeoutMs ?? 1000}`);
  db.run("PRAGMA temp_store = MEMORY");
  db.run(`PRAGMA cache_size = -${opts.cacheKiB ?? 16000}`);
  // Keep the WAL file from staying at its high-water mark after a burst of writes.
  db.run("PRAGMA journal_size_limit = 67108864");
  try {
    migrate(db, path, opts.migrations ?? embeddedMigrations(), opts.backupDir);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

function lastAppliedMigration(db: Database): number | undefined {
  const table = db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").get(MIGRATIONS_TABLE);
  if (!table) return undefined;
  const row = db.query(`SELECT created_at AS at FROM ${MIGRATIONS_TABLE} ORDER BY created_at DESC LIMIT 1`).get() as
    | { at: number | string }
    | null;
  return row ? Number(row.at) : undefined;
}

function migrate(db: Database, path: string, migrations: EmbeddedMigration[], backupDir?: string): void {
  const newestKnown = migrations[migrations.length - 1]?.folderMillis ?? 0;
  const applied = lastAppliedMigration(db);
  if (applied !== undefined && applied > newestKnown) {
    throw new NewerDatabaseError(
      `database ${path} was migrated by a newer capx-appliance (schema ${applied} > ${newestKnown}); refusing to start — run the newer binary or restore a backup`,
    );
  }
  const pending = migrations.filter((m) => applied === undefined || m.folderMillis > applied);
  if (pending.length === 0) return;
  if (applied !== undefined && backupDir) {
    mkdirSync(backupDir, { recursive: true, mode: 0o700 });
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const target = join(backupDir, `pre-${pending[0]!.tag}-${stamp}.db`);
    if (!existsSync(target)) db.run(`VACUUM INTO '${target.replace(/'/g, "''")}'`);
  }
  applyMigrations(db, pending);
}

/**
 * Applies migrations in one transaction and records them in drizzle's own table (same columns,
 * hash and created_at as drizzle's SQLite migrator writes), so drizzle-kit keeps managing the
 * schema while a first start does not load drizzle-orm (about 40 ms).
 */
export function applyMigrations(db: Database, pending: EmbeddedMigration[]): void {
  db.run(`CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (\n\t\t\t\tid SERIAL PRIMARY KEY,\n\t\t\t\thash text NOT NULL,\n\t\t\t\tcreated_at numeric\n\t\t\t)`);
  const record = db.prepare(`INSERT INTO "${MIGRATIONS_TABLE}" ("hash", "created_at") VALUES (?, ?)`);
  db.transaction(() => {
    for (const m of pending) {
      for (const stmt of m.sql) db.run(stmt);
      record.run(m.hash, m.folderMillis);
    }
  })();
}
