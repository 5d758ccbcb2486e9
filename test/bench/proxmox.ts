/**
 * Bench phase "proxmox": N ProxmoxMachines through the lab PVE with instant latencies (a lab
 * daemon, `--lab-latencies instant`, the in-process backend). A Cluster with its ProxmoxCluster,
 * a ProxmoxMachineTemplate and a MachineDeployment whose Machines take their bootstrap data from
 * one Secret (`bootstrap.dataSecretName`), scaled 0 → N through the scale subresource; timed until
 * every ProxmoxMachine reports `status.initialization.provisioned` and every Machine is
 * `Provisioned`. PVE calls are counted from the lab's access log (DATA_DIR/lab/pve-access.log,
 * one line per request), per machine and by method + path pattern. Then 10 s of steady state
 * (PVE calls and reconciles). Baseline, same run: the same provisioning sequence straight
 * through a fresh lab PVE's in-process API (no controllers, no API server), 4 machines at a
 * time like the controller, tasks polled back to back; reference: as many plain creates as the
 * rollout committed writes. Run alone: `bun test/bench/proxmox.ts '{"count":100}'`; prints
 * `{"result": …}`. Aids: BENCH_DAEMON_LOG=<file>, BENCH_KEEP=1, CAPX_DAEMON_CPU_PROF=<dir>.
 * @module
 */
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { CAPI_VERSION } from "../../src/controllers/core/contract.ts";
import { INFRA_GROUP, INFRA_VERSION } from "../../src/controllers/proxmox/constants.ts";
import { bootstrapSecret, clusterObjects } from "../../src/controllers/proxmox/testenv.ts";
import type { KObject } from "../../src/lib/kobject.ts";
import { InProcessBackend } from "../../src/providers/proxmox/inprocess.ts";
import { createLabPve, INSTANT_LATENCIES, type LabPve } from "../../src/providers/proxmox/lab/index.ts";
import type { TaskRef } from "../../src/providers/proxmox/types.ts";
import { Api } from "../harness/api.ts";
import { startTestDaemon, tempDir } from "../harness/daemon.ts";
import { configMap, now, procTimes } from "./common.ts";

const opts = JSON.parse(process.argv[2] ?? "{}") as { count?: number };
const COUNT = opts.count ?? 100;
const ns = "bench";
const CLUSTER = "pmx";
const STEADY_MS = 10_000;
const log = (msg: string) => process.stderr.write(`[proxmox] ${msg}\n`);

/** The node pool: a range on vmbr0's /24 (10.10.0.0/24) up to 241 machines, beyond that a /16 (the lab takes any static address). */
function ipv4Config(count: number) {
  if (count <= 241) return { addresses: ["10.10.0.10-10.10.0.250"], prefix: 24, gateway: "10.10.0.1" };
  const last = 10 + count + 10;
  return { addresses: [`10.10.0.10-10.10.${Math.floor(last / 256)}.${last % 256}`], prefix: 16, gateway: "10.10.0.1" };
}

function objects(count: number): KObject[] {
  const inNs = (o: KObject): KObject => ({ ...o, metadata: { ...o.metadata, namespace: ns } });
  const base = clusterObjects({
    cluster: CLUSTER,
    // 1 GiB per VM: 3 × 64 GiB of lab nodes hold ~190 machines; beyond that memory accounting is off.
    pcSpec: { ipv4Config: ipv4Config(count), ...(count > 180 ? { schedulerHints: { memoryAdjustment: 0 } } : {}) },
  }).map(inNs);
  const secret = inNs(bootstrapSecret("workers-bootstrap", undefined, CLUSTER));
  const template: KObject = {
    apiVersion: INFRA_VERSION,
    kind: "ProxmoxMachineTemplate",
    metadata: { name: "workers", namespace: ns },
    spec: {
      template: {
        spec: {
          sourceNode: "pve1",
          templateID: 9001,
          full: true,
          numSockets: 1,
          numCores: 2,
          memoryMiB: 1024,
          disks: { bootVolume: { disk: "scsi0", sizeGb: 12 } },
          network: { networkDevices: [{ name: "net0", bridge: "vmbr0", defaultIPv4: true }] },
        },
      },
    },
  };
  const labels = { pool: "workers" };
  const md: KObject = {
    apiVersion: CAPI_VERSION,
    kind: "MachineDeployment",
    metadata: { name: "workers", namespace: ns },
    spec: {
      clusterName: CLUSTER,
      replicas: 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          clusterName: CLUSTER,
          version: "v1.32.3",
          bootstrap: { dataSecretName: "workers-bootstrap" },
          infrastructureRef: { apiGroup: INFRA_GROUP, kind: "ProxmoxMachineTemplate", name: "workers" },
        },
      },
    },
  };
  return [...base, secret, template, md];
}

/** The lab PVE's access log, read from a byte offset: whole lines only (the tail may be mid-flush). */
class AccessLogReader {
  constructor(readonly path: string) {}

  size(): number {
    return existsSync(this.path) ? statSync(this.path).size : 0;
  }

  /** Entries written after `from`, up to the last complete line. */
  since(from: number): { entries: { ts: string; method: string; path: string; status: number }[]; end: number } {
    if (!existsSync(this.path)) return { entries: [], end: from };
    const buf = readFileSync(this.path).subarray(from);
    const last = buf.lastIndexOf(10);
    if (last < 0) return { entries: [], end: from };
    const text = buf.subarray(0, last + 1).toString("utf8");
    const entries = text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { ts: string; method: string; path: string; status: number });
    return { entries, end: from + last + 1 };
  }
}

/** `/nodes/pve2/qemu/123/clone` → `/nodes/{node}/qemu/{vmid}/clone`; UPIDs → `{upid}`. */
function pathPattern(method: string, path: string, params?: Record<string, unknown>): string {
  let p = path
    .replace(/\/tasks\/[^/]+/, "/tasks/{upid}")
    .replace(/\/nodes\/[^/]+/, "/nodes/{node}")
    .replace(/\/(qemu|lxc)\/\d+/, "/$1/{vmid}");
  if (p === "/cluster/resources" && params?.type) p += `?type=${String(params.type)}`;
  if (p === "/cluster/nextid" && params?.vmid !== undefined) p += "?vmid=N";
  return `${method} ${p}`;
}

function breakdown(entries: { method: string; path: string; params?: Record<string, unknown> }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of entries) {
    const k = pathPattern(e.method, e.path, e.params);
    out[k] = (out[k] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

/** Calls per VM (by VMID in the path): min, median, max; calls without a VMID are shared. */
function perVm(entries: { path: string }[]): { vms: number; min: number; median: number; max: number; shared: number } {
  const by = new Map<string, number>();
  let shared = 0;
  for (const e of entries) {
    const m = /\/qemu\/(\d+)/.exec(e.path);
    if (!m) {
      shared++;
      continue;
    }
    if (m[1] === "9001" || m[1] === "9000") {
      // reads of the template (its config before each clone) and the clone itself
      shared++;
      continue;
    }
    by.set(m[1]!, (by.get(m[1]!) ?? 0) + 1);
  }
  const xs = [...by.values()].sort((a, b) => a - b);
  return { vms: xs.length, min: xs[0] ?? 0, median: xs[Math.floor(xs.length / 2)] ?? 0, max: xs[xs.length - 1] ?? 0, shared };
}

/**
 * The baseline: what the simulated hardware costs for the same work. A fresh lab PVE (instant
 * latencies) driven through the in-process backend the daemon uses, with the calls a
 * ProxmoxMachine makes on its way to provisioned — template config, nodes and VMs for the
 * scheduler, nextid, full clone to a target node, config, resize, cloud-init snippets + cicustom,
 * start, `cloud-init status` through the agent — `concurrency` VMs at a time, each task polled
 * back to back until it ends. No API server, store or controllers.
 */
async function labProvisioningBaseline(o: { dataDir: string; count: number; concurrency: number }): Promise<{ ms: number; calls: number }> {
  const lab = createLabPve({ dataDir: o.dataDir, latencies: INSTANT_LATENCIES });
  let calls = 0;
  const counted: Pick<LabPve, "request" | "token" | "storagePath"> = {
    token: lab.token,
    storagePath: (node, storage) => lab.storagePath(node, storage),
    request: ((...args: Parameters<LabPve["request"]>) => {
      calls++;
      return lab.request(...args);
    }) as LabPve["request"],
  };
  const pve = new InProcessBackend(counted);
  const nodes = ["pve1", "pve2", "pve3"];
  const waitTask = async (t: TaskRef) => {
    for (;;) {
      const s = await pve.task(t);
      if (!s.running) {
        if (!s.ok) throw new Error(`baseline: task ${t.upid} failed: ${s.exitstatus}`);
        return;
      }
      await Bun.sleep(1);
    }
  };
  const reserved = new Set<number>();
  const provision = async (i: number) => {
    const name = `vm-${i}`;
    if (!(await pve.vmConfig("pve1", 9001))) throw new Error("baseline: no template 9001");
    await Promise.all([pve.nodes(), pve.vms()]);
    let vmid = await pve.nextId();
    while (reserved.has(vmid)) vmid++;
    reserved.add(vmid);
    const target = nodes[i % nodes.length]!;
    await waitTask(await pve.clone({ node: "pve1", vmid: 9001, newid: vmid, name, full: true, ...(target !== "pve1" ? { target } : {}), description: `bench ${name}` }));
    await pve.vmConfig(target, vmid);
    await pve.vmStatus(target, vmid);
    await pve.setVmConfig(target, vmid, { sockets: 1, cores: 2, memory: 1024, tags: "capx", net0: "virtio,bridge=vmbr0" });
    await waitTask(await pve.resizeDisk(target, vmid, "scsi0", "12G"));
    const ip = `10.10.${Math.floor((10 + i) / 256)}.${(10 + i) % 256}`;
    const attachment = await pve.putBootstrapData(
      { node: target, vmid },
      {
        userData: "#cloud-config\nruncmd: [echo hello]\n",
        metaData: `instance-id: ${vmid}\nlocal-hostname: ${name}\n`,
        networkConfig: `network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [${ip}/24]\n`,
      },
    );
    await pve.setVmConfig(target, vmid, attachment.config);
    await waitTask(await pve.startVm(target, vmid));
    const r = await pve.agentExec(target, vmid, ["cloud-init", "status"]);
    if (r.exitcode !== 0) throw new Error(`baseline: cloud-init status of ${vmid}: ${r.exitcode}`);
  };
  const t0 = now();
  let next = 0;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < o.count) await provision(next++);
    }),
  );
  const ms = now() - t0;
  await lab.stop();
  rmSync(o.dataDir, { recursive: true, force: true });
  return { ms, calls };
}

const d = await startTestDaemon({ extraArgs: ["--lab", "--lab-latencies", "instant"], config: "storage:\n  synchronous: NORMAL\n" });
const api = new Api(d);
const accessLog = new AccessLogReader(join(d.dataDir, "lab", "pve-access.log"));

async function must(method: "post", path: string, body: unknown): Promise<void> {
  const r = await api[method](path, body);
  if (r.status >= 300) throw new Error(`${path}: ${r.status} ${r.text}`);
}

async function createAll(objs: KObject[]): Promise<void> {
  for (const o of objs) {
    const [group, version] = o.apiVersion!.includes("/") ? o.apiVersion!.split("/") : ["", o.apiVersion!];
    const plural = `${o.kind!.toLowerCase()}s`;
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    await must("post", `${base}/namespaces/${ns}/${plural}`, o);
  }
}

const revision = async () => Number((await api.get<{ metadata: { resourceVersion: string } }>("/api/v1/namespaces")).body.metadata.resourceVersion);
async function reconciles(): Promise<Record<string, number>> {
  const text = (await api.get("/metrics")).text;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^controller_runtime_reconcile_total\{controller="([^"]+)",[^}]*\} (\d+)/gm)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}
const delta = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]).filter(([, v]) => (v as number) > 0)) as Record<string, number>;
const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
/** Waits for the access log's periodic flush (20 ms) to have written every finished request. */
const settleLog = () => Bun.sleep(200);

/**
 * Follows the namespace's ProxmoxMachines and Machines with watches (a list every 100 ms would
 * serialise all of them ten times a second and load the daemon being measured): how many are
 * provisioned, and when the last one got there.
 */
class Progress {
  readonly provisioned = new Set<string>();
  readonly machinesProvisioned = new Set<string>();
  pms = 0;
  #abort = new AbortController();
  #changed: (() => void) | undefined;

  follow(): void {
    const pmPath = `/apis/${INFRA_GROUP}/v1alpha2/namespaces/${ns}/proxmoxmachines`;
    const mPath = `/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/machines`;
    const seen = new Set<string>();
    this.#watch(pmPath, (type, o) => {
      const name = o.metadata.name!;
      if (type === "DELETED") seen.delete(name);
      else seen.add(name);
      this.pms = seen.size;
      if ((o.status as { initialization?: { provisioned?: boolean } } | undefined)?.initialization?.provisioned === true) this.provisioned.add(name);
      else this.provisioned.delete(name);
    });
    this.#watch(mPath, (_type, o) => {
      const phase = (o.status as { phase?: string } | undefined)?.phase ?? "";
      if (phase === "Provisioned" || phase === "Running") this.machinesProvisioned.add(o.metadata.name!);
      else this.machinesProvisioned.delete(o.metadata.name!);
    });
  }

  #watch(path: string, on: (type: string, o: KObject) => void): void {
    void api.stream(`${path}?watch=1&resourceVersion=0`, this.#abort.signal, (type, o) => {
      on(type, o as unknown as KObject);
      this.#changed?.();
    }).catch((e) => {
      if (!this.#abort.signal.aborted) log(`watch ${path} ended: ${String(e)}`);
    });
  }

  /** Resolves at the next change (or after `ms`). */
  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#changed = () => {
        clearTimeout(t);
        this.#changed = undefined;
        resolve();
      };
    });
  }

  stop(): void {
    this.#abort.abort();
  }
}

try {
  await must("post", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await createAll(objects(COUNT));
  for (let t = now(); ; ) {
    const pc = (await api.get<KObject>(`/apis/${INFRA_GROUP}/v1alpha2/namespaces/${ns}/proxmoxclusters/${CLUSTER}`)).body;
    const c = (await api.get<KObject>(`/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/clusters/${CLUSTER}`)).body;
    const pcReady = (pc.status as { initialization?: { provisioned?: boolean } } | undefined)?.initialization?.provisioned;
    const cReady = (c.status as { initialization?: { infrastructureProvisioned?: boolean } } | undefined)?.initialization?.infrastructureProvisioned;
    if (pcReady && cReady) break;
    if (now() - t > 60_000) throw new Error(`the cluster's infrastructure is not provisioned after 60 s: ${JSON.stringify(pc.status)}`);
    await Bun.sleep(50);
  }
  await settleLog();
  log(`cluster infrastructure provisioned; scaling workers to ${COUNT}`);

  const p = new Progress();
  p.follow();
  const rev0 = await revision();
  const rec0 = await reconciles();
  const log0 = accessLog.size();
  const cpu0 = procTimes(String(d.process.pid));
  const wall0 = Date.now();
  const t0 = now();
  const scale = await api.patch(`/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/machinedeployments/workers/scale`, { spec: { replicas: COUNT } }, "application/merge-patch+json");
  if (scale.status !== 200) throw new Error(`scale: ${scale.status} ${scale.text}`);
  let lastLog = t0;
  let firstProvisionedMs: number | undefined;
  while (p.provisioned.size < COUNT || p.machinesProvisioned.size < COUNT) {
    await p.next(1000);
    if (p.provisioned.size > 0) firstProvisionedMs ??= now() - t0;
    if (now() - lastLog > 5000) {
      lastLog = now();
      log(`${((now() - t0) / 1000).toFixed(0)} s: ${p.pms} ProxmoxMachines, ${p.provisioned.size} provisioned, ${p.machinesProvisioned.size} Machines Provisioned`);
    }
    if (now() - t0 > 900_000) throw new Error(`not all ${COUNT} ProxmoxMachines provisioned after 15 minutes: ${p.provisioned.size} provisioned, ${p.machinesProvisioned.size} Machines Provisioned`);
  }
  const provisionedMs = now() - t0;
  const wall1 = Date.now();
  /** Daemon CPU (all threads) over the rollout, ms (jiffies are 10 ms). */
  const daemonCpuMs = (procTimes(String(d.process.pid)) - cpu0) * 10;
  p.stop();
  const writes = (await revision()) - rev0;
  const rolloutReconciles = delta(rec0, await reconciles());
  await settleLog();
  const rollout = accessLog.since(log0);
  const during = rollout.entries.filter((e) => Date.parse(e.ts) <= wall1);
  const errors = during.filter((e) => e.status >= 400).length;
  log(`${COUNT} ProxmoxMachines provisioned in ${(provisionedMs / 1000).toFixed(1)} s: ${during.length} PVE calls (${(during.length / COUNT).toFixed(1)} per machine), ${writes} writes, daemon CPU ${(daemonCpuMs / 1000).toFixed(1)} s`);
  if (Date.parse(during[0]?.ts ?? "") < wall0 - 1000) throw new Error("access log entries from before the scale");

  // Steady state: nothing should be polling Proxmox or reconciling.
  await Bun.sleep(3000);
  await settleLog();
  const steadyLog0 = accessLog.size();
  const steadyRec0 = await reconciles();
  await Bun.sleep(STEADY_MS);
  const steadyReconciles = delta(steadyRec0, await reconciles());
  await settleLog();
  const steadyEntries = accessLog.since(steadyLog0).entries;
  log(`steady state (${STEADY_MS / 1000} s): ${steadyEntries.length} PVE calls, ${total(steadyReconciles)} reconciles ${JSON.stringify(steadyReconciles)}`);

  // Reference: the same number of plain creates, 8 at a time, on the same daemon.
  await must("post", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "baseline" } });
  const b0 = now();
  let next = 0;
  const worker = async () => {
    while (next < writes) {
      const i = next++;
      const r = await api.post("/api/v1/namespaces/baseline/configmaps", configMap("baseline", `cm-${i}`));
      if (r.status !== 201) throw new Error(`baseline create: ${r.status}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const createsMs = now() - b0;
  log(`reference: ${writes} plain creates in ${(createsMs / 1000).toFixed(1)} s`);

  // Baseline: the lab PVE alone, same provisioning calls, same instant latencies.
  const labDir = tempDir("capx-bench-pve-");
  const lab = await labProvisioningBaseline({ dataDir: labDir, count: COUNT, concurrency: 4 });
  log(`baseline: ${COUNT} VMs provisioned straight through the lab PVE in ${(lab.ms / 1000).toFixed(2)} s (${lab.calls} calls, ${(lab.calls / COUNT).toFixed(1)} per VM)`);

  console.log(
    JSON.stringify({
      result: {
        count: COUNT,
        provisionedMs,
        firstProvisionedMs,
        daemonCpuMs,
        writes,
        pveCalls: during.length,
        pveCallsPerMachine: during.length / COUNT,
        pveErrors: errors,
        pveCallsByPattern: breakdown(during as never),
        pveCallsPerVm: perVm(during),
        rolloutReconciles,
        steady: { seconds: STEADY_MS / 1000, pveCalls: steadyEntries.length, pveCallsByPattern: breakdown(steadyEntries as never), reconciles: total(steadyReconciles), reconcilesByController: steadyReconciles },
        baseline: { what: "the same provisioning calls straight through a fresh lab PVE (in-process API), 4 VMs at a time", ms: lab.ms, calls: lab.calls, callsPerVm: lab.calls / COUNT },
        reference: { what: "plain ConfigMap creates, 8 clients, as many as the rollout's writes", creates: writes, ms: createsMs },
      },
    }),
  );
} finally {
  if (process.env.BENCH_DAEMON_LOG) await Bun.write(process.env.BENCH_DAEMON_LOG, d.logs());
  await d.stop();
  if (process.env.BENCH_KEEP) log(`kept ${d.dataDir}`);
  else d.cleanup();
}
