/**
 * README (Running it on a Proxmox host) offers BUN_JSC_heapGrowthMaxIncrease=0.5 to hosts short of
 * memory: this checks that the Bun we pin still honours it.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";

/** MiB the RSS of a fresh process grows while it makes garbage next to a few hundred MiB it keeps. */
function churnGrowthMiB(env: Record<string, string>): number {
  const script = `const live = []; for (let i = 0; i < 600000; i++) live.push({ name: "o" + i, spec: { n: i, list: [i] } });
Bun.gc(true); const before = process.memoryUsage().rss;
for (let r = 0; r < 12; r++) { let tmp = []; for (let i = 0; i < 150000; i++) tmp.push({ s: "t" + i }); tmp = []; }
console.log(Math.round((process.memoryUsage().rss - before) / 1048576), live.length);`;
  const r = spawnSync(process.execPath, ["-e", script], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
  return Number(r.stdout.trim().split(" ")[0]);
}

test("BUN_JSC_heapGrowthMaxIncrease=0.5 at start keeps far less of a process's garbage resident", () => {
  const byDefault = churnGrowthMiB({});
  const halved = churnGrowthMiB({ BUN_JSC_heapGrowthMaxIncrease: "0.5" });
  expect(byDefault).toBeGreaterThan(100);
  expect(halved).toBeLessThan(byDefault * 0.7);
}, 60_000);
