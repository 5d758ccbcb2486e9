import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../store/open.ts";
import { StoreScopes } from "../store/scoped-store.ts";
import { Store } from "../store/store.ts";
import { nodeDefinition } from "./builtin/node.ts";
import { podDefinition } from "./builtin/pod.ts";
import { workloadClusterKinds } from "./builtin/workload-kinds.ts";
import { Registry } from "./registry.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scopes(): StoreScopes {
  const dir = mkdtempSync(join(tmpdir(), "capx-reg-"));
  dirs.push(dir);
  return new StoreScopes(new Store(openDatabase(join(dir, "s.db"), { synchronous: "NORMAL" })));
}

describe("Registry", () => {
  it("shares built-in resources between registries (the lab runs one per workload cluster)", () => {
    const s = scopes();
    const extra = [nodeDefinition, podDefinition, ...workloadClusterKinds];
    const a = new Registry(s.scope("ns/a"), new Map(), extra);
    const b = new Registry(s.scope("ns/b"), new Map(), extra);
    for (const [group, version, plural] of [["", "v1", "nodes"], ["", "v1", "secrets"], ["apps", "v1", "deployments"]] as const) {
      const ra = a.resolve(group, version, plural)!;
      expect(ra).toBeDefined();
      expect(b.resolve(group, version, plural)).toBe(ra);
    }
    // The CRD kind checks names against its own registry's set: never shared.
    const crds = a.resolve("apiextensions.k8s.io", "v1", "customresourcedefinitions")!;
    expect(b.resolve("apiextensions.k8s.io", "v1", "customresourcedefinitions")!.resource).not.toBe(crds.resource);
  });
});
