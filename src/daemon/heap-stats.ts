/**
 * Memory diagnostics for scale work: with CAPX_HEAP_STATS=<file> set, SIGUSR2 makes the daemon
 * write its memory use (process.memoryUsage and JSC's live object counts by type) to that file.
 * @module
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { memoryReports } from "./memory-reporters.ts";

export function installHeapStatsSignal(file = process.env.CAPX_HEAP_STATS): void {
  if (!file) return;
  process.on("SIGUSR2", async () => {
    const { heapStats } = await import("bun:jsc");
    Bun.gc(true);
    // CAPX_HEAP_SNAPSHOT=<file>: a V8-format heap snapshot too (opens in Chrome's memory tab).
    if (process.env.CAPX_HEAP_SNAPSHOT) writeFileSync(process.env.CAPX_HEAP_SNAPSHOT, Bun.generateHeapSnapshot("v8"));
    const stats = heapStats();
    const top = Object.entries(stats.objectTypeCounts).sort((a, b) => b[1] - a[1]).slice(0, 60);
    const mb = (n: number) => Math.round(n / 1048576);
    const mem = process.memoryUsage();
    writeFileSync(
      file,
      JSON.stringify({ rssMiB: mb(mem.rss), heapUsedMiB: mb(stats.heapSize), heapCapacityMiB: mb(stats.heapCapacity), externalMiB: mb(stats.extraMemorySize), objects: stats.objectCount, reports: memoryReports(), mappings: await residentByMapping(), top }, null, 1),
    );
  });
}

/**
 * Resident KiB by kind of mapping (/proc/self/smaps): the binary, other files, anonymous memory by
 * size class; the mapping that holds a fresh Buffer (Bun's malloc, mimalloc: native memory of
 * sockets, TLS, SQLite, buffers) is counted on its own, the other large ones are mostly JSC's heap.
 */
async function residentByMapping(): Promise<{ byKind: Record<string, number>; largest: string[] }> {
  const { ptr } = await import("bun:ffi");
  const probe = Buffer.alloc(4096);
  const malloc = ptr(probe);
  let text = "";
  try {
    text = readFileSync("/proc/self/smaps", "utf8");
  } catch {
    return { byKind: {}, largest: [] };
  }
  const byKind: Record<string, number> = {};
  const anon: { desc: string; kib: number }[] = [];
  let kind = "";
  let desc = "";
  for (const line of text.split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const [start, end] = line.split(" ")[0]!.split("-").map((h) => parseInt(h, 16));
      const sizeMiB = (end! - start!) / 1048576;
      const path = head[1]!;
      const isMalloc = malloc >= start! && malloc < end!;
      kind = isMalloc ? "anon: malloc (mimalloc arena)" : path.startsWith("/") ? (path === process.execPath ? "binary" : path.includes(".so") ? "libraries" : "files") : path || (sizeMiB >= 64 ? "anon ≥64 MiB" : sizeMiB >= 4 ? "anon 4–64 MiB" : "anon < 4 MiB");
      desc = path ? "" : `${start!.toString(16)} ${Math.round(sizeMiB)} MiB${isMalloc ? " (malloc probe)" : ""}`;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) {
      byKind[kind] = (byKind[kind] ?? 0) + Number(rss[1]);
      if (desc) anon.push({ desc, kib: Number(rss[1]) });
    }
  }
  const largest = anon.sort((a, b) => b.kib - a.kib).slice(0, 10).map((a) => `${a.desc}: ${Math.round(a.kib / 1024)} MiB resident`);
  return { byKind, largest };
}

/**
 * CAPX_MEMORY_SERIES=<file>: every 5 s (CAPX_MEMORY_SERIES_MS) a JSON line with RSS, the JS heap (used, committed),
 * external memory and mimalloc's committed bytes, without forcing a GC: how memory grows over a run.
 */
export async function startMemorySeries(file = process.env.CAPX_MEMORY_SERIES): Promise<void> {
  if (!file) return;
  const { memoryUsage: nativeMemoryUsage } = await import("bun:jsc");
  const t0 = Date.now();
  const mb = (n: number) => Math.round(n / 1048576);
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const native = nativeMemoryUsage() as { currentCommit: number };
    appendFileSync(file, JSON.stringify({ s: Math.round((Date.now() - t0) / 1000), rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers), mallocCommit: mb(native.currentCommit) }) + "\n");
  }, Number(process.env.CAPX_MEMORY_SERIES_MS ?? 5000));
  timer.unref?.();
}
