import { afterEach, describe, expect, it } from "bun:test";
import { CAPI_VERSION, clusterUnpaused } from "../core/contract.ts";
import type { KObject } from "../../lib/kobject.ts";
import { INFRA_VERSION } from "./constants.ts";
import { CLUSTER, clusterObjects, conditionOf, createAll, NS, startProxmoxEnv, waitFor, type ProxmoxTestEnv } from "./testenv.ts";
import { settledReconciles } from "../../runtime/settled.ts";

let env: ProxmoxTestEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const cluster = (paused?: boolean): KObject => ({ metadata: { name: "c" }, spec: paused === undefined ? {} : { paused } });

describe("the ProxmoxCluster controller's watch of Clusters (upstream ClusterUnpaused)", () => {
  it("passes a Cluster created unpaused and one going from paused to unpaused, nothing else", () => {
    expect(clusterUnpaused(cluster(), undefined, "ADDED")).toBe(true);
    expect(clusterUnpaused(cluster(true), undefined, "ADDED")).toBe(false);
    expect(clusterUnpaused(cluster(false), cluster(true), "MODIFIED")).toBe(true);
    expect(clusterUnpaused(cluster(), cluster(), "MODIFIED")).toBe(false);
    expect(clusterUnpaused(cluster(true), cluster(), "MODIFIED")).toBe(false);
    expect(clusterUnpaused(cluster(), cluster(true), "DELETED")).toBe(false);
  });

  it("a Cluster's status writes do not reconcile its ProxmoxCluster again; unpausing does", async () => {
    env = await startProxmoxEnv();
    const { client, m } = env;
    await createAll(client, clusterObjects());
    await waitFor("ProxmoxCluster available", () => conditionOf(client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxCluster", namespace: NS, name: CLUSTER }), "ProxmoxAvailable")?.status === "True");
    const controller = m.controllers.find((c) => c.name === "proxmoxcluster")!;
    const settled = () => settledReconciles(controller);
    const ref = { apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER };
    const before = await settled();
    for (let i = 0; i < 5; i++) await client.patch(ref, "merge", { metadata: { labels: { round: String(i) } } });
    expect(await settled()).toBe(before);
    await client.patch(ref, "merge", { spec: { paused: true } });
    expect(await settled()).toBe(before);
    await client.patch(ref, "merge", { spec: { paused: false } });
    expect(await settled()).toBeGreaterThan(before);
  });
});
