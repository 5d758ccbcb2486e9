/**
 * A MachineDeployment rolling update through the running daemon, driven with kubectl: every
 * Machine watch event is checked, and availability never drops below `replicas`.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { kubectlOrSkip } from "../../harness/kubectl.ts";
import { machineDeployment, templates } from "./manifests.ts";
import { apply, capiPath, clusterWithControlPlane, get, isTrue, list, startEnv, stopEnv, waitFor, waitRunning, type Env, type K } from "./support.ts";

const binary = kubectlOrSkip("cluster api rollout");
let e: Env;

beforeAll(async () => {
  if (binary) e = await startEnv(binary);
});
afterAll(() => stopEnv(e));

describe.skipIf(!binary)("MachineDeployment rollout", () => {
  it("rolls v1.31 → v1.32 with maxSurge 1 / maxUnavailable 0, never below 3 available", async () => {
    const ns = "rollout";
    await clusterWithControlPlane(e, ns, "c", "10.10.0.21");
    const rolling = { rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } } };
    await apply(e, [...templates(ns, "workers"), machineDeployment(ns, "c", "workers", { replicas: 3, spec: rolling })]);
    await waitRunning(e, ns, "pool=workers", 3);
    await waitFor("MachineDeployment available", async () => ((await get(e.api, capiPath(ns, "machinedeployments", "workers")))?.status?.availableReplicas === 3 ? true : undefined), 30_000, e);

    // Follow the Machines from a consistent list onwards.
    const listed = await e.api.get<{ items: K[]; metadata: { resourceVersion: string } }>(`${capiPath(ns, "machines")}?labelSelector=pool%3Dworkers`);
    const seen = new Map(listed.body.items.map((m) => [m.metadata.name, m]));
    const watch = await e.api.watch(`${capiPath(ns, "machines")}?watch=1&labelSelector=pool%3Dworkers&resourceVersion=${listed.body.metadata.resourceVersion}`);
    let processed = 0;
    let minAvailable = Infinity;
    let maxMachines = 0;
    const available = () => [...seen.values()].filter((m) => !m.metadata.deletionTimestamp && isTrue(m, "Available")).length;
    const drain = () => {
      for (; processed < watch.events.length; processed++) {
        const ev = watch.events[processed]!;
        const m = ev.object as K;
        if (ev.type === "DELETED") seen.delete(m.metadata.name);
        else seen.set(m.metadata.name, m);
        minAvailable = Math.min(minAvailable, available());
        maxMachines = Math.max(maxMachines, seen.size);
      }
    };

    await e.k.ok(["patch", "md", "workers", "-n", ns, "--type", "merge", "-p", JSON.stringify({ spec: { template: { spec: { version: "v1.32.0" } } } })]);
    await waitFor(
      "all workers on v1.32.0 and available",
      async () => {
        drain();
        const all = [...seen.values()];
        return all.length === 3 && all.every((m) => (m.spec as { version?: string }).version === "v1.32.0" && isTrue(m, "Available") && !m.metadata.deletionTimestamp);
      },
      90_000,
      e,
    );
    const md = await waitFor(
      "MachineDeployment status caught up",
      async () => {
        const md = await get(e.api, capiPath(ns, "machinedeployments", "workers"));
        const st = md?.status as { upToDateReplicas?: number; availableReplicas?: number; replicas?: number } | undefined;
        return st?.upToDateReplicas === 3 && st.availableReplicas === 3 && st.replicas === 3 ? md : undefined;
      },
      30_000,
      e,
    );
    watch.stop();
    drain();

    expect(processed).toBeGreaterThan(10);
    expect(minAvailable).toBe(3);
    expect(maxMachines).toBe(4);
    expect(md.metadata.annotations?.["machinedeployment.clusters.x-k8s.io/revision"]).toBe("2");
    const sets = await waitFor("old MachineSet removed", async () => {
      const s = await list(e.api, `${capiPath(ns, "machinesets")}?labelSelector=pool%3Dworkers`);
      return s.length === 1 ? s : undefined;
    });
    expect((sets[0]!.spec as { template: { spec: { version: string } } }).template.spec.version).toBe("v1.32.0");
  }, 180_000);
});
