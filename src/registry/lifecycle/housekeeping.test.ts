import { describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../store/open.ts";
import { Store, type Change } from "../../store/store.ts";
import { EVENT_TTL_MS } from "../builtin/event.ts";
import { Registry } from "../registry.ts";
import { systemContext } from "../rest/context.ts";
import { create } from "../rest/create.ts";
import type { RestDeps } from "../rest/deps.ts";
import { patch } from "../rest/patch.ts";
import { Housekeeping } from "./housekeeping.ts";

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "capx-hk-"));
  let now = Date.parse("2026-11-24T00:00:00Z");
  const store = new Store(openDatabase(join(dir, "s.db"), { synchronous: "NORMAL" }), () => now);
  const registry = new Registry(store);
  const d: RestDeps = { store, registry, now: () => new Date(now) };
  create(d, registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: "default" } }, systemContext("t"));
  return {
    d,
    advance: (ms: number) => (now += ms),
    now: () => now,
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const event = (name: string) => ({
  apiVersion: "v1",
  kind: "Event",
  metadata: { name },
  involvedObject: { kind: "ConfigMap", name: "x", namespace: "default" },
  reason: "R",
  message: "m",
  type: "Normal",
});

describe("Housekeeping", () => {
  it("expires Events one hour after their last write, with a DELETED watch event", async () => {
    using t = setup();
    const events = t.d.registry.resolve("", "v1", "events")!;
    create(t.d, events, "default", event("old"), systemContext("t"));
    t.advance(30 * 60_000);
    create(t.d, events, "default", event("young"), systemContext("t"));
    const hk = new Housekeeping(t.d.store as Store);
    await t.d.store.durable();
    const seen: Change[] = [];
    t.d.store.subscribe((c) => seen.push(c));
    t.advance(EVENT_TTL_MS - 30 * 60_000 + 1000);
    expect(hk.runOnce(t.now())).toBe(1);
    expect(t.d.store.get("events", "default", "old")).toBeUndefined();
    expect(t.d.store.get("events", "default", "young")).toBeDefined();
    expect(seen.map((c) => `${c.type} ${c.name}`)).toEqual(["DELETED old"]);
    // A write renews the TTL, as an Event's count update does upstream.
    patch(t.d, events, "default", "young", "merge", { count: 2 }, systemContext("t"));
    t.advance(45 * 60_000);
    expect(hk.runOnce(t.now())).toBe(0);
    t.advance(16 * 60_000);
    expect(hk.runOnce(t.now())).toBe(1);
  });

  it("compacts the change log by age and count", () => {
    using t = setup();
    const cms = t.d.registry.resolve("", "v1", "configmaps")!;
    create(t.d, cms, "default", { metadata: { name: "c" }, data: {} }, systemContext("t"));
    for (let i = 0; i < 50; i++) patch(t.d, cms, "default", "c", "merge", { data: { i: String(i) } }, systemContext("t"));
    const hk = new Housekeeping(t.d.store as Store, { compaction: { minRetain: 10, maxRetain: 1000, minAgeMs: 60_000 } });
    hk.runOnce(t.now());
    expect(t.d.store.compactedRevision).toBe(0);
    t.advance(120_000);
    hk.runOnce(t.now());
    expect(t.d.store.compactedRevision).toBe(t.d.store.revision - 10);
  });
});
