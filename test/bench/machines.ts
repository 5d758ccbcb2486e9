/**
 * Bench phase "machines": how long N Machines take to reach Running with the test provider
 * (a lab-mode daemon, a MachineDeployment scaled 0 → N, the provider marking bootstrap and
 * infrastructure ready and registering Nodes in the lab workload API), against a baseline
 * measured in the same run on the same daemon: as many plain API creates (ConfigMaps, 8 at a
 * time) as the rollout committed writes. Then the controllers' reconciles over 10 s of steady
 * state. Run alone: `bun test/bench/machines.ts '{"count":1000}'`; prints `{"result": …}`.
 * Development aids: BENCH_VERBOSE=1 prints the controller metrics, BENCH_DAEMON_LOG=<file>
 * saves the daemon log, BENCH_KEEP=1 keeps its data dir, CAPX_DAEMON_CPU_PROF=<dir> profiles it.
 * @module
 */
import { startTestDaemon } from "../harness/daemon.ts";
import { cluster, machine, machineDeployment, templates } from "../e2e/capi/manifests.ts";
import { TestProvider } from "../e2e/capi/test-provider.ts";
import { configMap, now } from "./common.ts";

const opts = JSON.parse(process.argv[2] ?? "{}") as { count?: number };
const COUNT = opts.count ?? 1000;
const ns = "bench";
const log = (msg: string) => process.stderr.write(`[machines] ${msg}\n`);

const d = await startTestDaemon({ extraArgs: ["--lab"], config: "storage:\n  synchronous: NORMAL\n" });
const provider = new TestProvider(d);
const api = provider.api;

async function must(method: "post", path: string, body: unknown): Promise<void> {
  const r = await api[method](path, body);
  if (r.status >= 300) throw new Error(`${path}: ${r.status} ${r.text}`);
}

async function createAll(objs: { apiVersion: string; kind: string; metadata: { name: string } }[]): Promise<void> {
  for (const o of objs) {
    const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
    const plural = `${o.kind.toLowerCase()}${o.kind.endsWith("s") ? "es" : "s"}`;
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    await must("post", `${base}/namespaces/${ns}/${plural}`, o);
  }
}

const revision = async () => Number((await api.get<{ metadata: { resourceVersion: string } }>("/api/v1/namespaces")).body.metadata.resourceVersion);
const reconciles = async () => {
  const text = (await api.get("/metrics")).text;
  let total = 0;
  for (const m of text.matchAll(/^controller_runtime_reconcile_total\{[^}]*\} (\d+)/gm)) total += Number(m[1]);
  return total;
};

try {
  await provider.install();
  provider.start();
  await must("post", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await provider.prepareCluster(ns, "c", "10.10.0.40");
  await createAll([...cluster(ns, "c", "10.10.0.40"), ...machine(ns, "c", "c-cp-0", { controlPlane: true }), ...templates(ns, "workers")] as never);
  for (;;) {
    const cp = (await api.get<{ status?: { phase?: string } }>(`/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/machines/c-cp-0`)).body;
    if (cp.status?.phase === "Running") break;
    await Bun.sleep(50);
  }
  await createAll([machineDeployment(ns, "c", "workers", { replicas: 0 })] as never);
  log(`control plane Running; scaling workers to ${COUNT}`);

  const rev0 = await revision();
  const t0 = now();
  const scale = await api.patch(`/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/machinedeployments/workers/scale`, { spec: { replicas: COUNT } }, "application/merge-patch+json");
  if (scale.status !== 200) throw new Error(`scale: ${scale.status} ${scale.text}`);
  let lastLog = t0;
  for (;;) {
    const md = (await api.get<{ status?: { availableReplicas?: number; readyReplicas?: number; replicas?: number } }>(`/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/machinedeployments/workers`)).body;
    if (md.status?.availableReplicas === COUNT) break;
    if (now() - lastLog > 5000) {
      lastLog = now();
      log(`${((now() - t0) / 1000).toFixed(0)} s: ${md.status?.replicas ?? 0} machines, ${md.status?.availableReplicas ?? 0} available`);
    }
    if (now() - t0 > 600_000) throw new Error(`not all ${COUNT} Machines available after 10 minutes`);
    await Bun.sleep(100);
  }
  const machinesMs = now() - t0;
  if (process.env.BENCH_VERBOSE) log((await api.get("/metrics")).text.split("\n").filter((l) => l.startsWith("controller_runtime") || l.startsWith("workqueue") || l.startsWith("apiserver_request_total")).join("\n"));
  const writes = (await revision()) - rev0;
  log(`${COUNT} Machines Running and available in ${(machinesMs / 1000).toFixed(1)} s (${writes} writes)`);

  // Steady state: nothing should be reconciling.
  await Bun.sleep(3000);
  const r0 = await reconciles();
  await Bun.sleep(10_000);
  const steadyReconciles = (await reconciles()) - r0;
  provider.stop();

  // Baseline: the same number of plain creates, 8 at a time, on the same daemon.
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
  const baselineMs = now() - b0;
  log(`baseline: ${writes} creates in ${(baselineMs / 1000).toFixed(1)} s`);
  console.log(JSON.stringify({ result: { count: COUNT, machinesMs, writes, baselineMs, steadyReconciles } }));
} finally {
  if (process.env.BENCH_DAEMON_LOG) await Bun.write(process.env.BENCH_DAEMON_LOG, d.logs());
  provider.stop();
  await d.stop();
  if (process.env.BENCH_KEEP) log(`kept ${d.dataDir}`);
  else d.cleanup();
}
