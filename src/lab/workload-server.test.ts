import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
import { generateCA } from "../providers/kubeadm/certificate-generation.ts";
import { createCA, issueCertificate } from "../providers/pki/certs.ts";
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

  test("each cluster's TLS front reaches its own API, with the identity of the client certificate, in front of one shared HTTP server", async () => {
    // The daemon's API transport replaces the global Response with a lightweight one; the lab's shared server must still answer.
    getRequestListener(() => new Response(""));
    const root = mkdtempSync(join(tmpdir(), "capx-wl-front-"));
    dirs.push(root);
    const network = new LabNetwork();
    const scopes = new StoreScopes(new Store(openDatabase(join(root, "workloads.db"), { synchronous: "NORMAL" })));
    const cas = [await createCA("kubernetes"), await createCA("kubernetes")];
    const servers = await Promise.all(
      cas.map((ca, i) =>
        startWorkloadServer({ dir: join(root, `c${i}`), caPem: ca.certPem, caKeyPem: ca.keyPem, host: `10.10.0.${60 + i}`, port: 6443, network, shared: { scopes, scope: `default/c${i}` } }),
      ),
    );
    servers.forEach((s, i) => create(s.rest, s.rest.registry.resolve("", "v1", "nodes")!, undefined, { metadata: { name: `node-of-c${i}` } }, systemContext("kubelet")));
    const admins = await Promise.all(cas.map((ca) => issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client", days: 1 })));
    const get = (i: number, path: string, client?: { certPem: string; keyPem: string }) =>
      fetch(`https://127.0.0.1:${servers[i]!.localPort}${path}`, {
        tls: { ca: cas[i]!.certPem, ...(client ? { cert: client.certPem, key: client.keyPem } : {}), checkServerIdentity: () => undefined },
      } as RequestInit);

    for (const i of [0, 1]) {
      const res = await get(i, "/api/v1/nodes", admins[i]);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { items: { metadata: { name: string } }[] }).items.map((n) => n.metadata.name)).toEqual([`node-of-c${i}`]);
      expect(network.lookup(`10.10.0.${60 + i}`, 6443)?.port).toBe(servers[i]!.localPort);
    }
    // the shared server behind the fronts answers nothing that did not come through one
    const backendPort = (await import("./http-fronts.ts")).sharedHttpPortForTests();
    expect((await fetch(`http://127.0.0.1:${backendPort}/api/v1/nodes`)).status).toBe(421);
    // no client certificate, or one from the other cluster's CA: anonymous
    expect((await get(0, "/api/v1/nodes")).status).toBe(401);
    expect((await get(0, "/api/v1/nodes", admins[1])).status).toBe(401);

    // a watch streams through the front
    const watch = await get(1, "/api/v1/nodes?watch=1", admins[1]);
    expect(watch.status).toBe(200);
    const reader = watch.body!.getReader();
    let text = "";
    while (!text.includes("node-of-c1")) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('"type":"ADDED"');
    await reader.cancel();

    for (const s of servers) await s.close();
    const closed = await get(0, "/api/v1/nodes", admins[0]).then(
      () => "answered",
      () => "refused",
    );
    expect(closed).toBe("refused");
    scopes.base.commit();
    scopes.base.database.close();
  });
});
