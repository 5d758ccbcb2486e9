/**
 * No hot loops: 2,000 Machines brought to Running through the whole flow (MachineDeployment,
 * MachineSet, Machine controllers, test provider, lab workload API), then the reconcile counter
 * of /metrics must stay (almost) still for 10 s.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { kubectlOrSkip } from "../../harness/kubectl.ts";
import { machineDeployment, templates } from "./manifests.ts";
import { apply, capiPath, clusterWithControlPlane, get, startEnv, stopEnv, waitFor, type Env } from "./support.ts";

const binary = kubectlOrSkip("steady state");
const COUNT = 2000;
let e: Env;

beforeAll(async () => {
  if (binary) e = await startEnv(binary);
});
afterAll(() => stopEnv(e));

async function reconciles(): Promise<Record<string, number>> {
  const text = (await e.api.get("/metrics")).text;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^controller_runtime_reconcile_total\{controller="([^"]+)",result="[^"]+"\} (\d+)/gm)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}

describe.skipIf(!binary)("steady state", () => {
  it(`${COUNT} Running Machines cause fewer than 20 reconciles in 10 s`, async () => {
    const ns = "steady";
    await clusterWithControlPlane(e, ns, "c", "10.10.0.50");
    await apply(e, [...templates(ns, "workers"), machineDeployment(ns, "c", "workers", { replicas: COUNT })]);
    await waitFor(
      `${COUNT} Machines available`,
      async () => ((await get(e.api, capiPath(ns, "machinedeployments", "workers")))?.status?.availableReplicas === COUNT ? true : undefined),
      300_000,
      e,
    );
    // Let the last status writes land (on a loaded machine the last Machines settle a few seconds
    // after the MachineDeployment counts them): wait for 3 quiet seconds, at most 60 s — a hot loop
    // never gets there and fails below anyway.
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    let last = sum(await reconciles());
    for (let quiet = 0, waited = 0; quiet < 3 && waited < 60; waited++) {
      await Bun.sleep(1000);
      const now = sum(await reconciles());
      quiet = now - last <= 1 ? quiet + 1 : 0;
      last = now;
    }
    const before = await reconciles();
    await Bun.sleep(10_000);
    const after = await reconciles();
    const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)]));
    const total = Object.values(delta).reduce((a, b) => a + b, 0);
    expect(before.machine).toBeGreaterThan(COUNT);
    if (total >= 20) console.error("reconciles during steady state:", delta);
    expect(total).toBeLessThan(20);
  }, 420_000);
});
