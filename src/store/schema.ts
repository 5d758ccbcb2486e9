/**
 * SQLite tables of the object store. `objects` holds the current state, `changes` the log of
 * every write (its `rv` is the global revision = resourceVersion). Both are written in one
 * transaction per mutation. Migrations in /migrations are generated from this file by drizzle-kit.
 * @module
 */
import { sql } from "drizzle-orm";
import { sqliteTable, text, integer, primaryKey, index } from "drizzle-orm/sqlite-core";

export const objects = sqliteTable(
  "objects",
  {
    /** Qualified resource: `configmaps`, `clusters.cluster.x-k8s.io`. */
    resource: text("resource").notNull(),
    /** '' for cluster-scoped objects. */
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    uid: text("uid").notNull(),
    rv: integer("rv").notNull(),
    /** The object as JSON in its storage version, metadata.resourceVersion included. */
    body: text("body").notNull(),
    /** Unix ms after which the object is deleted by the TTL sweeper (Events); null = never. */
    expiresAt: integer("expires_at"),
  },
  // Only the Events' TTL needs an index on expires_at; everything else is found by key.
  // (The migration makes this a WITHOUT ROWID table: one B-tree per write, keyed as it is read.)
  (t) => [primaryKey({ columns: [t.resource, t.namespace, t.name] }), index("objects_expires").on(t.expiresAt).where(sql`expires_at IS NOT NULL`)],
);

export const changes = sqliteTable(
  "changes",
  {
    rv: integer("rv").primaryKey(),
    resource: text("resource").notNull(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    /** ADDED | MODIFIED | DELETED */
    type: text("type").notNull(),
    body: text("body").notNull(),
    /** The state before this change (null for ADDED): snapshot reads and selector transitions. */
    prevBody: text("prev_body"),
    /** Unix ms of the write, for time-based compaction. */
    ts: integer("ts").notNull(),
  },
  // Append-only and read by revision range: no secondary index, so a write touches the tail only.
);

/** ownerReferences index: which objects name a given owner uid. Kept in the same transaction. */
export const owners = sqliteTable(
  "owners",
  {
    ownerUid: text("owner_uid").notNull(),
    resource: text("resource").notNull(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.ownerUid, t.resource, t.namespace, t.name] }),
    index("owners_dependent").on(t.resource, t.namespace, t.name),
  ],
);

/** Small key/value facts about the store: `compacted_rv`, `revision`. */
export const meta = sqliteTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});
