import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundledKinds } from "../../kinds/index.ts";
import { setPoolUsageSource } from "../../kinds/ipam/webhooks/usage.ts";
import { bundledHooks, syncBundledCRDs } from "../../kinds/sync.ts";
import type { KObject } from "../../lib/kobject.ts";
import { Registry } from "../../registry/registry.ts";
import { systemContext } from "../../registry/rest/context.ts";
import { create } from "../../registry/rest/create.ts";
import type { RestDeps } from "../../registry/rest/deps.ts";
import type { Client } from "../../runtime/client.ts";
import { Manager } from "../../runtime/manager.ts";
import { openDatabase } from "../../store/open.ts";
import { Store } from "../../store/store.ts";
import { setupIpamControllers } from "./index.ts";

const IPAM = "ipam.cluster.x-k8s.io";
const POOLS = `${IPAM}/v1alpha2`;
const V1B2 = `${IPAM}/v1beta2`;

interface Env {
  d: RestDeps;
  m: Manager;
  client: Client;
  clock: { offsetMs: number };
  close(): Promise<void>;
}

let env: Env | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function start(): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), "capx-ipam-ctl-"));
  const store = new Store(openDatabase(join(dir, "s.db"), { synchronous: "NORMAL" }));
  const kinds = bundledKinds();
  const clock = { offsetMs: 0 };
  const d: RestDeps = { store, registry: new Registry(store, bundledHooks(kinds)), now: () => new Date(Date.now() + clock.offsetMs) };
  for (const ns of ["default", "other"]) create(d, d.registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: ns } }, systemContext("t"));
  syncBundledCRDs(d, kinds);
  const m = new Manager(d);
  setupIpamControllers(m);
  m.start();
  env = {
    d,
    m,
    client: m.client("test"),
    clock,
    close: async () => {
      await m.stop();
      setPoolUsageSource(undefined);
      store.commit();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}

const pool = (name: string, spec: Record<string, unknown>, kind = "InClusterIPPool"): KObject => ({
  apiVersion: POOLS,
  kind,
  metadata: kind === "InClusterIPPool" ? { name, namespace: "default" } : { name },
  spec,
});

const claim = (name: string, poolName: string, opts: { ns?: string; kind?: string; cluster?: string } = {}): KObject => ({
  apiVersion: V1B2,
  kind: "IPAddressClaim",
  metadata: { name, namespace: opts.ns ?? "default", ...(opts.cluster ? { labels: { "cluster.x-k8s.io/cluster-name": opts.cluster } } : {}) },
  spec: { poolRef: { apiGroup: IPAM, kind: opts.kind ?? "InClusterIPPool", name: poolName }, ...(opts.cluster ? { clusterName: opts.cluster } : {}) },
});

const getClaim = (e: Env, name: string, ns = "default") => e.client.get({ apiVersion: V1B2, kind: "IPAddressClaim", namespace: ns, name });
const getAddress = (e: Env, name: string, ns = "default") => e.client.get({ apiVersion: V1B2, kind: "IPAddress", namespace: ns, name });
const ready = (o: KObject | undefined) => ((o?.status as { conditions?: { type: string; status: string; reason: string; message: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === "Ready");
const addressOf = (e: Env, name: string, ns = "default") => (getAddress(e, name, ns)?.spec as { address?: string } | undefined)?.address;

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

describe("in-cluster IPAM controller", () => {
  it("fulfils 50 claims created at once with 50 distinct addresses of the pool, the gateway excluded", async () => {
    const e = await start();
    await e.client.create(pool("p", { addresses: ["10.10.0.1-10.10.0.60"], prefix: 24, gateway: "10.10.0.1" }));
    await Promise.all(Array.from({ length: 50 }, (_, i) => e.client.create(claim(`c${i}`, "p", { cluster: undefined }))));
    await e.m.idle();
    const addresses = Array.from({ length: 50 }, (_, i) => addressOf(e, `c${i}`));
    expect(new Set(addresses).size).toBe(50);
    for (const a of addresses) {
      const last = Number(a!.split(".")[3]);
      expect(a!.startsWith("10.10.0.")).toBe(true);
      expect(last >= 2 && last <= 60).toBe(true);
    }
    const c0 = getClaim(e, "c0")!;
    expect(c0.metadata.finalizers).toEqual(["ipam.cluster.x-k8s.io/ReleaseAddress"]);
    expect((c0.status as { addressRef?: unknown }).addressRef).toEqual({ name: "c0" });
    expect(ready(c0)).toMatchObject({ status: "True", reason: "Ready" });
    const a0 = getAddress(e, "c0")!;
    const p = e.client.get({ apiVersion: POOLS, kind: "InClusterIPPool", namespace: "default", name: "p" })!;
    expect(a0.metadata.finalizers).toEqual(["ipam.cluster.x-k8s.io/ProtectAddress"]);
    expect(a0.metadata.ownerReferences).toEqual([
      { apiVersion: V1B2, kind: "IPAddressClaim", name: "c0", uid: c0.metadata.uid!, controller: true, blockOwnerDeletion: true },
      { apiVersion: POOLS, kind: "InClusterIPPool", name: "p", uid: p.metadata.uid!, controller: false, blockOwnerDeletion: true },
    ]);
    expect(a0.spec).toMatchObject({ prefix: 24, gateway: "10.10.0.1", claimRef: { name: "c0" }, poolRef: { apiGroup: IPAM, kind: "InClusterIPPool", name: "p" } });
    expect(p.metadata.finalizers).toEqual(["ipam.cluster.x-k8s.io/ProtectPool"]);
    expect((p.status as { ipAddresses?: unknown }).ipAddresses).toEqual({ total: 59, used: 50, free: 9, outOfRange: 0 });
  });

  it("reports exhaustion and hands a released address out again only after the grace period", async () => {
    const e = await start();
    await e.client.create(pool("small", { addresses: ["10.0.0.10-10.0.0.11"], prefix: 24, addressReuseGracePeriodSeconds: 30 }));
    for (const n of ["a", "b", "c"]) await e.client.create(claim(n, "small"));
    await e.m.idle();
    expect([addressOf(e, "a"), addressOf(e, "b")]).toEqual(["10.0.0.10", "10.0.0.11"]);
    expect(ready(getClaim(e, "c"))).toMatchObject({ status: "False", reason: "PoolExhausted" });
    expect(ready(getClaim(e, "c"))!.message).toContain("InClusterIPPool default/small: no address available");

    await e.client.delete({ apiVersion: V1B2, kind: "IPAddressClaim", namespace: "default", name: "a" });
    await e.m.idle(0, 5_000).catch(() => {});
    // Within the grace period: claim a stays (deleting), its address stays taken.
    expect(getClaim(e, "a")?.metadata.deletionTimestamp).toBeString();
    expect(addressOf(e, "a")).toBe("10.0.0.10");
    expect(addressOf(e, "c")).toBeUndefined();

    e.clock.offsetMs = 31_000;
    const claims = e.m.controllers.find((c) => c.name === "ipaddressclaim-in-cluster")!;
    claims.enqueue({ namespace: "default", name: "a" });
    await waitFor("claim c to get the released address", () => addressOf(e, "c") === "10.0.0.10" && ready(getClaim(e, "c"))?.status === "True");
    expect(getClaim(e, "a")).toBeUndefined();
  });

  it("keeps no reuse grace for the claims of a Cluster being deleted", async () => {
    const e = await start();
    const cluster = { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", namespace: "default", name: "gone" };
    await e.client.create({ apiVersion: cluster.apiVersion, kind: "Cluster", metadata: { name: "gone", namespace: "default", finalizers: ["test/hold"] }, spec: { infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxCluster", name: "gone" } } });
    await e.client.create(pool("graced", { addresses: ["10.4.0.10-10.4.0.11"], prefix: 24, addressReuseGracePeriodSeconds: 300 }));
    await e.client.create(claim("kept", "graced", { cluster: "gone" }));
    await waitFor("allocation", () => addressOf(e, "kept") === "10.4.0.10");
    await e.client.delete({ apiVersion: V1B2, kind: "IPAddressClaim", namespace: "default", name: "kept" });
    await e.m.idle(0, 5_000).catch(() => {});
    expect(getClaim(e, "kept")?.metadata.deletionTimestamp).toBeString(); // the Cluster stays: 300 s of grace
    await e.client.delete(cluster);
    await waitFor("the address released without waiting for the grace period", () => !getClaim(e, "kept") && !getAddress(e, "kept"), 5_000);
  });

  it("says when the pool does not exist and allocates once it appears", async () => {
    const e = await start();
    await e.client.create(claim("early", "later"));
    await waitFor("PoolNotReady", () => ready(getClaim(e, "early"))?.reason === "PoolNotReady");
    expect(ready(getClaim(e, "early"))!.message).toBe("InClusterIPPool default/later not found");
    await e.client.create(pool("later", { addresses: ["10.1.0.5"], prefix: 24 }));
    await waitFor("allocation", () => addressOf(e, "early") === "10.1.0.5");
  });

  it("skips claims of a paused or missing Cluster until it is there and unpaused", async () => {
    const e = await start();
    await e.client.create(pool("p", { addresses: ["10.2.0.5-10.2.0.9"], prefix: 24 }));
    await e.client.create(claim("x", "p", { cluster: "c1" }));
    await e.m.idle();
    expect(getClaim(e, "x")?.status).toBeUndefined();
    await e.client.create({ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", metadata: { name: "c1", namespace: "default" }, spec: { paused: true, infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxCluster", name: "c1" } } });
    await e.m.idle();
    expect(getAddress(e, "x")).toBeUndefined();
    expect(getClaim(e, "x")?.metadata.finalizers).toBeUndefined();
    await e.client.patch({ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", namespace: "default", name: "c1" }, "merge", { spec: { paused: false } });
    await waitFor("allocation after unpause", () => addressOf(e, "x") === "10.2.0.5");
    expect(getAddress(e, "x")?.metadata.labels).toEqual({ "cluster.x-k8s.io/cluster-name": "c1" });
  });

  it("serves claims of every namespace from a GlobalInClusterIPPool, never twice the same address", async () => {
    const e = await start();
    await e.client.create(pool("g", { addresses: ["10.3.0.0/29"], prefix: 29, gateway: "10.3.0.1" }, "GlobalInClusterIPPool"));
    await Promise.all([
      ...["d1", "d2", "d3"].map((n) => e.client.create(claim(n, "g", { kind: "GlobalInClusterIPPool" }))),
      ...["o1", "o2"].map((n) => e.client.create(claim(n, "g", { kind: "GlobalInClusterIPPool", ns: "other" }))),
    ]);
    await e.m.idle();
    const got = [addressOf(e, "d1"), addressOf(e, "d2"), addressOf(e, "d3"), addressOf(e, "o1", "other"), addressOf(e, "o2", "other")];
    expect(got.sort()).toEqual(["10.3.0.2", "10.3.0.3", "10.3.0.4", "10.3.0.5", "10.3.0.6"]);
    const g = e.client.get({ apiVersion: POOLS, kind: "GlobalInClusterIPPool", name: "g" })!;
    expect((g.status as { ipAddresses?: unknown }).ipAddresses).toEqual({ total: 5, used: 5, free: 0, outOfRange: 0 });
  });

  it("releases at once when the pool has no grace period, and the pool goes once unused", async () => {
    const e = await start();
    await e.client.create(pool("p", { addresses: ["10.4.0.5"], prefix: 24 }));
    await e.client.create(claim("only", "p"));
    await waitFor("allocation", () => addressOf(e, "only") === "10.4.0.5");
    await e.client.delete({ apiVersion: V1B2, kind: "IPAddressClaim", namespace: "default", name: "only" });
    await waitFor("claim and address gone", () => !getClaim(e, "only") && !getAddress(e, "only"));
    await waitFor("pool status", () => (e.client.get({ apiVersion: POOLS, kind: "InClusterIPPool", namespace: "default", name: "p" })?.status as { ipAddresses?: { used: number } } | undefined)?.ipAddresses?.used === 0);
    await e.client.delete({ apiVersion: POOLS, kind: "InClusterIPPool", namespace: "default", name: "p" });
    await waitFor("pool gone", () => !e.client.get({ apiVersion: POOLS, kind: "InClusterIPPool", namespace: "default", name: "p" }));
  });
});
