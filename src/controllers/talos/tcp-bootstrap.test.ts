import { afterEach, describe, expect, test } from "bun:test";
import { TalosClient } from "../../providers/talos/api/client.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { parseTalosconfig } from "./cluster-secrets.ts";
import { secretValue, talosApiServerName, TALOSCONFIG_VERSION, TCP_VERSION, type LegacyCondition } from "./common.ts";
import { BOOTSTRAP_ANNOTATION } from "./taloscontrolplane.ts";
import { CLUSTER, createProvisionedCluster, INFRA_VERSION, NS, PM_SPEC, seedBundle, startTalosEnv, waitFor, type TalosTestEnv } from "./testenv.ts";

let env: TalosTestEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function setup(): Promise<TalosTestEnv> {
  const e = await startTalosEnv();
  await seedBundle(e.client);
  await createProvisionedCluster(e.client, CLUSTER, "cp");
  await e.client.create({
    apiVersion: INFRA_VERSION,
    kind: "ProxmoxMachineTemplate",
    metadata: { name: "cp-tmpl", namespace: NS },
    spec: { template: { spec: PM_SPEC } },
  });
  const cluster = e.client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER })!;
  await e.client.create({
    apiVersion: TCP_VERSION,
    kind: "TalosControlPlane",
    metadata: { name: "cp", namespace: NS, ownerReferences: [{ apiVersion: CAPI_VERSION, kind: "Cluster", name: CLUSTER, uid: cluster.metadata.uid! }] },
    spec: {
      replicas: 1,
      version: "v1.33.1",
      infrastructureTemplate: { apiVersion: INFRA_VERSION, kind: "ProxmoxMachineTemplate", name: "cp-tmpl" },
      controlPlaneConfig: { controlplane: { generateType: "controlplane", talosVersion: "v1.13" } },
    },
  });
  // The first machine and its bootstrap data; then the controllers stop before the node boots.
  await waitFor("bootstrap data", () => {
    const m = e.client.list(CAPI_VERSION, "Machine", NS)[0];
    const tc = m && e.client.get({ apiVersion: TALOSCONFIG_VERSION, kind: "TalosConfig", namespace: NS, name: m.metadata.name! });
    return (tc?.status as { dataSecretName?: string } | undefined)?.dataSecretName;
  });
  await e.stopControllers();
  await e.provision();
  return e;
}

const tcp = (e: TalosTestEnv) => e.client.get({ apiVersion: TCP_VERSION, kind: "TalosControlPlane", namespace: NS, name: "cp" })!;
const bootCond = (e: TalosTestEnv) => ((tcp(e).status as { conditions?: LegacyCondition[] } | undefined)?.conditions ?? []).find((c) => c.type === "EtcdBootstrapped");
const boots = (e: TalosTestEnv) => e.lab.timeline.filter((x) => x.event === "bootstrap");

describe("etcd bootstrap", () => {
  test("a node whose time is not in sync: the condition says so, and bootstrap follows once it is", async () => {
    env = await setup();
    const node = [...env.nodes.values()][0]!;
    node.timeSynced = false;
    await env.restartControllers();
    const e = env;
    await waitFor("the reason on EtcdBootstrapped", () => bootCond(e)?.message?.includes("time is not in sync yet"));
    expect(bootCond(e)).toMatchObject({ status: "False", reason: "BootstrapRequested" });
    expect(boots(e)).toHaveLength(0);
    node.timeSynced = true;
    await waitFor("bootstrapped", () => bootCond(e)?.status === "True", 15_000);
    expect(boots(e)).toHaveLength(1);
  });

  test("a node bootstrapped already (AlreadyExists) counts as done", async () => {
    env = await setup();
    const node = [...env.nodes.values()][0]!;
    const cfg = parseTalosconfig(secretValue(env.client.get({ apiVersion: "v1", kind: "Secret", namespace: NS, name: `${CLUSTER}-talosconfig` }), "talosconfig"));
    const ctx = cfg.contexts[cfg.context]!;
    const c = new TalosClient({ endpoints: [node.address], ca: ctx.ca, crt: ctx.crt, key: ctx.key, serverName: talosApiServerName(CLUSTER), dialer: env.network });
    await c.bootstrap();
    c.close();
    await env.restartControllers();
    await waitFor("bootstrapped", () => (tcp(env!).status as { bootstrapped?: boolean } | undefined)?.bootstrapped === true);
    expect(boots(env).length).toBe(1);
    expect(bootCond(env)).toMatchObject({ status: "True" });
    expect(bootCond(env)!.message).toContain("AlreadyExists");
    await waitFor("ready", () => (tcp(env!).status as { ready?: boolean }).ready === true);
  });

  test("a refused bootstrap is recorded before the call; after a restart the same node is asked again, once it can", async () => {
    env = await setup();
    const node = [...env.nodes.values()][0]!;
    node.timeSynced = false;
    await env.restartControllers();
    await waitFor("bootstrap requested", () => bootCond(env!)?.reason === "BootstrapRequested");
    expect(tcp(env).metadata.annotations?.[BOOTSTRAP_ANNOTATION]).toBe(`${node.hostname}/${node.address}`);
    expect((tcp(env).status as { bootstrapped?: boolean }).bootstrapped).toBeFalsy();
    expect(boots(env).length).toBe(0);

    await env.restartControllers();
    node.timeSynced = true;
    await waitFor("bootstrapped", () => (tcp(env!).status as { bootstrapped?: boolean } | undefined)?.bootstrapped === true);
    expect(boots(env).map((b) => b.hostname)).toEqual([node.hostname]);
    expect(tcp(env).metadata.annotations?.[BOOTSTRAP_ANNOTATION]).toBe(`${node.hostname}/${node.address}`);
  });
});
