/**
 * Shared pieces of the Cluster API whole-process tests: a lab-mode daemon with the test
 * provider running, kubectl, and waiting helpers that say what they waited for.
 * @module
 */
import type { Api } from "../../harness/api.ts";
import { startTestDaemon, type TestDaemon } from "../../harness/daemon.ts";
import { Kubectl } from "../../harness/kubectl.ts";
import { CAPI, cluster, machine, toYaml } from "./manifests.ts";
import { TestProvider, type LabWorkloadApi } from "./test-provider.ts";

export type K = Record<string, unknown> & {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string; resourceVersion?: string; ownerReferences?: { kind: string; name: string }[] };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
};

export interface Env {
  d: TestDaemon;
  api: Api;
  k: Kubectl;
  provider: TestProvider;
}

export async function startEnv(kubectl: string): Promise<Env> {
  const d = await startTestDaemon({ extraArgs: ["--lab"], config: "storage:\n  synchronous: NORMAL\n" });
  const provider = new TestProvider(d);
  await provider.install();
  provider.start();
  return { d, api: provider.api, k: new Kubectl(kubectl, d.kubeconfig), provider };
}

export async function stopEnv(e: Env | undefined): Promise<void> {
  e?.provider.stop();
  await e?.d.stop();
  e?.d.cleanup();
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, e?: Env): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      const errors = e?.d
        .logs()
        .split("\n")
        .filter((l) => /"level":"(error|warn)"/.test(l))
        .slice(-15)
        .join("\n");
      throw new Error(`timed out waiting for ${what} (last: ${String(last)})${errors ? `\ndaemon warnings:\n${errors}` : ""}`);
    }
    await Bun.sleep(50);
  }
}

export function condition(o: K | undefined, type: string) {
  return o?.status?.conditions?.find((c) => c.type === type);
}

export const isTrue = (o: K | undefined, type: string) => condition(o, type)?.status === "True";

export async function list(api: Api, path: string): Promise<K[]> {
  const r = await api.get<{ items: K[] }>(path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
  return r.body.items;
}

export async function get(api: Api, path: string): Promise<K | undefined> {
  const r = await api.get<K>(path);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
  return r.body;
}

export const capiPath = (ns: string, plural: string, name = "") => `/apis/${CAPI}/namespaces/${ns}/${plural}${name ? `/${name}` : ""}`;

export async function apply(e: Env, objs: unknown[]): Promise<string> {
  return e.k.ok(["apply", "-f", "-"], { input: toYaml(objs) });
}

/** A namespace with a Cluster (test infrastructure, lab endpoint) and one control-plane Machine Running. */
export async function clusterWithControlPlane(e: Env, ns: string, name: string, host: string): Promise<LabWorkloadApi> {
  await e.k.ok(["create", "namespace", ns]);
  const w = await e.provider.prepareCluster(ns, name, host);
  await apply(e, [...cluster(ns, name, host), ...machine(ns, name, `${name}-cp-0`, { controlPlane: true })]);
  await waitFor(`${ns}/${name} control plane initialized`, async () => isTrue(await get(e.api, capiPath(ns, "clusters", name)), "ControlPlaneInitialized"), 30_000, e);
  await waitFor(`${ns}/${name}-cp-0 Running`, async () => (await get(e.api, capiPath(ns, "machines", `${name}-cp-0`)))?.status?.phase === "Running", 30_000, e);
  return w;
}

export async function machinesOf(e: Env, ns: string, selector: string): Promise<K[]> {
  return list(e.api, `${capiPath(ns, "machines")}?labelSelector=${encodeURIComponent(selector)}`);
}

/** Waits until exactly `n` Machines match, all Running and Available, none deleting. */
export async function waitRunning(e: Env, ns: string, selector: string, n: number, timeoutMs = 30_000): Promise<K[]> {
  return waitFor(
    `${n} Running Machines in ${ns} (${selector})`,
    async () => {
      const ms = await machinesOf(e, ns, selector);
      const ok = ms.length === n && ms.every((m) => !m.metadata.deletionTimestamp && m.status?.phase === "Running" && isTrue(m, "Available"));
      return ok ? ms : undefined;
    },
    timeoutMs,
    e,
  );
}
