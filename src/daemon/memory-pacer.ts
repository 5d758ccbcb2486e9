/**
 * Bounds the daemon's garbage. JavaScriptCore sizes its next full collection from the machine's
 * RAM, so on a host with tens of GiB the heap may hold several hundred MiB of garbage, and RSS
 * that grew once stays with the process. The pacer runs a full collection when RSS has grown by
 * half since the last one, at most once a minute. A full collection of a few hundred MiB takes
 * the main thread about a second: collecting every 5 s held the 1,000-cluster bench at 702 MiB
 * instead of 1166 but cost 160 s of CPU, more than the run could spare.
 * @module
 */
import { readFileSync } from "node:fs";
import { log } from "../lib/log.ts";

export interface PacerOptions {
  /** Collect when RSS exceeds the RSS after the last collection times this. */
  growth: number;
  /** Never collect more often than this. */
  minIntervalMs: number;
  /** How often RSS is looked at. */
  checkMs: number;
  rss: () => number;
  collect: () => void;
  now: () => number;
}

const DEFAULTS: PacerOptions = {
  growth: 1.5,
  minIntervalMs: 60_000,
  checkMs: 2_000,
  rss: () => process.memoryUsage.rss(),
  collect: () => Bun.gc(true),
  now: () => performance.now(),
};

export class MemoryPacer {
  readonly #o: PacerOptions;
  #baseline: number;
  #last: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  collections = 0;

  constructor(opts: Partial<PacerOptions> = {}) {
    this.#o = { ...DEFAULTS, ...opts };
    this.#baseline = this.#o.rss();
    this.#last = this.#o.now();
  }

  start(): this {
    this.#timer ??= setInterval(() => this.check(), this.#o.checkMs);
    this.#timer.unref?.();
    return this;
  }

  /** One look at RSS; true when it collected. */
  check(): boolean {
    const now = this.#o.now();
    const before = this.#o.rss();
    if (before <= this.#baseline * this.#o.growth || now - this.#last < this.#o.minIntervalMs) return false;
    const peakBefore = peakRssMiB();
    const diag = process.env.CAPX_PACER_DIAG ? objectCounts() : undefined;
    this.#o.collect();
    if (diag) {
      const left = objectCounts();
      const delta = Object.entries(diag).map(([k, v]) => [k, v - (left[k] ?? 0)] as const).sort((a, b) => b[1] - a[1]).slice(0, 25);
      log.info({ component: "memory", collectedByType: Object.fromEntries(delta) }, "what the collection freed");
    }
    const after = this.#o.rss();
    this.#last = this.#o.now();
    this.#baseline = after;
    this.collections++;
    log.info({ component: "memory", rssBeforeMiB: mib(before), rssAfterMiB: mib(after), peakRssMiB: { before: peakBefore, after: peakRssMiB() }, tookMs: Math.round(this.#last - now) }, "full garbage collection");
    return true;
  }
}

const mib = (n: number) => Math.round(n / 1048576);

function objectCounts(): Record<string, number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require("bun:jsc") as typeof import("bun:jsc")).heapStats().objectTypeCounts;
}

/** VmHWM: the peak RSS of the process so far (undefined off Linux). */
function peakRssMiB(): number | undefined {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}
