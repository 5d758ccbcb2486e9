/**
 * Cluster API core behaviour through the running daemon (lab mode, test provider, kubectl):
 * MachineSet deletion order and priorities, MachineHealthCheck remediation, Machine deletion
 * with hooks and drain, a paused Cluster, and the order of Cluster deletion.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { kubectlOrSkip } from "../../harness/kubectl.ts";
import { CAPI, machine, machineDeployment, machineSet, templates } from "./manifests.ts";
import { apply, capiPath, clusterWithControlPlane, condition, get, isTrue, list, machinesOf, startEnv, stopEnv, waitFor, waitRunning, type Env, type K } from "./support.ts";
import { BOOTSTRAP_GROUP, INFRA_GROUP } from "./test-provider.ts";

const binary = kubectlOrSkip("cluster api lifecycle");
let e: Env;

beforeAll(async () => {
  if (binary) e = await startEnv(binary);
});
afterAll(() => stopEnv(e));

const byCreation = (ms: K[]) => [...ms].sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") || a.metadata.name.localeCompare(b.metadata.name));
const names = (ms: K[]) => ms.map((m) => m.metadata.name).sort();

describe.skipIf(!binary)("Cluster API lifecycle", () => {
  it("MachineSet scale-down picks by deletion order and priority (v1beta1 provider contract)", async () => {
    const ns = "policies";
    const w = await clusterWithControlPlane(e, ns, "c", "10.10.0.22");
    await apply(e, [...templates(ns, "pool", "v1beta1"), machineSet(ns, "c", "pool", { replicas: 1, order: "Oldest", contract: "v1beta1" })]);
    // Creation timestamps have second precision: grow one Machine at a time, a second apart.
    await waitRunning(e, ns, "pool=pool", 1);
    for (const n of [2, 3]) {
      await Bun.sleep(1100);
      await e.k.ok(["scale", "machineset", "pool", "-n", ns, `--replicas=${n}`]);
      await waitRunning(e, ns, "pool=pool", n);
    }
    const [m1, m2, m3] = byCreation(await machinesOf(e, ns, "pool=pool")).map((m) => m.metadata.name);
    const bootstrapOf = async (name: string) => (await get(e.api, `/apis/${BOOTSTRAP_GROUP}/v1beta1/namespaces/${ns}/legacyconfigs/${name}`))?.metadata.annotations;
    expect((await bootstrapOf(m1!))?.["cluster.x-k8s.io/cloned-from-name"]).toBe("pool");

    // Oldest goes first.
    await e.k.ok(["scale", "machineset", "pool", "-n", ns, "--replicas=2"]);
    expect(names(await waitRunning(e, ns, "pool=pool", 2))).toEqual([m2!, m3!].sort());
    // Newest goes first.
    await e.k.ok(["patch", "machineset", "pool", "-n", ns, "--type", "merge", "-p", '{"spec":{"deletion":{"order":"Newest"},"replicas":1}}']);
    expect(names(await waitRunning(e, ns, "pool=pool", 1))).toEqual([m2!]);

    // The delete-machine annotation beats the order.
    await e.k.ok(["scale", "machineset", "pool", "-n", ns, "--replicas=3"]);
    const grown = byCreation(await waitRunning(e, ns, "pool=pool", 3));
    const marked = grown.find((m) => m.metadata.name !== m2 && m.metadata.name !== grown[2]!.metadata.name)!.metadata.name;
    await e.k.ok(["annotate", "machine", marked, "-n", ns, "cluster.x-k8s.io/delete-machine=yes"]);
    await e.k.ok(["scale", "machineset", "pool", "-n", ns, "--replicas=2"]);
    const left = names(await waitRunning(e, ns, "pool=pool", 2));
    expect(left).not.toContain(marked);
    expect(left).toContain(m2!);

    // Random: an unhealthy Machine (its Node not Ready) goes before healthy ones.
    await e.k.ok(["patch", "machineset", "pool", "-n", ns, "--type", "merge", "-p", '{"spec":{"deletion":{"order":"Random"}}}']);
    const sick = left.find((n) => n !== m2)!;
    await e.provider.setNodeReady(w, sick, false);
    await waitFor(`${sick} NodeHealthy False`, async () => condition(await get(e.api, capiPath(ns, "machines", sick)), "NodeReady")?.status === "False", 20_000, e);
    await e.k.ok(["scale", "machineset", "pool", "-n", ns, "--replicas=1"]);
    expect(names(await waitRunning(e, ns, "pool=pool", 1))).toEqual([m2!]);
    // Every removed Machine took its infrastructure with it.
    const infra = await list(e.api, `/apis/${INFRA_GROUP}/v1beta1/namespaces/${ns}/legacymachines`);
    expect(names(infra.filter((m) => !m.metadata.name.includes("cp")))).toEqual([m2!]);
  }, 120_000);

  it("MachineHealthCheck remediates a Machine whose Node stays NotReady, and the set replaces it", async () => {
    const ns = "mhc";
    const w = await clusterWithControlPlane(e, ns, "c", "10.10.0.23");
    await apply(e, [
      ...templates(ns, "workers"),
      machineDeployment(ns, "c", "workers", { replicas: 2 }),
      {
        apiVersion: CAPI,
        kind: "MachineHealthCheck",
        metadata: { name: "workers", namespace: ns },
        spec: { clusterName: "c", selector: { matchLabels: { pool: "workers" } }, checks: { unhealthyNodeConditions: [{ type: "Ready", status: "False", timeoutSeconds: 2 }] } },
      },
    ]);
    const before = await waitRunning(e, ns, "pool=workers", 2);
    await waitFor("MHC sees 2 healthy", async () => ((await get(e.api, capiPath(ns, "machinehealthchecks", "workers")))?.status?.currentHealthy === 2 ? true : undefined), 20_000, e);
    const victim = before[0]!.metadata.name;
    await e.provider.setNodeReady(w, victim, false);
    await waitFor(`${victim} marked unhealthy`, async () => {
      const m = await get(e.api, capiPath(ns, "machines", victim));
      return !m || condition(m, "HealthCheckSucceeded")?.status === "False";
    }, 20_000, e);
    const after = await waitRunning(e, ns, "pool=workers", 2, 40_000);
    expect(names(after)).not.toContain(victim);
    expect(names(after)).toContain(before[1]!.metadata.name);
    const events = await e.k.ok(["get", "events", "-n", ns, "--field-selector", `involvedObject.name=${victim}`, "-o", "jsonpath={.items[*].reason}"]);
    expect(events).toContain("MachineMarkedUnhealthy");
    const mhc = await waitFor("MHC healthy again", async () => {
      const h = await get(e.api, capiPath(ns, "machinehealthchecks", "workers"));
      return h?.status?.currentHealthy === 2 && h.status.expectedMachines === 2 ? h : undefined;
    }, 20_000, e);
    expect(mhc.status?.remediationsAllowed).toBe(2);
  }, 120_000);

  it("deleting a Machine waits for hooks, cordons and drains its Node (sparing DaemonSet and drain=skip Pods), then removes the Node", async () => {
    const ns = "drain";
    const w = await clusterWithControlPlane(e, ns, "c", "10.10.0.24");
    const preDrain = "pre-drain.delete.hook.machine.cluster.x-k8s.io/e2e";
    const preTerminate = "pre-terminate.delete.hook.machine.cluster.x-k8s.io/e2e";
    await apply(e, machine(ns, "c", "w1", { contract: "v1beta1", annotations: { [preDrain]: "e2e", [preTerminate]: "e2e" } }));
    await waitRunning(e, ns, "cluster.x-k8s.io/cluster-name=c,!cluster.x-k8s.io/control-plane", 1);
    const pod = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", ...extra }, spec: { nodeName: "w1", containers: [{ name: "c", image: "busybox" }] } });
    // The lab workload API collects garbage like Kubernetes: the DaemonSet must exist for its Pod to stay.
    const labels = { app: "agent" };
    const daemonSet = await w.request("POST", "/apis/apps/v1/namespaces/default/daemonsets", {
      apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "agent", namespace: "default" },
      spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "a", image: "busybox" }] } } },
    });
    expect(daemonSet.status).toBe(201);
    for (const p of [
      pod("app"),
      pod("ds-agent", { labels, ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "agent", uid: daemonSet.body.metadata.uid, controller: true }] }),
      pod("keep", { labels: { "cluster.x-k8s.io/drain": "skip" } }),
    ]) {
      expect((await w.request("POST", "/api/v1/namespaces/default/pods", p)).status).toBe(201);
    }
    const podNames = async () => ((await w.request("GET", "/api/v1/namespaces/default/pods")).body.items ?? []).map((p) => p.metadata.name).sort();
    const node = async () => (await w.request("GET", "/api/v1/nodes/w1")).body;

    await e.k.ok(["delete", "machine", "w1", "-n", ns, "--wait=false"]);
    const deleting = (reason: string) => waitFor(`w1 Deleting reason ${reason}`, async () => condition(await get(e.api, capiPath(ns, "machines", "w1")), "Deleting")?.reason === reason, 20_000, e);
    await deleting("WaitingForPreDrainHook");
    await Bun.sleep(300);
    expect((await node()).spec?.unschedulable).toBeUndefined();
    expect(await podNames()).toEqual(["app", "ds-agent", "keep"]);

    await e.k.ok(["annotate", "machine", "w1", "-n", ns, `${preDrain}-`]);
    await deleting("WaitingForPreTerminateHook");
    expect((await node()).spec?.unschedulable).toBe(true);
    expect(await podNames()).toEqual(["ds-agent", "keep"]);
    // Infrastructure stays until the pre-terminate hook lets go.
    const infra = await get(e.api, `/apis/${INFRA_GROUP}/v1beta1/namespaces/${ns}/legacymachines/w1`);
    expect(infra?.metadata.deletionTimestamp).toBeUndefined();

    await e.k.ok(["annotate", "machine", "w1", "-n", ns, `${preTerminate}-`]);
    await e.k.ok(["wait", "--for=delete", "machine/w1", "-n", ns, "--timeout=30s"]);
    expect((await w.request("GET", "/api/v1/nodes/w1")).status).toBe(404);
    expect(await get(e.api, `/apis/${INFRA_GROUP}/v1beta1/namespaces/${ns}/legacymachines/w1`)).toBeUndefined();
    expect(await get(e.api, `/apis/${BOOTSTRAP_GROUP}/v1beta1/namespaces/${ns}/legacyconfigs/w1`)).toBeUndefined();
    expect(e.provider.released.some((r) => r.namespace === ns && r.name === "w1")).toBe(true);
    const reasons = await e.k.ok(["get", "events", "-n", ns, "--field-selector", "involvedObject.name=w1", "-o", "jsonpath={.items[*].reason}"]);
    expect(reasons).toContain("SuccessfulDrainNode");
  }, 120_000);

  it("a paused Cluster is left alone until it is unpaused", async () => {
    const ns = "paused";
    await clusterWithControlPlane(e, ns, "c", "10.10.0.25");
    await e.k.ok(["patch", "cluster", "c", "-n", ns, "--type", "merge", "-p", '{"spec":{"paused":true}}']);
    await waitFor("Cluster Paused condition", async () => isTrue(await get(e.api, capiPath(ns, "clusters", "c")), "Paused"), 10_000, e);
    await apply(e, [...templates(ns, "workers"), machineDeployment(ns, "c", "workers", { replicas: 2 }), ...machine(ns, "c", "solo")]);
    await waitFor("MachineDeployment reports Paused", async () => isTrue(await get(e.api, capiPath(ns, "machinedeployments", "workers")), "Paused"), 10_000, e);
    await waitFor("Machine reports Paused", async () => isTrue(await get(e.api, capiPath(ns, "machines", "solo")), "Paused"), 10_000, e);
    await Bun.sleep(1500);
    expect(await list(e.api, capiPath(ns, "machinesets"))).toEqual([]);
    const solo = await get(e.api, capiPath(ns, "machines", "solo"));
    expect(solo?.status?.phase ?? "Pending").toBe("Pending");
    const config = await get(e.api, `/apis/${BOOTSTRAP_GROUP}/v1beta1/namespaces/${ns}/testconfigs/solo`);
    expect(config?.metadata.ownerReferences ?? []).toEqual([]);

    await e.k.ok(["patch", "cluster", "c", "-n", ns, "--type", "merge", "-p", '{"spec":{"paused":false}}']);
    await waitRunning(e, ns, "pool=workers", 2);
    await waitFor("solo Running", async () => (await get(e.api, capiPath(ns, "machines", "solo")))?.status?.phase === "Running", 30_000, e);
  }, 120_000);

  it("deleting a Cluster removes workers, then the control plane, then the infrastructure", async () => {
    const ns = "teardown";
    await clusterWithControlPlane(e, ns, "c", "10.10.0.26");
    await apply(e, [...templates(ns, "workers"), machineDeployment(ns, "c", "workers", { replicas: 2 })]);
    const workers = await waitRunning(e, ns, "pool=workers", 2);
    const listed = await e.api.get<{ metadata: { resourceVersion: string } }>(capiPath(ns, "machines"));
    const watch = await e.api.watch(`${capiPath(ns, "machines")}?watch=1&resourceVersion=${listed.body.metadata.resourceVersion}`);

    await e.k.ok(["delete", "cluster", "c", "-n", ns, "--wait=false"]);
    await e.k.ok(["wait", "--for=delete", "cluster/c", "-n", ns, "--timeout=60s"]);
    watch.stop();
    // When each Machine got its deletionTimestamp, and when it was gone.
    const marked = new Map<string, number>();
    const gone = new Map<string, number>();
    watch.events.forEach((ev, i) => {
      const name = (ev.object.metadata as { name: string }).name;
      if ((ev.object.metadata as { deletionTimestamp?: string }).deletionTimestamp && !marked.has(name)) marked.set(name, i);
      if (ev.type === "DELETED") gone.set(name, i);
    });
    const cp = "c-cp-0";
    for (const wk of workers) expect(gone.get(wk.metadata.name)!).toBeLessThan(marked.get(cp)!);
    const released = e.provider.released.filter((r) => r.namespace === ns);
    const clusterReleased = released.findIndex((r) => r.kind === "TestCluster");
    expect(clusterReleased).toBe(released.length - 1);
    expect(released.map((r) => r.name).slice(0, -1).sort()).toEqual([...workers.map((wk) => wk.metadata.name), cp].sort());
    expect(await list(e.api, capiPath(ns, "machinedeployments"))).toEqual([]);
    expect(await list(e.api, `/apis/${INFRA_GROUP}/v1beta1/namespaces/${ns}/testmachines`)).toEqual([]);
  }, 120_000);
});
