/**
 * Upstream-data check (reads ../shared/reference; run via scripts/check-upstream.sh or
 * `bun test ./test/upstream/crd-drift.check.ts`): each bundled CRD of every source of
 * scripts/import-crds.ts (`CRD_SOURCES`: Cluster API in src/kinds/capi/crds, CAPMOX in
 * src/kinds/capmox/crds, ...) is derived again from the upstream YAML it came from, with the same
 * transformation (`transformCRD`), and compared with the committed file,
 * all descriptions ignored (ours are hand-written; upstream's are dropped). A difference means the
 * reference moved (or a file was edited by hand): the failure lists the paths that differ.
 * Regenerate with `bun scripts/import-crds.ts` after reviewing them.
 */
import { describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import {
  CRD_SOURCES,
  type CRDSource,
  outputFileName,
  readUpstreamCRD,
  REPO_ROOT,
  stripCRDDescriptions,
  transformCRD,
} from "../../scripts/import-crds.ts";
import type { CRDObject } from "../../src/registry/crd/to-resource.ts";

const MAX_LISTED = 40;

type Difference = { path: string; what: "changed" | "only upstream" | "only committed"; upstream?: unknown; committed?: unknown };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Arrays whose elements all carry a distinct string `name` (versions, printer columns) match by name. */
function byName(a: unknown[]): Map<string, unknown> | undefined {
  const m = new Map<string, unknown>();
  for (const e of a) {
    if (!isObject(e) || typeof e.name !== "string" || m.has(e.name)) return undefined;
    m.set(e.name, e);
  }
  return m;
}

const brief = (v: unknown) => {
  const s = JSON.stringify(v);
  return s === undefined ? "undefined" : s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

/** Structural differences between two JSON values, as paths (object key order is ignored). */
function jsonDiff(upstream: unknown, committed: unknown, path = "", out: Difference[] = []): Difference[] {
  if (isObject(upstream) && isObject(committed)) {
    const keys = new Set([...Object.keys(upstream), ...Object.keys(committed)]);
    for (const k of [...keys].sort()) {
      const p = /^[A-Za-z_$][\w$-]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
      if (!(k in committed)) out.push({ path: p, what: "only upstream", upstream: upstream[k] });
      else if (!(k in upstream)) out.push({ path: p, what: "only committed", committed: committed[k] });
      else jsonDiff(upstream[k], committed[k], p, out);
    }
    return out;
  }
  if (Array.isArray(upstream) && Array.isArray(committed)) {
    const mu = byName(upstream);
    const mc = byName(committed);
    if (mu && mc) {
      for (const [name, u] of mu) {
        const p = `${path}[name=${name}]`;
        if (!mc.has(name)) out.push({ path: p, what: "only upstream", upstream: u });
        else jsonDiff(u, mc.get(name), p, out);
      }
      for (const [name, c] of mc) if (!mu.has(name)) out.push({ path: `${path}[name=${name}]`, what: "only committed", committed: c });
      const orderU = [...mu.keys()].filter((n) => mc.has(n));
      const orderC = [...mc.keys()].filter((n) => mu.has(n));
      if (orderU.join("\0") !== orderC.join("\0")) out.push({ path: `${path} (order)`, what: "changed", upstream: orderU, committed: orderC });
      return out;
    }
    if (upstream.length !== committed.length) {
      out.push({ path, what: "changed", upstream, committed });
      return out;
    }
    upstream.forEach((u, i) => jsonDiff(u, committed[i], `${path}[${i}]`, out));
    return out;
  }
  if (upstream !== committed) out.push({ path, what: "changed", upstream, committed });
  return out;
}

function summary(file: string, diffs: Difference[]): string {
  const lines = diffs.slice(0, MAX_LISTED).map((d) => {
    if (d.what === "changed") return `  ~ ${d.path}: committed ${brief(d.committed)} -> upstream ${brief(d.upstream)}`;
    if (d.what === "only upstream") return `  + ${d.path} (new upstream): ${brief(d.upstream)}`;
    return `  - ${d.path} (gone upstream): ${brief(d.committed)}`;
  });
  if (diffs.length > MAX_LISTED) lines.push(`  … and ${diffs.length - MAX_LISTED} more`);
  return `${file} differs from its upstream (${diffs.length} path(s)); review, then run \`bun scripts/import-crds.ts\`:\n${lines.join("\n")}`;
}

function checkSource(source: CRDSource): void {
  const outDir = relative(REPO_ROOT, source.outputDir);
  describe(`bundled CRDs in ${outDir} vs ../shared/reference (${source.upstream.repo})`, () => {
    if (!existsSync(source.upstreamDir)) {
      if (process.env.CI === "true") {
        it("needs the upstream reference", () => {
          throw new Error(`${source.upstreamDir} not found (required under CI=true)`);
        });
      } else {
        console.log(`crd-drift: ${source.upstreamDir} not found; skipping the drift check`);
        it.skip("needs the upstream reference", () => {});
      }
      return;
    }

    const derived = new Map<string, { source: string; crd: CRDObject }>();
    for (const f of source.files) {
      const crd = transformCRD(readUpstreamCRD(join(source.upstreamDir, f)), f, source);
      derived.set(outputFileName(crd), { source: f, crd });
    }

    it("has exactly one committed file per upstream CRD", () => {
      const committed = readdirSync(source.outputDir).filter((n) => n.endsWith(".json")).sort();
      expect(committed).toEqual([...derived.keys()].sort());
    });

    for (const [file, { source: upstreamFile, crd }] of derived) {
      it(`${file} matches ${upstreamFile}`, () => {
        const path = join(source.outputDir, file);
        if (!existsSync(path)) throw new Error(`${outDir}/${file} is missing; run \`bun scripts/import-crds.ts\``);
        const committed = stripCRDDescriptions(JSON.parse(readFileSync(path, "utf8")) as CRDObject);
        const diffs = jsonDiff(stripCRDDescriptions(structuredClone(crd)), committed);
        if (diffs.length) throw new Error(summary(`${outDir}/${file}`, diffs));
      });
    }
  });
}

for (const source of CRD_SOURCES) checkSource(source);
