import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KObject } from "../lib/kobject.ts";
import { openDatabase } from "./open.ts";
import { StoreScopes } from "./scoped-store.ts";
import { Store, type Change } from "./store.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scopes(): StoreScopes {
  const dir = mkdtempSync(join(tmpdir(), "capx-scopes-"));
  dirs.push(dir);
  return new StoreScopes(new Store(openDatabase(join(dir, "s.db"), { synchronous: "NORMAL" })));
}

const node = (name: string, uid = `uid-${name}`, owner?: string): KObject => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, uid, ...(owner ? { ownerReferences: [{ apiVersion: "v1", kind: "Node", name: "o", uid: owner }] } : {}) },
});

describe("StoreScopes", () => {
  test("scopes share one database and revision but see only their own keys, changes and dependents", async () => {
    const s = scopes();
    const a = s.scope("ns/a");
    const b = s.scope("ns/b");
    const seenA: Change[] = [];
    const observedB: string[] = [];
    a.subscribe((c) => seenA.push(c));
    b.observe((c) => observedB.push(`${c.type} ${c.resource}/${c.name}`));
    a.create("nodes", node("n1"));
    const rv0 = a.revision;
    b.create("nodes", node("n1", "uid-b1"));
    b.create("nodes", node("n2", "uid-b2", "owner-1"));
    a.create("nodes", node("n3", "uid-a3", "owner-1"));
    expect(b.revision).toBe(a.revision);
    await a.durable();
    expect(a.get("nodes", "", "n1")).toMatchObject({ resource: "nodes", uid: "uid-n1" });
    expect(a.get("nodes", "", "n2")).toBeUndefined();
    expect(a.list("nodes").rows.map((r) => `${r.resource}/${r.name}`)).toEqual(["nodes/n1", "nodes/n3"]);
    expect(b.count("nodes")).toBe(2);
    expect(seenA.map((c) => `${c.type} ${c.resource}/${c.name}`)).toEqual(["ADDED nodes/n1", "ADDED nodes/n3"]);
    expect(seenA[1]!.object.metadata.uid).toBe("uid-a3");
    expect(observedB).toEqual(["ADDED nodes/n1", "ADDED nodes/n2"]);
    expect(a.changesSince(rv0, "nodes").map((c) => `${c.resource}/${c.name}`)).toEqual(["nodes/n3"]);
    expect(a.dependents("owner-1")).toEqual([{ resource: "nodes", namespace: "", name: "n3" }]);
    expect(() => s.scope("x|y")).toThrow();
  });

  test("dropping a scope removes its objects and log and leaves the others", async () => {
    const s = scopes();
    const a = s.scope("ns/a");
    const b = s.scope("ns/ab");
    a.create("nodes", node("n1", "u1", "o"));
    b.create("nodes", node("n1", "u2", "o"));
    await a.durable();
    expect(s.has("ns/a")).toBe(true);
    s.drop("ns/a");
    await a.durable();
    expect(s.has("ns/a")).toBe(false);
    expect(a.list("nodes").rows).toEqual([]);
    expect(a.changesSince(0, "nodes")).toEqual([]);
    expect(a.dependents("o")).toEqual([]);
    expect(b.list("nodes").rows.map((r) => r.name)).toEqual(["n1"]);
  });
});
