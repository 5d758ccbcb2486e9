/**
 * Fault test (issue 4's proof): with 10% task failures, 10% lock timeouts and 10% HTTP 500s in
 * the lab PVE, 20 ProxmoxMachines converge — every machine has exactly one VM, no VM is left
 * over, every IP address belongs to a live machine's claim and no address is handed out twice.
 * The dice are seeded: `CHAOS_SEED=<n>` replays a run.
 */
import { afterEach, expect, it } from "bun:test";
import { CAPI_VERSION } from "../core/contract.ts";
import { INFRA_VERSION, IPAM_CONTRACT_VERSION } from "./constants.ts";
import { clusterObjects, createAll, machineObjects, NS, startProxmoxEnv, waitFor, type ProxmoxTestEnv } from "./testenv.ts";
import type { ProxmoxMachineSpec, ProxmoxMachineStatus } from "./types.ts";

let env: ProxmoxTestEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const MACHINES = 20;

it(`${MACHINES} ProxmoxMachines converge under task failures, lock timeouts and 500s: no duplicate VM, no leaked IP`, async () => {
  const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`CHAOS_SEED=${seed}`);
  env = await startProxmoxEnv({ controllers: { concurrency: 8 } });
  const e = env;
  await createAll(e.client, clusterObjects({ pcSpec: { ipv4Config: { addresses: ["10.10.0.100-10.10.0.199"], prefix: 24, gateway: "10.10.0.1" } } }));
  await waitFor("cluster infrastructure", () => (e.client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: "c1" })?.status as { initialization?: { infrastructureProvisioned?: boolean } } | undefined)?.initialization?.infrastructureProvisioned);
  e.lab.setFaults({ taskFailureRate: 0.1, lockTimeoutRate: 0.1, http500Rate: 0.1, seed });
  const names = Array.from({ length: MACHINES }, (_, i) => `c1-w-${String(i).padStart(2, "0")}`);
  for (const name of names) await createAll(e.client, machineObjects(name));

  const pms = await waitFor(
    "all machines provisioned",
    () => {
      const list = e.client.list(INFRA_VERSION, "ProxmoxMachine", NS);
      return list.length === MACHINES && list.every((p) => (p.status as ProxmoxMachineStatus | undefined)?.initialization?.provisioned) ? list : undefined;
    },
    90_000,
  );
  e.lab.setFaults({ taskFailureRate: 0, lockTimeoutRate: 0, http500Rate: 0 });

  // Exactly one VM per machine, the one it recorded; nothing else was left behind.
  const vms = (await e.backend.vms()).filter((v) => !v.template);
  const byName = new Map<string, number[]>();
  for (const v of vms) {
    const config = (await e.backend.vmConfig(v.node, v.vmid))!;
    byName.set(config.name ?? "", [...(byName.get(config.name ?? "") ?? []), v.vmid]);
  }
  for (const p of pms) expect(byName.get(p.metadata.name!)).toEqual([(p.spec as ProxmoxMachineSpec).virtualMachineID!]);
  expect(vms.length).toBe(MACHINES);

  // Every address is a live machine's, and none twice.
  const addresses = e.client.list(IPAM_CONTRACT_VERSION, "IPAddress", NS);
  const claims = e.client.list(IPAM_CONTRACT_VERSION, "IPAddressClaim", NS);
  expect(addresses.length).toBe(MACHINES);
  expect(claims.length).toBe(MACHINES);
  expect(new Set(addresses.map((a) => (a.spec as { address: string }).address)).size).toBe(MACHINES);
  const uids = new Set(pms.map((p) => p.metadata.uid));
  for (const c of claims) expect(uids.has(c.metadata.ownerReferences?.[0]?.uid)).toBe(true);
  const internal = pms.map((p) => (p.status as ProxmoxMachineStatus).addresses?.find((a) => a.type === "InternalIP")?.address);
  expect(new Set(internal).size).toBe(MACHINES);
}, 120_000);
