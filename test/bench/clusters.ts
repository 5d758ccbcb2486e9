/**
 * Bench phase "clusters": N single-node Talos clusters (1 control plane, 0 workers) in lab mode
 * with instant latencies, a fresh daemon per N, timed from the first create until every Cluster
 * is `Available`. The lab runs a bench inventory (`--lab-inventory`): vmbr0 on 10.0.0.0/12 and
 * nodes big enough for 1,000 VMs; cluster i has its own /24 (10.a.b.0: endpoint .10, node pool
 * .20–.29). Measured: wall time, per-cluster cost (wall / N), the daemon's CPU time, peak RSS
 * (VmHWM of /proc/<pid>/status, and VmRSS sampled every 500 ms), committed writes and reconciles.
 *
 * Key generation: every cluster's Talos secrets bundle (src/providers/talos/secrets.ts) holds an
 * RSA-4096 service-account key, generated off the event loop; nothing in the daemon counts or
 * times it. So this phase times it here, in the same run, before the daemon starts: a sample of
 * RSA-4096 keys and of whole bundles (`generateSecretsBundle`, the daemon's own code), one at a
 * time, wall and CPU each. Key share = B × median RSA-4096 time / the daemon's wall time (and
 * B × median RSA-4096 CPU / the daemon's CPU time), B = the bundles the daemon made (its
 * `<cluster>-talos` Secrets, counted in its database after it stopped: N when every cluster came
 * up). Baseline: N × median bundle time, the least the appliance has to spend on one core for N
 * clusters' secrets.
 *
 * Run alone: `bun test/bench/clusters.ts '{"count":100}'`; prints `{"result": …}`. Aids:
 * BENCH_DAEMON_LOG=<file>, BENCH_KEEP=1, CAPX_DAEMON_CPU_PROF=<dir>, CAPX_HEAP_STATS=<file> (memory by type at the end),
 * CAPX_MEMORY_SERIES=<file> (+ CAPX_MEMORY_SERIES_MS), CAPX_PACER_DIAG=1 (each pacer collection logs what it freed, by type).
 * @module
 */
import { Database } from "bun:sqlite";
import { generateKeyPair } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KObject } from "../../src/lib/kobject.ts";
import { generateSecretsBundle } from "../../src/providers/talos/secrets.ts";
import { Api } from "../harness/api.ts";
import { startTestDaemon, tempDir } from "../harness/daemon.ts";
import { median, now, procTimes, round, threadTimes } from "./common.ts";

const opts = JSON.parse(process.argv[2] ?? "{}") as { count?: number; keySamples?: number; timeoutS?: number };
const COUNT = opts.count ?? 10;
const KEY_SAMPLES = opts.keySamples ?? 10;
/** Give up after this long and report how far it got. */
const TIMEOUT_MS = (opts.timeoutS ?? 900) * 1000;
const CLIENTS = 8;
const ns = "bench";
const log = (msg: string) => process.stderr.write(`[clusters ${COUNT}] ${msg}\n`);

/** Room for 1,000 VMs of 2 GiB / 10 GB; vmbr0 wide enough for a /24 per cluster. */
const INVENTORY = `nodes:
  - { name: pve1, memory: 1048576, cpus: 512 }
  - { name: pve2, memory: 1048576, cpus: 512 }
  - { name: pve3, memory: 1048576, cpus: 512 }
storages:
  - { id: local, type: dir, content: [iso, snippets, vztmpl], size: 100G }
  - { id: local-lvm, type: lvmthin, content: [images], size: 800G }
  - { id: shared, type: nfs, content: [images, iso, snippets], shared: true, size: 64T }
bridges:
  - { name: vmbr0, cidr: 10.0.0.0/12, gateway: 10.0.0.1 }
dns: { nameservers: [10.0.0.1], search: [lab.local] }
templates:
  - { vmid: 9000, node: pve1, name: talos-nocloud, tags: [talos], storage: shared, disk: 10G, cores: 2, memory: 2048, bridge: vmbr0, guest: { os: talos, agent: true, cloudInit: false } }
pools: []
`;

/** Cluster i's /24 on vmbr0: 10.(1 + i / 256).(i % 256).0. */
const subnet = (i: number) => `10.${1 + Math.floor(i / 256)}.${i % 256}`;

function clusterObjects(i: number): KObject[] {
  const name = `c${i}`;
  const net = subnet(i);
  const meta = (n: string) => ({ name: n, namespace: ns });
  return [
    {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1",
      kind: "ProxmoxCluster",
      metadata: meta(name),
      spec: {
        controlPlaneEndpoint: { host: `${net}.10`, port: 6443 },
        ipv4Config: { addresses: [`${net}.20-${net}.29`], prefix: 12, gateway: "10.0.0.1" },
        dnsServers: ["10.0.0.1"],
        allowedNodes: ["pve1", "pve2", "pve3"],
      },
    },
    {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1",
      kind: "ProxmoxMachineTemplate",
      metadata: meta(`${name}-control-plane`),
      spec: {
        template: {
          spec: {
            sourceNode: "pve1",
            templateID: 9000,
            format: "qcow2",
            full: true,
            numSockets: 1,
            numCores: 2,
            memoryMiB: 2048,
            disks: { bootVolume: { disk: "scsi0", sizeGb: 10 } },
            network: { default: { bridge: "vmbr0", model: "virtio" } },
            checks: { skipCloudInitStatus: true },
          },
        },
      },
    },
    {
      apiVersion: "controlplane.cluster.x-k8s.io/v1alpha3",
      kind: "TalosControlPlane",
      metadata: meta(`${name}-control-plane`),
      spec: {
        version: "v1.32.4",
        replicas: 1,
        infrastructureTemplate: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1", kind: "ProxmoxMachineTemplate", name: `${name}-control-plane` },
        controlPlaneConfig: { controlplane: { generateType: "controlplane", talosVersion: "v1.13" } },
      },
    },
    {
      apiVersion: "cluster.x-k8s.io/v1beta1",
      kind: "Cluster",
      metadata: meta(name),
      spec: {
        clusterNetwork: { pods: { cidrBlocks: ["10.244.0.0/16"] }, services: { cidrBlocks: ["10.96.0.0/12"] } },
        infrastructureRef: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1", kind: "ProxmoxCluster", name },
        controlPlaneRef: { apiVersion: "controlplane.cluster.x-k8s.io/v1alpha3", kind: "TalosControlPlane", name: `${name}-control-plane` },
      },
    },
  ];
}

function rsa4096(): Promise<void> {
  return new Promise((resolve, reject) =>
    generateKeyPair("rsa", { modulusLength: 4096, publicExponent: 0x10001, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }, (e) =>
      e ? reject(e) : resolve(),
    ),
  );
}

/** Wall and CPU (all threads of this process) ms of `f`, `n` times, one at a time. */
async function sample(n: number, f: () => Promise<unknown>): Promise<{ wallMs: number[]; cpuMs: number[] }> {
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = now();
    await f();
    wallMs.push(round(now() - t0, 1));
    const c = process.cpuUsage(c0);
    cpuMs.push(round((c.user + c.system) / 1000, 1));
  }
  return { wallMs, cpuMs };
}

function status(pid: number): { rssMiB: number; hwmMiB: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN) / 1024;
  return { rssMiB: kb("VmRSS"), hwmMiB: kb("VmHWM") };
}

// The baseline and the key share's unit, before the daemon runs (nothing else of ours is busy).
await generateSecretsBundle(); // loads @peculiar/x509 once, outside the sample
const keys = await sample(KEY_SAMPLES, rsa4096);
const bundles = await sample(KEY_SAMPLES, () => generateSecretsBundle());
log(`RSA-4096 key: median ${median(keys.wallMs)} ms (CPU ${median(keys.cpuMs)} ms); whole secrets bundle: median ${median(bundles.wallMs)} ms (${KEY_SAMPLES} each)`);

const inventory = join(tempDir("capx-bench-inv-"), "inventory.yaml");
writeFileSync(inventory, INVENTORY);
const d = await startTestDaemon({ extraArgs: ["--lab", "--lab-latencies", "instant", "--lab-inventory", inventory], config: "storage:\n  synchronous: NORMAL\n" });
const pid = d.process.pid!;
const api = new Api(d);

async function reconciles(): Promise<Record<string, number>> {
  const text = (await api.get("/metrics")).text;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^controller_runtime_reconcile_total\{controller="([^"]+)",[^}]*\} (\d+)/gm)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}
const revision = async () => Number((await api.get<{ metadata: { resourceVersion: string } }>("/api/v1/namespaces")).body.metadata.resourceVersion);
const plural = (kind: string) => `${kind.toLowerCase()}s`;

/** Follows Clusters (Available) and Machines (phase) with watches: no lists loading the daemon. */
class Progress {
  readonly available = new Set<string>();
  readonly phases = new Map<string, string>();
  #abort = new AbortController();
  #changed: (() => void) | undefined;

  follow(): void {
    this.#watch(`/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/clusters`, (type, o) => {
      const conds = (o.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
      if (type !== "DELETED" && conds.some((c) => c.type === "Available" && c.status === "True")) this.available.add(o.metadata.name!);
      else this.available.delete(o.metadata.name!);
    });
    this.#watch(`/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/machines`, (type, o) => {
      if (type === "DELETED") this.phases.delete(o.metadata.name!);
      else this.phases.set(o.metadata.name!, (o.status as { phase?: string } | undefined)?.phase ?? "Pending");
    });
  }

  byPhase(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.phases.values()) out[p] = (out[p] ?? 0) + 1;
    return out;
  }

  #watch(path: string, on: (type: string, o: KObject) => void): void {
    void api
      .stream(`${path}?watch=1&resourceVersion=0`, this.#abort.signal, (type, o) => {
        on(type, o as unknown as KObject);
        this.#changed?.();
      })
      .catch((e) => {
        if (!this.#abort.signal.aborted) log(`watch ${path} ended: ${String(e)}`);
      });
  }

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

/** The secrets bundles the daemon generated: its `<cluster>-talos` Secrets (read after it stopped). */
function bundlesIn(dataDir: string): number {
  const db = new Database(join(dataDir, "state.db"), { readonly: true });
  try {
    const row = db.query("SELECT COUNT(*) AS n FROM objects WHERE resource LIKE '%secrets' AND namespace = ? AND name LIKE '%-talos'").get(ns) as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

let result: { count: number; wallMs: number; daemonCpuMs: number; keys: Record<string, unknown>; [k: string]: unknown } | undefined;
try {
  const r = await api.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  if (r.status !== 201) throw new Error(`namespace: ${r.status} ${r.text}`);
  const idle = status(pid);
  const p = new Progress();
  p.follow();
  const rev0 = await revision();
  const rec0 = await reconciles();
  const cpu0 = procTimes(String(pid));
  const threads0 = threadTimes(String(pid));
  let peakRss = idle.rssMiB;
  const rssTimer = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, status(pid).rssMiB);
    } catch {
      // exiting
    }
  }, 500);

  const t0 = now();
  let next = 0;
  const createClient = async () => {
    while (next < COUNT) {
      for (const o of clusterObjects(next++)) {
        const [group, version] = o.apiVersion!.split("/") as [string, string];
        const res = await api.post(`/apis/${group}/${version}/namespaces/${ns}/${plural(o.kind!)}`, o);
        if (res.status !== 201) throw new Error(`create ${o.kind}/${o.metadata.name}: ${res.status} ${res.text}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, createClient));
  const appliedMs = now() - t0;
  log(`${COUNT} clusters applied (${COUNT * 4} objects, ${CLIENTS} clients) in ${(appliedMs / 1000).toFixed(1)} s`);

  let lastLog = t0;
  let firstAvailableMs: number | undefined;
  const halfway: { ms?: number } = {};
  while (p.available.size < COUNT && now() - t0 < TIMEOUT_MS) {
    await p.next(1000);
    if (p.available.size > 0) firstAvailableMs ??= now() - t0;
    if (p.available.size >= COUNT / 2) halfway.ms ??= now() - t0;
    if (now() - lastLog > 10_000) {
      lastLog = now();
      log(`${((now() - t0) / 1000).toFixed(0)} s: ${p.available.size}/${COUNT} Available; Machines ${JSON.stringify(p.byPhase())}; RSS ${status(pid).rssMiB.toFixed(0)} MiB`);
    }
  }
  const wallMs = now() - t0;
  clearInterval(rssTimer);
  const completed = p.available.size >= COUNT;
  const end = status(pid);
  peakRss = Math.max(peakRss, end.rssMiB);
  const daemonCpuMs = (procTimes(String(pid)) - cpu0) * 10;
  // Ended threads' time is lost here, so the sum can fall short of daemonCpuMs.
  const threads1 = threadTimes(String(pid));
  const daemonCpuMsByThread = Object.fromEntries(
    Object.entries(threads1).map(([k, v]) => [k, (v - (threads0[k] ?? 0)) * 10] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]),
  );
  p.stop();
  const writes = (await revision()) - rev0;
  const rec1 = await reconciles();
  const rolloutReconciles = Object.fromEntries(Object.entries(rec1).map(([k, v]) => [k, v - (rec0[k] ?? 0)]).filter(([, v]) => (v as number) > 0)) as Record<string, number>;
  log(
    `${completed ? "all" : `only ${p.available.size} of`} ${COUNT} Clusters Available after ${(wallMs / 1000).toFixed(1)} s (${(wallMs / COUNT).toFixed(0)} ms per cluster); ` +
      `daemon CPU ${(daemonCpuMs / 1000).toFixed(1)} s, peak RSS ${end.hwmMiB.toFixed(0)} MiB, ${writes} writes`,
  );

  const keyMs = median(keys.wallMs);
  const keyCpuMs = median(keys.cpuMs);
  const bundleMs = median(bundles.wallMs);
  result = {
        count: COUNT,
        completed,
        available: p.available.size,
        machinesByPhase: p.byPhase(),
        wallMs,
        appliedMs,
        firstAvailableMs,
        halfAvailableMs: halfway.ms,
        perClusterMs: wallMs / COUNT,
        daemonCpuMs,
        daemonCpuMsByThread,
        rss: { idleMiB: round(idle.rssMiB, 1), peakHwmMiB: round(end.hwmMiB, 1), peakSampledMiB: round(peakRss, 1), endMiB: round(end.rssMiB, 1) },
        writes,
        reconciles: Object.values(rolloutReconciles).reduce((a, b) => a + b, 0),
        reconcilesByController: rolloutReconciles,
        keys: {
          how: "timed in the bench process before the daemon started, one at a time: RSA-4096 keys (node:crypto generateKeyPair, as secrets.ts) and whole bundles (generateSecretsBundle)",
          samples: KEY_SAMPLES,
          rsa4096: { medianMs: keyMs, medianCpuMs: keyCpuMs, wallMs: keys.wallMs, cpuMs: keys.cpuMs },
          bundle: { medianMs: bundleMs, medianCpuMs: median(bundles.cpuMs), wallMs: bundles.wallMs },
        },
        baseline: { what: "N × median secrets-bundle generation (one at a time, same machine, same run)", ms: COUNT * bundleMs },
  };
} finally {
  if (process.env.BENCH_DAEMON_LOG) await Bun.write(process.env.BENCH_DAEMON_LOG, d.logs());
  if (process.env.CAPX_HEAP_STATS) {
    process.kill(pid, "SIGUSR2");
    await Bun.sleep(5000);
  }
  await d.stop();
  if (result) {
    const bundles = bundlesIn(d.dataDir);
    const rsa = result.keys.rsa4096 as { medianMs: number; medianCpuMs: number };
    Object.assign(result.keys, { bundlesGenerated: bundles, shareOfWall: (bundles * rsa.medianMs) / result.wallMs, shareOfDaemonCpu: (bundles * rsa.medianCpuMs) / result.daemonCpuMs });
    console.log(JSON.stringify({ result }));
  }
  if (process.env.BENCH_KEEP) log(`kept ${d.dataDir}`);
  else d.cleanup();
}
