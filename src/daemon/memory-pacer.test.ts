import { describe, expect, it } from "bun:test";
import { MemoryPacer } from "./memory-pacer.ts";

const MiB = 1048576;

function fakeProcess(rssMiB: number) {
  const p = { rss: rssMiB * MiB, t: 0, gcs: [] as number[], liveMiB: rssMiB };
  return {
    p,
    opts: {
      rss: () => p.rss,
      now: () => p.t,
      collect: () => {
        p.gcs.push(p.t);
        p.rss = p.liveMiB * MiB;
      },
    },
  };
}

describe("MemoryPacer", () => {
  it("collects when RSS grew by half since the last collection, at most once a minute", () => {
    const { p, opts } = fakeProcess(200);
    const pacer = new MemoryPacer(opts);
    p.t = 70_000;
    p.rss = 290 * MiB; // +45 %: below the threshold
    expect(pacer.check()).toBe(false);
    p.rss = 310 * MiB; // +55 %
    p.liveMiB = 210;
    expect(pacer.check()).toBe(true);
    expect(p.rss).toBe(210 * MiB);
    // Grown again past 1.5 × 210, but only 30 s later: waits for the interval.
    p.t = 100_000;
    p.rss = 330 * MiB;
    expect(pacer.check()).toBe(false);
    p.t = 130_000;
    expect(pacer.check()).toBe(true);
    expect(p.gcs).toEqual([70_000, 130_000]);
    expect(pacer.collections).toBe(2);
  });

  it("follows a growing live set: the threshold moves with the RSS after each collection", () => {
    const { p, opts } = fakeProcess(100);
    const pacer = new MemoryPacer(opts);
    let peak = 0;
    for (let s = 1; s <= 600; s++) {
      p.t = s * 1000;
      p.liveMiB = 100 + s; // 1 MiB of live objects a second
      p.rss += 3 * MiB; // plus garbage
      peak = Math.max(peak, p.rss / MiB);
      pacer.check();
    }
    // At most once a minute, and RSS never more than half above the live set plus a minute's growth.
    expect(pacer.collections).toBeGreaterThanOrEqual(5);
    expect(pacer.collections).toBeLessThanOrEqual(10);
    expect(peak).toBeLessThan((100 + 600) * 1.5 + 60 * 3);
  });
});
