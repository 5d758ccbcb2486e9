import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { FETCH_LIMIT, FETCH_LIMIT_ENV, fetchLimitWarning } from "./fetch-limit.ts";

/** How many of 300 requests held open by a server reach it, in a process started with `env`. */
function concurrentFetches(env: Record<string, string>): number {
  const script = `let n = 0; const s = Bun.serve({ port: 0, idleTimeout: 0, fetch() { n++; return new Promise(() => {}); } });
const c = new AbortController(); for (let i = 0; i < 300; i++) fetch("http://127.0.0.1:" + s.port + "/", { signal: c.signal }).catch(() => {});
await Bun.sleep(800); console.log(n); c.abort(); s.stop(true); process.exit(0);`;
  const r = spawnSync(process.execPath, ["-e", script], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
  return Number(r.stdout.trim());
}

describe("Bun's fetch concurrency limit", () => {
  test("without the variable at start, 256 requests at most run at once; with it, all of them", () => {
    expect(concurrentFetches({})).toBe(256);
    expect(concurrentFetches({ [FETCH_LIMIT_ENV]: String(FETCH_LIMIT) })).toBe(300);
  });

  test("the daemon warns when it started with Bun's default, not when the variable is set", () => {
    expect(fetchLimitWarning({})).toContain(`${FETCH_LIMIT_ENV}=${FETCH_LIMIT}`);
    expect(fetchLimitWarning({ [FETCH_LIMIT_ENV]: "100" })).toBeDefined();
    expect(fetchLimitWarning({ [FETCH_LIMIT_ENV]: String(FETCH_LIMIT) })).toBeUndefined();
  });
});
