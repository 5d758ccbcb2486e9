/**
 * Reliability under crashes and a misbehaving Proxmox (issue 6). A lab daemon (storage
 * synchronous FULL, the default) provisions 5 small Talos clusters while it is killed with
 * SIGKILL at random moments and restarted on the same data dir, CHAOS_ROUNDS times; a ConfigMap
 * acknowledged right before each kill (and one racing the kill, when acknowledged) must be there
 * after the restart. Afterwards every cluster is Available with every node Ready, and the
 * invariants hold: no orphan VM, no VMID claimed twice, no leaked IP, one etcd bootstrap per
 * cluster. Then the lab PVE injects task
 * failures, lock timeouts, 500s and slow tasks during a create → scale → delete cycle of one more
 * cluster: same invariants, and nothing of its own (VM, IP, Secret) is left.
 *
 * The seed is printed first; `CHAOS_SEED=<n>` replays a run, `CHAOS_ROUNDS=<n>` changes its length.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { KObject } from "../../src/lib/kobject.ts";
import { adminFetch, REPO, startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("chaos");

const SEED = (() => {
  const env = process.env.CHAOS_SEED;
  if (env !== undefined && env !== "") {
    const n = Number(env);
    if (!Number.isInteger(n)) throw new Error(`CHAOS_SEED must be an integer, got ${JSON.stringify(env)}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
})();
const ROUNDS = Number(process.env.CHAOS_ROUNDS || 20);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`CHAOS_ROUNDS must be a positive integer, got ${JSON.stringify(process.env.CHAOS_ROUNDS)}`);
console.log(`chaos seed ${SEED} (replay with CHAOS_SEED=${SEED}), ${ROUNDS} rounds`);

/** mulberry32, as the fuzz test and the lab PVE's dice. */
class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  between(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
}

const LAB_ARGS = ["--lab", "--lab-latencies", "instant", "--lab-pve-listen", "127.0.0.1:0"];
const EXAMPLE = readFileSync(join(REPO, "examples", "talos-single.yaml"), "utf8");
/** Endpoints .2–.8 and disjoint ranges in 10.10.0.0/24, clear of the gateway (.1) and the lab PVE nodes (.11–.13). */
const CHAOS_CLUSTERS = [0, 1, 2, 3, 4].map((i) => ({ name: `chaos-${i}`, endpoint: `10.10.0.${2 + i}`, first: 20 + 16 * i, count: 12 }));
const FAULT_CLUSTERS = [0].map((i) => ({ name: `fault-${i}`, endpoint: `10.10.0.${7 + i}`, first: 110 + 20 * i, count: 16 }));
/** Moderate rates: every kind of fault fires a few times in a cycle, and the cycle still ends. */
const FAULTS = { taskFailureRate: 0.05, lockTimeoutRate: 0.05, http500Rate: 0.05, slowTaskRate: 0.2, slowTaskMs: 300 };

/** talos-single.yaml with its own name, endpoint and address range; 1 control plane + 1 worker. */
function clusterManifest(c: { name: string; endpoint: string; first: number; count: number }): string {
  const range = `10.10.0.${c.first}-10.10.0.${c.first + c.count - 1}`;
  const out = EXAMPLE.replaceAll("demo", c.name).replaceAll("10.10.0.20", c.endpoint).replace("10.10.0.160-10.10.0.199", range).replace("replicas: 2", "replicas: 1");
  if (out === EXAMPLE || !out.includes(range) || out.includes("replicas: 2")) throw new Error("examples/talos-single.yaml changed: update the chaos test");
  return out;
}

type Conditions = { conditions?: { type: string; status: string }[] };
const isReady = (o: KObject) => (o.status as Conditions | undefined)?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
const clusterOf = (o: KObject) => o.metadata.labels?.["cluster.x-k8s.io/cluster-name"];
const vmidOf = (pm: KObject) => (pm.spec as { virtualMachineID?: number } | undefined)?.virtualMachineID;

describe.skipIf(!binary)("chaos: SIGKILL rounds, then lab PVE faults", () => {
  const base = tempDir("capx-chaos-");
  const dataDir = join(base, "data");
  let d: TestDaemon | undefined;
  let k: Kubectl;
  const rng = new Rng(SEED);
  let mark = Date.now();
  /** Where the time goes (printed, never asserted). */
  const lap = (what: string) => {
    console.log(`chaos: ${what} in ${((Date.now() - mark) / 1000).toFixed(1)} s`);
    mark = Date.now();
  };

  let starts = 0;
  let passed = 0;
  const start = async (config = "") => {
    // every incarnation's log, kept with the data dir when a test fails
    if (d) writeFileSync(join(base, `daemon-${starts}.log`), d.logs());
    starts++;
    d = await startTestDaemon({ dataDir, extraArgs: LAB_ARGS, config });
    // the config file's own temp dir; the data dir is ours and outlives this process
    rmSync(dirname(d.configPath), { recursive: true, force: true });
    k ??= new Kubectl(binary!, d.kubeconfig);
  };

  beforeAll(() => start());
  afterAll(async () => {
    await d?.stop("SIGKILL");
    if (d) writeFileSync(join(base, `daemon-${starts}.log`), d.logs());
    if (passed < 2) console.log(`chaos: data dir and daemon logs kept in ${base} (CHAOS_SEED=${SEED})`);
    else rmSync(base, { recursive: true, force: true });
    rmSync(k?.home ?? join(base, "none"), { recursive: true, force: true });
  });

  const items = async (kind: string, ...args: string[]) => (JSON.parse(await k.ok(["get", kind, "-o", "json", ...args])) as { items: KObject[] }).items;
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 90_000) => {
    const end = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
      if (Date.now() > end) {
        console.log(await k.ok(["get", "clusters,taloscontrolplanes,machinedeployments,machines,proxmoxmachines", "-o", "wide"]).catch(String));
        console.log(d!.logs().split("\n").filter((l) => /"level":"(warn|error)"/.test(l)).slice(-30).join("\n"));
        throw new Error(`timed out waiting for ${what} (CHAOS_SEED=${SEED})`);
      }
      await Bun.sleep(250);
    }
  };

  /** The lab PVE's VMs through its HTTPS API with the token it wrote; retried through injected 500s. */
  const labVms = async (): Promise<{ vmid: number; name?: string; template: number }[]> => {
    const url = /"url":"(https:\/\/127\.0\.0\.1:\d+)"/.exec(d!.logs())![1]!;
    const token = readFileSync(join(dataDir, "lab", "pve-token"), "utf8").trim();
    const ca = readFileSync(join(dataDir, "lab", "pve-root-ca.pem"), "utf8");
    for (let i = 0; ; i++) {
      const res = await fetch(`${url}/api2/json/cluster/resources?type=vm`, { headers: { Authorization: `PVEAPIToken=${token}` }, tls: { ca } } as RequestInit);
      if (res.ok) return ((await res.json()) as { data: { vmid: number; name?: string; template: number }[] }).data;
      if (i === 20) throw new Error(`lab PVE: ${res.status} ${await res.text()}`);
      await Bun.sleep(100);
    }
  };

  /** `etcd bootstrap` events of the lab Talos clusters, by the Cluster their node belongs to. */
  const etcdBootstraps = (): Map<string, number> => {
    const root = join(dataDir, "lab", "talos");
    const counts = new Map<string, number>();
    for (const dir of existsSync(root) ? readdirSync(root) : []) {
      const file = join(root, dir, "etcd.json");
      if (!existsSync(file)) continue;
      const { timeline } = JSON.parse(readFileSync(file, "utf8")) as { timeline: { event: string; hostname: string }[] };
      for (const t of timeline.filter((e) => e.event === "bootstrap")) {
        const cluster = /^((?:chaos|fault)-\d+)-/.exec(t.hostname)?.[1] ?? `unknown host ${t.hostname}`;
        counts.set(cluster, (counts.get(cluster) ?? 0) + 1);
      }
    }
    return counts;
  };

  /** Every workload node of the cluster Ready, one per Machine, read with its own kubeconfig. */
  const nodesReady = async (cluster: string, want: number) => {
    const file = join(base, `${cluster}.kubeconfig`);
    const w = new Kubectl(binary!, file, k.home);
    await until(`${want} Ready nodes in ${cluster}`, async () => {
      const kc = Buffer.from(await k.ok(["get", "secret", `${cluster}-kubeconfig`, "-o", "jsonpath={.data.value}"]), "base64").toString();
      writeFileSync(file, kc);
      const ns = (JSON.parse(await w.ok(["get", "nodes", "-o", "json", "--request-timeout=5s"])) as { items: KObject[] }).items;
      return ns.length === want && ns.every(isReady);
    });
  };

  /** No orphan VM, no VMID claimed twice, no leaked IP (all clusters); one etcd bootstrap for each of `clusters`. */
  const checkInvariants = async (clusters: string[]) => {
    const machines = await items("proxmoxmachines", "-A");
    // a VM may still be on its way out (a condemned clone); give the controllers a moment
    let orphans: number[] = [];
    let missing: number[] = [];
    await until("VMs and ProxmoxMachines to match", async () => {
      const vms = (await labVms()).filter((v) => !v.template).map((v) => v.vmid);
      const claimed = machines.map(vmidOf).filter((v): v is number => v !== undefined);
      orphans = vms.filter((v) => !claimed.includes(v));
      missing = claimed.filter((v) => !vms.includes(v));
      return orphans.length === 0 && missing.length === 0;
    }, 20_000).catch((e) => {
      throw new Error(`${(e as Error).message}: orphan VMs ${orphans.join(",") || "none"}, ProxmoxMachines without VM ${missing.join(",") || "none"}`);
    });
    const byVmid = new Map<number, string[]>();
    for (const pm of machines) {
      const id = vmidOf(pm);
      expect(id, `${pm.metadata.name} has no VMID`).toBeDefined();
      byVmid.set(id!, [...(byVmid.get(id!) ?? []), pm.metadata.name!]);
    }
    expect([...byVmid.values()].filter((names) => names.length > 1), "VMIDs claimed twice").toEqual([]);

    const claims = new Map((await items("ipaddressclaims", "-A")).map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c]));
    const liveMachines = new Map(machines.map((m) => [`${m.metadata.namespace}/${m.metadata.name}`, m.metadata.uid]));
    const ips = await items("ipaddresses", "-A");
    const leaked = ips.filter((ip) => {
      const claim = claims.get(`${ip.metadata.namespace}/${(ip.spec as { claimRef: { name: string } }).claimRef.name}`);
      const owner = claim?.metadata.ownerReferences?.find((r) => r.kind === "ProxmoxMachine" && r.controller);
      return !owner || liveMachines.get(`${claim!.metadata.namespace}/${owner.name}`) !== owner.uid;
    });
    expect(leaked.map((ip) => ip.metadata.name), "IPAddresses without a live claim of a live ProxmoxMachine").toEqual([]);
    expect(ips.length, "one IPAddress per machine (one NIC each)").toBe(machines.length);
    const addresses = ips.map((ip) => (ip.spec as { address: string }).address);
    expect(addresses.length - new Set(addresses).size, "addresses handed out twice").toBe(0);

    const boots = etcdBootstraps();
    for (const c of clusters) expect(boots.get(c) ?? 0, `etcd bootstraps of ${c}`).toBe(1);
    expect([...boots.keys()].filter((c) => c.startsWith("unknown")), "etcd bootstraps of unknown hosts").toEqual([]);
  };

  it(`kill -9 during provisioning, ${ROUNDS} rounds: every cluster Available, nothing lost or leaked`, async () => {
    lap("first start");
    const acked: string[] = [];
    let restartMs = 0;
    const pending = [...CHAOS_CLUSTERS];
    // clusters arrive over the first rounds, so kills land in every phase of provisioning
    const applyEvery = Math.max(1, Math.floor(ROUNDS / (2 * CHAOS_CLUSTERS.length)));
    for (let round = 0; round < ROUNDS || pending.length; round++) {
      if (round % applyEvery === 0 && pending.length) await k.ok(["apply", "-f", "-"], { input: clusterManifest(pending.shift()!) });
      await Bun.sleep(rng.between(50, 1500));
      const name = `ack-${round}`;
      const created = await adminFetch(d!, "/api/v1/namespaces/default/configmaps", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { round: String(round) } }),
      });
      expect(created.status).toBe(201);
      acked.push(name);
      // a write in flight at the moment of the kill: if it was acknowledged, it must survive too
      const racing = k.run(["create", "configmap", `${name}-race`, `--from-literal=round=${round}`, "--request-timeout=5s"]);
      await Bun.sleep(rng.between(0, 150));
      await d!.stop("SIGKILL");
      if ((await racing).code === 0) acked.push(`${name}-race`);
      const t0 = Date.now();
      await start();
      restartMs += Date.now() - t0;
      const list = (await (await adminFetch(d!, "/api/v1/namespaces/default/configmaps")).json()) as { items: KObject[] };
      const present = new Set(list.items.map((c) => c.metadata.name));
      const lost = acked.filter((n) => !present.has(n));
      expect(lost, `acknowledged writes lost after round ${round} (CHAOS_SEED=${SEED})`).toEqual([]);
    }

    lap(`${ROUNDS} rounds (restarts ${(restartMs / 1000).toFixed(1)} s of it)`);
    const wait = await k.run(["wait", "--for=condition=Available", "cluster", "--all", "--timeout=120s"], { timeoutMs: 130_000 });
    if (wait.code !== 0) console.log(await k.ok(["get", "clusters,taloscontrolplanes,machinedeployments,machines,proxmoxmachines", "-o", "wide"]).catch(String));
    expect(wait.code, `clusters Available (CHAOS_SEED=${SEED}): ${wait.stderr}`).toBe(0);
    lap("clusters Available");
    for (const c of CHAOS_CLUSTERS) await nodesReady(c.name, 2);
    const machines = await items("proxmoxmachines");
    expect(machines).toHaveLength(2 * CHAOS_CLUSTERS.length);
    await checkInvariants(CHAOS_CLUSTERS.map((c) => c.name));
    lap("nodes Ready and invariants");
    passed++;
  }, 600_000);

  it("with lab PVE faults on: create → scale 1 → 3 → delete, nothing left behind", async () => {
    await d!.stop();
    await start(`lab:\n  faults:\n${Object.entries({ ...FAULTS, seed: SEED % 2 ** 31 || 1 }).map(([key, v]) => `    ${key}: ${v}\n`).join("")}`);
    lap("restart with faults");
    const names = FAULT_CLUSTERS.map((c) => c.name);
    for (const c of FAULT_CLUSTERS) await k.ok(["apply", "-f", "-"], { input: clusterManifest(c) });
    for (const c of names) {
      const r = await k.run(["wait", "--for=condition=Available", `cluster/${c}`, "--timeout=120s"], { timeoutMs: 130_000 });
      expect(r.code, `${c} Available under faults (CHAOS_SEED=${SEED}): ${r.stderr}`).toBe(0);
    }
    lap("fault clusters Available");
    for (const c of names) await k.ok(["scale", "machinedeployment", `${c}-workers`, "--replicas=3"]);
    for (const c of names) await nodesReady(c, 4);
    await checkInvariants(names);
    lap("scaled to 3 workers, invariants");

    const faulted = readFileSync(join(dataDir, "lab", "pve-access.log"), "utf8").split("\n").filter((l) => l.includes('"status":500'));
    expect(faulted.length, "the lab PVE answered some requests with injected errors").toBeGreaterThan(0);
    const taskFailed = (await items("events")).filter((e) => (e as { reason?: string }).reason === "TaskFailed").length;
    console.log(`chaos: the lab PVE answered ${faulted.length} requests with 500; ${taskFailed} TaskFailed events`);

    for (const c of names) await k.ok(["delete", "cluster", c, "--wait=false"]);
    const theirs = (o: KObject) => names.includes(clusterOf(o) ?? "") || names.some((c) => o.metadata.name?.startsWith(`${c}-`));
    await until("the fault clusters gone: Clusters, Machines, VMs", async () => {
      const left = [...(await items("clusters")), ...(await items("proxmoxmachines"))].filter((o) => names.includes(o.metadata.name!) || theirs(o));
      const vms = (await labVms()).filter((v) => !v.template && names.some((c) => v.name?.startsWith(`${c}-`)));
      return left.length === 0 && vms.length === 0;
    }, 120_000);
    expect((await items("ipaddresses", "-A")).filter(theirs).map((o) => o.metadata.name)).toEqual([]);
    expect((await items("ipaddressclaims", "-A")).filter(theirs).map((o) => o.metadata.name)).toEqual([]);
    expect((await items("secrets")).filter(theirs).map((o) => o.metadata.name)).toEqual([]);
    await checkInvariants([]);
    lap("fault clusters deleted, nothing left");
    passed++;
  }, 400_000);
});
