/**
 * Upstream-data check (reads ../shared/reference): CAPMOX's own cluster templates
 * (`capi/templates/capmox-main/cluster-template*.yaml`), placeholders substituted as
 * `clusterctl generate cluster` does with test/fixtures/capmox/values.env (1 control plane,
 * 1 worker, 1 load balancer), applied unmodified with kubectl to the daemon in lab mode, one after
 * the other on the same lab:
 * - each reaches `Available` (the CNI ConfigMaps applied before each: a CRS owns its resources, as
 *   upstream, so deleting a flavor's CRS garbage-collects them); every workload Node is Ready with the `proxmox://<uuid>` provider ID
 *   of its ProxmoxMachine; the CNI flavors' ClusterResourceSets (their ConfigMaps from
 *   test/fixtures/capmox/cni-configmaps.yaml) put their objects into the workload API; the
 *   proxmox-labels flavor's Node labels name the PVE node; deleting the Cluster and then the file
 *   leaves no VM on the lab PVE, no IP address and nothing in the namespace but Events and the
 *   fixture ConfigMaps;
 * - `cluster-template-external-creds.yaml` needs the lab PVE's token in the inventory: its own check,
 *   capmox-external-creds.check.ts;
 * - `cluster-template-flatcar.yaml` (`format: ignition`) is refused with the ignition message,
 *   the `cluster-class*` files with the ClusterClass message;
 * - on cluster-template.yaml: the control plane scales 1 → 3 → 1 keeping etcd quorum (the lab
 *   etcd timeline), and a Kubernetes version bump rolls every machine, control plane and workers.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KObject } from "../../src/lib/kobject.ts";
import { substituteTemplate } from "../harness/capmox-templates.ts";
import { REPO, startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("capmox templates in lab mode");
const TEMPLATES = join(REPO, "../shared/reference/capi/templates/capmox-main");
const CNI_CONFIGMAPS = join(REPO, "test/fixtures/capmox/cni-configmaps.yaml");
const NAME = "capmox-e2e";
const SMALL = { CONTROL_PLANE_MACHINE_COUNT: "1", WORKER_MACHINE_COUNT: "1", LOAD_BALANCER_MACHINE_COUNT: "1" };
const quorum = (n: number) => Math.floor(n / 2) + 1;

interface Timeline {
  members: { hostname: string }[];
  timeline: { event: string; hostname: string; members: number }[];
}

let d: TestDaemon;
let k: Kubectl;
const dir = tempDir("capx-capmox-lab-");

beforeAll(async () => {
  if (!binary) return;
  d = await startTestDaemon({ extraArgs: ["--lab", "--lab-latencies", "instant", "--lab-pve-listen", "127.0.0.1:0"], config: "storage:\n  synchronous: NORMAL\n" });
  k = new Kubectl(binary, d.kubeconfig);
});
afterAll(async () => {
  if (process.env.CAPMOX_LAB_DAEMON_LOG) writeFileSync(process.env.CAPMOX_LAB_DAEMON_LOG, d?.logs() ?? "");
  await d?.stop();
  d?.cleanup();
});

function templateFile(file: string, overrides: Record<string, string> = {}): string {
  const out = join(dir, file);
  writeFileSync(out, substituteTemplate(join(TEMPLATES, file), { ...SMALL, ...overrides }));
  return out;
}

const items = async (resource: string): Promise<KObject[]> => (JSON.parse(await k.ok(["get", resource, "-o", "json"])) as { items: KObject[] }).items;
const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${d.logs().split("\n").slice(-30).join("\n")}`);
    await Bun.sleep(200);
  }
};

/** The lab PVE's VMs, through its HTTPS API with the token it wrote. */
async function labVms(): Promise<{ vmid: number; template: number }[]> {
  const url = /"url":"(https:\/\/127\.0\.0\.1:\d+)"/.exec(d.logs())![1]!;
  const token = readFileSync(join(d.dataDir, "lab", "pve-token"), "utf8").trim();
  const res = await fetch(`${url}/api2/json/cluster/resources?type=vm`, { headers: { Authorization: `PVEAPIToken=${token}` }, tls: { ca: readFileSync(join(d.dataDir, "lab", "pve-root-ca.pem"), "utf8") } } as RequestInit);
  return ((await res.json()) as { data: { vmid: number; template: number }[] }).data;
}

/** The lab etcd membership of the cluster behind the templates' endpoint (10.10.0.5:6443). */
function etcd(): Timeline {
  const root = join(d.dataDir, "lab", "kubeadm");
  const [only] = readdirSync(root).filter((x) => x.startsWith("10.10.0.5"));
  return JSON.parse(readFileSync(join(root, only!, "etcd.json"), "utf8")) as Timeline;
}

async function workload(): Promise<Kubectl> {
  const kc = Buffer.from(await k.ok(["get", "secret", `${NAME}-kubeconfig`, "-o", "jsonpath={.data.value}"]), "base64").toString();
  const file = join(dir, `${NAME}.kubeconfig`);
  writeFileSync(file, kc);
  return new Kubectl(binary!, file);
}

async function waitAvailable(): Promise<void> {
  const r = await k.run(["wait", "--for=condition=Available", `cluster/${NAME}`, "--timeout=90s"]);
  if (r.code !== 0) console.log(await k.ok(["get", "clusters,kcp,machines,proxmoxmachines", "-o", "wide"]).catch(String), d.logs().split("\n").slice(-40).join("\n"));
  expect(r.code).toBe(0);
}

/** Every Machine has a Ready Node carrying its ProxmoxMachine's provider ID. */
async function nodesMatchMachines(w: Kubectl): Promise<KObject[]> {
  const machines = await items("machines");
  const wanted = machines.map((m) => (m.spec as { providerID?: string }).providerID).sort();
  let nodes: KObject[] = [];
  await until("a Ready Node for every Machine", async () => {
    nodes = (JSON.parse(await w.ok(["get", "nodes", "-o", "json"])) as { items: KObject[] }).items;
    const ready = nodes.filter((n) => ((n.status as { conditions?: { type: string; status: string }[] }).conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"));
    return ready.length === machines.length;
  });
  expect(nodes.map((n) => (n.spec as { providerID?: string }).providerID).sort()).toEqual(wanted);
  for (const id of wanted) expect(id).toMatch(/^proxmox:\/\/[0-9a-f-]{36}$/);
  return nodes;
}

/** Deletes the Cluster, then what else the file created; then nothing of it is left. */
async function deleteAndCheckEmpty(file: string): Promise<void> {
  await k.ok(["delete", "cluster", NAME, "--timeout=90s"], { timeoutMs: 100_000 });
  await k.ok(["delete", "-f", file, "--ignore-not-found", "--timeout=60s"]);
  expect((await labVms()).filter((v) => !v.template)).toEqual([]);
  expect(await items("ipaddresses")).toEqual([]);
  const fixtures = new Set(["calico", "cilium", "metallb"]);
  const left = (JSON.parse(await k.ok(["get", "clusters,machines,machinesets,machinedeployments,proxmoxclusters,proxmoxmachines,kubeadmcontrolplanes,secrets,configmaps,ipaddressclaims,kubeadmconfigs,kubeadmconfigtemplates,proxmoxmachinetemplates,clusterresourcesets,clusterresourcesetbindings,machinehealthchecks", "-o", "json"])) as { items: KObject[] }).items
    .filter((o) => !(o.kind === "ConfigMap" && fixtures.has(o.metadata.name!)) && o.metadata.name !== "kube-root-ca.crt")
    .map((o) => `${o.kind}/${o.metadata.name}`);
  expect(left).toEqual([]);
}

const files = binary ? readdirSync(TEMPLATES).filter((f) => f.startsWith("cluster-template") && f.endsWith(".yaml")).sort() : [];
const runnable = files.filter((f) => f !== "cluster-template-flatcar.yaml" && f !== "cluster-template-external-creds.yaml");

describe.skipIf(!binary)("CAPMOX cluster templates in lab mode", () => {
  it("covers every cluster-template flavor CAPMOX ships", () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    expect(files).toContain("cluster-template.yaml");
  });

  for (const file of runnable) {
    it(`${file}: Available, Nodes Ready with their provider IDs, deleted without a trace`, async () => {
      const path = templateFile(file);
      // Again for each flavor: a ClusterResourceSet becomes an owner of its ConfigMaps (as upstream),
      // so deleting the previous flavor's CRS garbage-collected them.
      await k.ok(["apply", "-f", CNI_CONFIGMAPS]);
      await k.ok(["apply", "-f", path]);
      await waitAvailable();
      const w = await workload();
      const nodes = await nodesMatchMachines(w);
      const docs = parseAllDocuments(readFileSync(path, "utf8")).map((x) => x.toJS() as KObject).filter(Boolean);
      if (docs.some((o) => o.kind === "ClusterResourceSet")) {
        await until("the ClusterResourceSet applied", async () => (await items("clusterresourcesets")).every((c) => ((c.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((x) => x.type === "ResourcesApplied" && x.status === "True")));
        const cni = file.includes("calico") ? ["daemonset", "calico-node", "calico-system"] : ["daemonset", "cilium", "kube-system"];
        expect((await w.ok(["get", cni[0]!, cni[1]!, "-n", cni[2]!, "-o", "name"])).trim()).toBe(`daemonset.apps/${cni[1]}`);
        if (file.includes("load-balancer")) expect((await w.ok(["get", "ipaddresspools.metallb.io", "-n", "metallb-system", "-o", "name"])).trim().split("\n").length).toBe(2);
      }
      if (file === "cluster-template-proxmox-labels.yaml") {
        for (const n of nodes) expect(n.metadata.labels?.["node.kubernetes.io/proxmox-node"]).toMatch(/^pve[123]$/);
      }
      if (file === "cluster-template.yaml") await scaleAndUpgrade(w);
      await deleteAndCheckEmpty(path);
    }, 300_000);
  }

  it("cluster-template-flatcar.yaml (format: ignition) is refused with the ignition message", async () => {
    const path = templateFile("cluster-template-flatcar.yaml");
    const r = await k.run(["apply", "-f", path]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("this appliance does not support ignition (Flatcar) yet");
    expect(r.stderr).toContain(`KubeadmControlPlane.controlplane.cluster.x-k8s.io "${NAME}-control-plane" is invalid`);
    await k.ok(["delete", "-f", path, "--ignore-not-found", "--timeout=60s"]);
    expect(await items("kubeadmcontrolplanes")).toEqual([]);
  }, 120_000);

  for (const file of binary ? readdirSync(TEMPLATES).filter((f) => f.startsWith("cluster-class")).sort() : []) {
    it(`${file} is refused with the ClusterClass message`, async () => {
      const path = templateFile(file);
      const r = await k.run(["apply", "-f", path]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/ClusterClass.cluster.x-k8s.io "[^"]+" is invalid: spec: Forbidden: ClusterClass \(managed topologies\) is not supported by capx-appliance yet/);
      expect(await items("clusterclasses")).toEqual([]);
      await k.ok(["delete", "-f", path, "--ignore-not-found"]);
    }, 60_000);
  }
});

/** cluster-template.yaml: control plane 1 → 3 → 1 with quorum, then v1.32.0 → v1.33.1 everywhere. */
async function scaleAndUpgrade(w: Kubectl): Promise<void> {
  const kcp = `kubeadmcontrolplane/${NAME}-control-plane`;
  const cpMachines = async () => (await items("machines")).filter((m) => m.metadata.labels?.["cluster.x-k8s.io/control-plane"] !== undefined && !m.metadata.deletionTimestamp);
  const settle = async (n: number) => {
    await until(`${n} control-plane replicas`, async () => {
      const o = JSON.parse(await k.ok(["get", kcp, "-o", "json"])) as KObject;
      const s = o.status as { readyReplicas?: number; replicas?: number };
      return s.readyReplicas === n && s.replicas === n && (await cpMachines()).length === n && etcd().members.length === n;
    }, 90_000);
  };
  const start = etcd().timeline.length;
  await k.ok(["scale", kcp, "--replicas=3"]);
  await settle(3);
  const up = etcd().timeline.length;
  await k.ok(["scale", kcp, "--replicas=1"]);
  await settle(1);
  const tl = etcd().timeline;
  expect(tl.slice(start, up).map((t) => t.event)).toEqual(["join", "join"]);
  expect(tl.slice(up).map((t) => t.members)).toEqual([2, 1]); // one member at a time, never two gone at once
  expect(Math.min(...tl.slice(up).map((t) => t.members))).toBeGreaterThanOrEqual(quorum(1));
  const left = (await cpMachines()).map((m) => m.metadata.name!);
  expect(etcd().members.map((m) => m.hostname)).toEqual(left);
  await nodesMatchMachines(w);

  // a version bump rolls every machine
  const before = new Set((await items("machines")).map((m) => m.metadata.name));
  await k.ok(["patch", kcp, "--type=merge", "-p", JSON.stringify({ spec: { version: "v1.33.1" } })]);
  const md = (await items("machinedeployments"))[0]!.metadata.name!;
  await k.ok(["patch", `machinedeployment/${md}`, "--type=merge", "-p", JSON.stringify({ spec: { template: { spec: { version: "v1.33.1" } } } })]);
  await until("every machine replaced at v1.33.1", async () => {
    const ms = await items("machines");
    return ms.length === 2 && ms.every((m) => !before.has(m.metadata.name) && (m.spec as { version?: string }).version === "v1.33.1" && (m.status as { nodeRef?: unknown } | undefined)?.nodeRef !== undefined);
  }, 120_000);
  await waitAvailable();
  const nodes = await nodesMatchMachines(w);
  expect(nodes.map((n) => (n.status as { nodeInfo: { kubeletVersion: string } }).nodeInfo.kubeletVersion)).toEqual(["v1.33.1", "v1.33.1"]);
  expect(etcd().members).toHaveLength(1);
}
