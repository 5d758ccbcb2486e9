import { describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, statSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { openDatabase, NewerDatabaseError } from "./open.ts";
import { embeddedMigrations } from "./migrations.ts";
import { Store, KeyExistsError, RevisionConflictError, CompactedError, type Change } from "./store.ts";
import type { KObject } from "../lib/kobject.ts";

function tempDir(): { path: string; [Symbol.dispose](): void } {
  const path = mkdtempSync(join(tmpdir(), "capx-store-"));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

function cm(name: string, data: Record<string, string> = {}, ns = "default"): KObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns, uid: `uid-${name}` }, data };
}

function openStore(dir: string, now?: () => number): Store {
  return new Store(openDatabase(join(dir, "state.db")), now);
}

describe("Store", () => {
  it("assigns one global, increasing revision to every write and stamps it into the body", () => {
    using dir = tempDir();
    const store = openStore(dir.path);
    const a = store.create("configmaps", cm("a"));
    const b = store.create("configmaps", cm("b"));
    expect(b.rv).toBe(a.rv + 1);
    const row = store.get("configmaps", "default", "a")!;
    expect(JSON.parse(row.body).metadata.resourceVersion).toBe(String(a.rv));
    expect(store.revision).toBe(b.rv);
  });

  it("refuses a second create of the same key and a stale update", () => {
    using dir = tempDir();
    const store = openStore(dir.path);
    const a = store.create("configmaps", cm("a"));
    expect(() => store.create("configmaps", cm("a"))).toThrow(KeyExistsError);
    store.update("configmaps", cm("a", { k: "1" }), a.rv);
    expect(() => store.update("configmaps", cm("a", { k: "2" }), a.rv)).toThrow(RevisionConflictError);
    expect(JSON.parse(store.get("configmaps", "default", "a")!.body).data).toEqual({ k: "1" });
  });

  it("delivers changes to subscribers after the batch commits, in order, with the previous state", async () => {
    using dir = tempDir();
    const store = openStore(dir.path);
    const seen: Change[] = [];
    const observed: string[] = [];
    store.subscribe((c) => seen.push(c));
    store.observe((c) => observed.push(c.type));
    const a = store.create("configmaps", cm("a"));
    store.update("configmaps", cm("a", { x: "1" }), a.rv);
    store.delete("configmaps", "default", "a");
    // Observers follow each operation; subscribers wait for the COMMIT at the end of the tick.
    expect(observed).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    expect(seen).toHaveLength(0);
    await store.durable();
    expect(seen.map((c) => c.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    expect(seen[1]!.prev!.data).toEqual({});
    expect(seen[2]!.object.metadata.resourceVersion).toBe(String(seen[2]!.rv));
  });

  it("undoes a failed operation alone, keeping the rest of its batch", async () => {
    using dir = tempDir();
    const store = openStore(dir.path);
    const seen: Change[] = [];
    store.subscribe((c) => seen.push(c));
    store.create("configmaps", cm("kept"));
    const before = store.revision;
    expect(() =>
      store.transaction(() => {
        store.create("configmaps", cm("a"));
        store.create("configmaps", cm("a"));
      }),
    ).toThrow(KeyExistsError);
    expect(store.revision).toBe(before);
    expect(store.get("configmaps", "default", "a")).toBeUndefined();
    await store.durable();
    expect(seen.map((c) => c.name)).toEqual(["kept"]);
    expect(store.get("configmaps", "default", "kept")).toBeDefined();
  });

  it("commits concurrent writes of one tick together and acknowledges them after COMMIT", async () => {
    using dir = tempDir();
    const store = openStore(dir.path);
    for (let i = 0; i < 5; i++) store.create("configmaps", cm(`b${i}`));
    const other = new Database(join(dir.path, "state.db"));
    // Not yet visible to another connection: the batch is open.
    expect(other.query("SELECT COUNT(*) AS n FROM objects").get()).toEqual({ n: 0 });
    await store.durable();
    expect(other.query("SELECT COUNT(*) AS n FROM objects").get()).toEqual({ n: 5 });
    other.close();
  });

  it("pages lists by key and reads a past revision from the log", () => {
    using dir = tempDir();
    const store = openStore(dir.path);
    for (const n of ["a", "b", "c", "d"]) store.create("configmaps", cm(n));
    const snap = store.revision;
    const first = store.list("configmaps", { limit: 2 });
    expect(first.rows.map((r) => r.name)).toEqual(["a", "b"]);
    expect(first.more).toBe(true);
    // Writes after the snapshot must not show in later pages of the same snapshot.
    store.delete("configmaps", "default", "c");
    store.create("configmaps", cm("bb"));
    const cur = store.get("configmaps", "default", "d")!;
    store.update("configmaps", cm("d", { changed: "yes" }), cur.rv);
    const second = store.list("configmaps", { atRevision: snap, after: { namespace: "default", name: "b" }, limit: 2 });
    expect(second.rows.map((r) => r.name)).toEqual(["c", "d"]);
    expect(JSON.parse(second.rows[1]!.body).data).toEqual({});
    expect(second.more).toBe(false);
    expect(store.list("configmaps").rows.map((r) => r.name)).toEqual(["a", "b", "bb", "d"]);
  });

  it("replays the log after a revision and answers 'compacted' below the retained window", () => {
    using dir = tempDir();
    let clock = 1_000_000;
    const store = openStore(dir.path, () => clock++);
    let rv = store.create("configmaps", cm("a")).rv;
    for (let i = 0; i < 50; i++) rv = store.update("configmaps", cm("a", { i: String(i) }), rv).rv;
    expect(store.changesSince(rv - 3).map((c) => c.rv)).toEqual([rv - 2, rv - 1, rv]);
    const compacted = store.compact({ minRetain: 10, maxRetain: 100, minAgeMs: 0 });
    expect(compacted).toBe(rv - 10);
    expect(() => store.changesSince(rv - 20)).toThrow(CompactedError);
    expect(store.changesSince(rv - 10)).toHaveLength(10);
    expect(() => store.list("configmaps", { atRevision: rv - 20 })).toThrow(CompactedError);
  });

  it("keeps the database from growing under 100k updates of one object", () => {
    using dir = tempDir();
    // NORMAL: this test is about space, not durability; FULL would fsync 100k times.
    const store = new Store(openDatabase(join(dir.path, "state.db"), { synchronous: "NORMAL" }));
    const body = "x".repeat(400);
    let rv = store.create("configmaps", cm("hot", { body })).rv;
    const sizeAt: number[] = [];
    const file = join(dir.path, "state.db");
    for (let i = 1; i <= 100_000; i++) {
      rv = store.update("configmaps", cm("hot", { body, i: String(i) }), rv).rv;
      // A daemon commits at the end of every tick; this loop never yields, so commit by hand.
      if (i % 100 === 0) store.commit();
      if (i % 5000 === 0) store.compact({ minRetain: 1000, maxRetain: 20000, minAgeMs: 0 });
      if (i % 25_000 === 0) {
        store.commit();
        store.database.run("PRAGMA wal_checkpoint(TRUNCATE)");
        sizeAt.push(statSync(file).size);
      }
    }
    // Pages freed by compaction are reused: the file stops growing after the first window.
    expect(sizeAt[3]!).toBeLessThanOrEqual(sizeAt[1]! * 1.1);
    expect(sizeAt[3]!).toBeLessThan(20 * 1024 * 1024);
  }, 120_000);

  it("indexes owner references for garbage collection", () => {
    using dir = tempDir();
    const store = openStore(dir.path);
    const child = cm("child");
    child.metadata.ownerReferences = [{ apiVersion: "v1", kind: "ConfigMap", name: "p", uid: "owner-1" }];
    store.create("configmaps", child);
    expect(store.dependents("owner-1")).toEqual([{ resource: "configmaps", namespace: "default", name: "child" }]);
    store.delete("configmaps", "default", "child");
    expect(store.dependents("owner-1")).toEqual([]);
  });

  it("survives a reopen with the same revision and data", () => {
    using dir = tempDir();
    const s1 = openStore(dir.path);
    s1.create("configmaps", cm("a"));
    const rev = s1.revision;
    s1.commit();
    s1.database.close();
    const s2 = openStore(dir.path);
    expect(s2.revision).toBe(rev);
    expect(s2.get("configmaps", "default", "a")).toBeDefined();
  });
});

describe("openDatabase", () => {
  it("migrates to exactly what drizzle's own migrator builds, and each accepts the other's database", () => {
    using dir = tempDir();
    const ours = join(dir.path, "ours.db");
    const theirs = join(dir.path, "theirs.db");
    openDatabase(ours).close();
    const raw = new Database(theirs, { create: true });
    const { drizzle } = require("drizzle-orm/bun-sqlite") as typeof import("drizzle-orm/bun-sqlite");
    const orm = drizzle(raw) as unknown as { dialect: { migrate(m: unknown[], s: unknown, c: object): void }; session: unknown };
    orm.dialect.migrate(embeddedMigrations(), orm.session, { migrationsTable: "__drizzle_migrations" });
    raw.close();
    const dump = (path: string) => {
      const db = new Database(path);
      const schema = db.query("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").all();
      const applied = db.query("SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at").all();
      db.close();
      return { schema, applied };
    };
    expect(dump(ours)).toEqual(dump(theirs));
    expect(dump(ours).applied).toHaveLength(embeddedMigrations().length);
    // nothing pending on either: opening changes nothing
    openDatabase(theirs).close();
    expect(dump(theirs)).toEqual(dump(ours));
  });

  it("refuses a database migrated by a newer appliance", () => {
    using dir = tempDir();
    const path = join(dir.path, "state.db");
    openDatabase(path).close();
    const raw = new Database(path);
    raw.run("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('future', 99999999999999)");
    raw.close();
    expect(() => openDatabase(path)).toThrow(NewerDatabaseError);
  });

  it("backs the database up before applying a pending migration", () => {
    using dir = tempDir();
    const path = join(dir.path, "state.db");
    const shipped = embeddedMigrations();
    const s1 = new Store(openDatabase(path));
    s1.create("configmaps", cm("kept"));
    s1.commit();
    s1.database.close();
    const next = { tag: "9999_next", sql: ["CREATE TABLE extra (id INTEGER)"], bps: true, folderMillis: shipped.at(-1)!.folderMillis + 1, hash: "h" };
    const backups = join(dir.path, "backups");
    const db = openDatabase(path, { backupDir: backups, migrations: [...shipped, next] });
    expect(db.query("SELECT name FROM sqlite_master WHERE name = 'extra'").get()).toBeTruthy();
    db.close();
    const files = readdirSync(backups);
    expect(files).toHaveLength(1);
    expect(files[0]!.startsWith("pre-9999_next")).toBe(true);
    const backup = new Database(join(backups, files[0]!));
    expect(backup.query("SELECT name FROM objects").all()).toEqual([{ name: "kept" }]);
    backup.close();
    // The old binary now refuses the migrated database.
    expect(() => openDatabase(path)).toThrow(NewerDatabaseError);
  });

  it("keeps objects and owners WITHOUT ROWID (hand-edited into the generated migration)", () => {
    using dir = tempDir();
    const db = openDatabase(join(dir.path, "state.db"));
    const ddl = (t: string) => (db.query("SELECT sql FROM sqlite_master WHERE name = ?").get(t) as { sql: string }).sql;
    expect(ddl("objects")).toEndWith("WITHOUT ROWID");
    expect(ddl("owners")).toEndWith("WITHOUT ROWID");
    db.close();
  });

  it("sizes SQLite's page cache: 16 MB for the appliance's store unless told (the lab's databases take less)", () => {
    using dir = tempDir();
    const cacheOf = (db: Database) => (db.query("PRAGMA cache_size").get() as { cache_size: number }).cache_size;
    const store = openDatabase(join(dir.path, "state.db"));
    const lab = openDatabase(join(dir.path, "lab.db"), { cacheKiB: 2000 });
    expect([cacheOf(store), cacheOf(lab)]).toEqual([-16000, -2000]);
    store.close();
    lab.close();
  });

  it("embeds every migration file of migrations/", () => {
    const onDisk = readdirSync(join(import.meta.dir, "../../migrations")).filter((f) => f.endsWith(".sql"));
    expect(embeddedMigrations().map((m) => `${m.tag}.sql`)).toEqual(onDisk.sort());
  });
});
