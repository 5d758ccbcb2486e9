/**
 * Migrations embedded into the bundle: drizzle's bun-sqlite migrator reads a folder from disk,
 * which a compiled binary does not have, so the journal and SQL files are imported here and
 * handed to the dialect in the shape `readMigrationFiles` would build.
 * @module
 */
import { createHash } from "node:crypto";
import journal from "../../migrations/meta/_journal.json" with { type: "json" };
import m0000 from "../../migrations/0000_init.sql" with { type: "text" };

const sqlByTag: Record<string, string> = {
  "0000_init": m0000,
};

export interface EmbeddedMigration {
  tag: string;
  sql: string[];
  bps: boolean;
  folderMillis: number;
  hash: string;
}

export function embeddedMigrations(): EmbeddedMigration[] {
  return journal.entries.map((entry) => {
    const text = sqlByTag[entry.tag];
    if (text === undefined) throw new Error(`migration ${entry.tag} is in the journal but not embedded (src/store/migrations.ts)`);
    return {
      tag: entry.tag,
      sql: text.split("--> statement-breakpoint"),
      bps: entry.breakpoints,
      folderMillis: entry.when,
      hash: createHash("sha256").update(text).digest("hex"),
    };
  });
}
