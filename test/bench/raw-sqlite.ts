/**
 * SQLite without HTTP, in its own process.
 *
 * - `insert`: N transactions, each an `objects` row + a `changes` row (the daemon's schema and
 *   PRAGMAs via src/store/open.ts, IMMEDIATE like the store), bodies prepared beforehand.
 * - `list`: the baseline of the Table LIST — SELECT the bodies of one namespace's ConfigMaps
 *   (the store's query shape) + JSON.parse each; also reports the same + JSON.stringify of the
 *   whole list, for the layer breakdown.
 *
 * `bun raw-sqlite.ts '{"mode":"insert","db":...,"sync":"FULL","count":10000}'`
 * `bun raw-sqlite.ts '{"mode":"list","db":...,"namespace":"bench","runs":7}'`
 * @module
 */
import { Database } from "bun:sqlite";
import { randomUUID } from "node:crypto";
import { openDatabase } from "../../src/store/open.ts";
import { configMap, median, now, round } from "./common.ts";

interface Options {
  mode: "insert" | "list";
  db: string;
  sync?: "FULL" | "NORMAL";
  count?: number;
  namespace?: string;
  runs?: number;
}

const o = JSON.parse(process.argv[2] ?? "{}") as Options;

if (o.mode === "insert") {
  const count = o.count ?? 10_000;
  const db = openDatabase(o.db, { synchronous: o.sync ?? "FULL" });
  const ins = db.query("INSERT INTO objects (resource, namespace, name, uid, rv, body, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const log = db.query("INSERT INTO changes (rv, resource, namespace, name, type, body, prev_body, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  const tx = db.transaction((name: string, uid: string, rv: number, body: string) => {
    ins.run("configmaps", "bench", name, uid, rv, body, null);
    log.run(rv, "configmaps", "bench", name, "ADDED", body, null, Date.now());
  });
  const rows = Array.from({ length: count }, (_, i) => {
    const name = `cm-${String(i).padStart(5, "0")}`;
    const obj = configMap("bench", name) as { metadata: Record<string, unknown> };
    const uid = randomUUID();
    Object.assign(obj.metadata, { uid, creationTimestamp: new Date().toISOString(), resourceVersion: String(i + 1) });
    return { name, uid, rv: i + 1, body: JSON.stringify(obj) };
  });
  const t0 = now();
  for (const r of rows) tx.immediate(r.name, r.uid, r.rv, r.body);
  const elapsed = now() - t0;
  db.close();
  console.log(JSON.stringify({ result: { count, elapsedMs: round(elapsed), perSec: round((count / elapsed) * 1000, 1) } }));
} else {
  const db = new Database(o.db, { readonly: true });
  const q = db.query(
    "SELECT resource, namespace, name, uid, rv, body FROM objects WHERE resource = ?1 AND namespace = ?2 ORDER BY namespace, name LIMIT ?3",
  );
  const runs = o.runs ?? 7;
  const selectParse: number[] = [];
  const selectOnly: number[] = [];
  const withStringify: number[] = [];
  let n = 0;
  for (let i = 0; i < runs + 1; i++) {
    let t0 = now();
    const rows = q.all("configmaps", o.namespace ?? "bench", 1e9) as { body: string }[];
    const tSelect = now() - t0;
    const items = rows.map((r) => JSON.parse(r.body));
    const tParse = now() - t0;
    t0 = now();
    JSON.stringify({ kind: "ConfigMapList", apiVersion: "v1", metadata: {}, items });
    const tStr = now() - t0;
    n = rows.length;
    if (i === 0) continue; // warm-up
    selectOnly.push(tSelect);
    selectParse.push(tParse);
    withStringify.push(tParse + tStr);
  }
  db.close();
  console.log(
    JSON.stringify({
      result: {
        items: n,
        selectMs: round(median(selectOnly), 2),
        selectParseMs: round(median(selectParse), 2),
        selectParseStringifyMs: round(median(withStringify), 2),
        runs: { select: selectOnly, selectParse, selectParseStringify: withStringify },
      },
    }),
  );
}
