import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateCA } from "../providers/kubeadm/certificate-generation.ts";
import { LabNetwork } from "../providers/workload/dialer.ts";
import { systemContext } from "../registry/rest/context.ts";
import { create } from "../registry/rest/create.ts";
import { list } from "../registry/rest/list.ts";
import { openDatabase } from "../store/open.ts";
import { StoreScopes } from "../store/scoped-store.ts";
import { Store } from "../store/store.ts";
import { startWorkloadServer } from "./workload-server.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("lab workload API servers", () => {
  test("share one database, a scope each; a cluster kept in its own database by an earlier version moves in", async () => {
    const root = mkdtempSync(join(tmpdir(), "capx-wl-shared-"));
    dirs.push(root);
    const ca = await generateCA();
    const network = new LabNetwork();
    const base = (n: number) => ({ dir: join(root, `c${n}`), caPem: ca.cert, caKeyPem: ca.key, host: `10.10.0.${50 + n}`, port: 6443, network });
    const nodeIn = (rest: Parameters<typeof create>[0], name: string) =>
      create(rest, rest.registry.resolve("", "v1", "nodes")!, undefined, { metadata: { name } }, systemContext("kubelet"));
    const nodesOf = (rest: Parameters<typeof create>[0]) => list(rest, rest.registry.resolve("", "v1", "nodes")!, undefined, {}).items.map((o) => o.metadata.name);

    // an earlier version: its own state.db
    const old = await startWorkloadServer(base(1));
    nodeIn(old.rest, "old-node");
    await old.close();
    expect(existsSync(join(root, "c1", "state.db"))).toBe(true);

    const scopes = new StoreScopes(new Store(openDatabase(join(root, "workloads.db"), { synchronous: "NORMAL" })));
    const one = await startWorkloadServer({ ...base(1), shared: { scopes, scope: "default/c1" } });
    const two = await startWorkloadServer({ ...base(2), shared: { scopes, scope: "default/c2" } });
    expect(existsSync(join(root, "c1", "state.db"))).toBe(false);
    expect(nodesOf(one.rest)).toEqual(["old-node"]);
    nodeIn(two.rest, "new-node");
    expect(nodesOf(two.rest)).toEqual(["new-node"]);
    expect(nodesOf(one.rest)).toEqual(["old-node"]);
    const ns = (rest: Parameters<typeof create>[0]) => list(rest, rest.registry.resolve("", "v1", "namespaces")!, undefined, {}).items.map((o) => o.metadata.name);
    expect(ns(two.rest)).toEqual(["default", "kube-node-lease", "kube-public", "kube-system"]);
    await one.close();
    await two.close();
    scopes.base.commit();
    scopes.base.database.close();
  });
});
