/**
 * Memory diagnostics for scale work: with CAPX_HEAP_STATS=<file> set, SIGUSR2 makes the daemon
 * write its memory use (process.memoryUsage and JSC's live object counts by type) to that file.
 * @module
 */
import { writeFileSync } from "node:fs";

export function installHeapStatsSignal(file = process.env.CAPX_HEAP_STATS): void {
  if (!file) return;
  process.on("SIGUSR2", async () => {
    const { heapStats } = await import("bun:jsc");
    Bun.gc(true);
    const stats = heapStats();
    const top = Object.entries(stats.objectTypeCounts).sort((a, b) => b[1] - a[1]).slice(0, 60);
    const mb = (n: number) => Math.round(n / 1048576);
    const mem = process.memoryUsage();
    writeFileSync(
      file,
      JSON.stringify({ rssMiB: mb(mem.rss), heapUsedMiB: mb(stats.heapSize), heapCapacityMiB: mb(stats.heapCapacity), externalMiB: mb(stats.extraMemorySize), objects: stats.objectCount, top }, null, 1),
    );
  });
}
