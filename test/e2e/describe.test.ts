/**
 * `capx-appliance describe cluster` against a daemon serving the API only (`--controllers=false`):
 * objects applied and their status set with the real kubectl, then the command's tree read back.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { BUN, REPO, startTestDaemon, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("describe cluster");
let d: TestDaemon;
let k: Kubectl;
const since = new Date(Date.now() - 150_000).toISOString();
const c = (type: string, status: string, reason: string, message = "") => ({ type, status, reason, message, lastTransitionTime: since });
const labels = { "cluster.x-k8s.io/cluster-name": "demo" };
const ref = (apiGroup: string, kind: string, name: string) => ({ apiGroup, kind, name });

function cli(args: string[]) {
  return spawnSync(BUN, [join(REPO, "src/main.ts"), ...args], { encoding: "utf8", cwd: REPO });
}

async function apply(doc: object): Promise<string> {
  await k.ok(["apply", "-f", "-"], { input: JSON.stringify(doc) });
  const meta = (doc as { kind: string; metadata: { name: string } }).metadata;
  return (await k.ok(["get", `${(doc as { kind: string }).kind.toLowerCase()}.${(doc as { apiVersion: string }).apiVersion.split("/")[0]}`, meta.name, "-o", "jsonpath={.metadata.uid}"])).trim();
}

async function setStatus(resource: string, name: string, status: object) {
  await k.ok(["patch", resource, name, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
}

function machine(name: string, owner: { kind: string; name: string; uid: string; apiVersion: string }, cp: boolean) {
  return {
    apiVersion: "cluster.x-k8s.io/v1beta2",
    kind: "Machine",
    metadata: { name, labels: cp ? { ...labels, "cluster.x-k8s.io/control-plane": "" } : labels, ownerReferences: [{ ...owner, controller: true }] },
    spec: {
      clusterName: "demo",
      version: "v1.32.0",
      bootstrap: { configRef: ref("bootstrap.cluster.x-k8s.io", "TalosConfig", name) },
      infrastructureRef: ref("infrastructure.cluster.x-k8s.io", "ProxmoxMachine", name),
    },
  };
}

beforeAll(async () => {
  if (!binary) return;
  d = await startTestDaemon({ extraArgs: ["--controllers=false"] });
  k = new Kubectl(binary, d.kubeconfig);
  await apply({
    apiVersion: "cluster.x-k8s.io/v1beta2",
    kind: "Cluster",
    metadata: { name: "demo" },
    spec: { infrastructureRef: ref("infrastructure.cluster.x-k8s.io", "ProxmoxCluster", "demo"), controlPlaneRef: ref("controlplane.cluster.x-k8s.io", "TalosControlPlane", "demo-cp") },
  });
  await apply({ apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxCluster", metadata: { name: "demo", labels }, spec: { dnsServers: ["10.10.0.1"], ipv4Config: { addresses: ["10.10.0.20-10.10.0.50"], prefix: 24, gateway: "10.10.0.1" }, controlPlaneEndpoint: { host: "10.10.0.5", port: 6443 } } });
  const cpUid = await apply({
    apiVersion: "controlplane.cluster.x-k8s.io/v1alpha3",
    kind: "TalosControlPlane",
    metadata: { name: "demo-cp", labels },
    spec: { replicas: 2, version: "v1.32.0", infrastructureTemplate: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxMachineTemplate", name: "demo-cp" }, controlPlaneConfig: { controlplane: { generateType: "controlplane" } } },
  });
  const mdSpec = { clusterName: "demo", version: "v1.32.0", bootstrap: { configRef: ref("bootstrap.cluster.x-k8s.io", "TalosConfigTemplate", "demo-workers") }, infrastructureRef: ref("infrastructure.cluster.x-k8s.io", "ProxmoxMachineTemplate", "demo-workers") };
  const mdUid = await apply({ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "MachineDeployment", metadata: { name: "demo-workers", labels }, spec: { clusterName: "demo", replicas: 2, template: { spec: mdSpec } } });
  const msUid = await apply({
    apiVersion: "cluster.x-k8s.io/v1beta2",
    kind: "MachineSet",
    metadata: { name: "demo-workers-abcde", labels, ownerReferences: [{ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "MachineDeployment", name: "demo-workers", uid: mdUid, controller: true }] },
    spec: { clusterName: "demo", replicas: 2, template: { spec: mdSpec } },
  });
  const cpOwner = { apiVersion: "controlplane.cluster.x-k8s.io/v1alpha3", kind: "TalosControlPlane", name: "demo-cp", uid: cpUid };
  const msOwner = { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "MachineSet", name: "demo-workers-abcde", uid: msUid };
  const ready = [c("Available", "True", "Available"), c("Ready", "True", "Ready"), c("UpToDate", "True", "UpToDate")];
  for (const [name, owner, cp] of [["demo-cp-1", cpOwner, true], ["demo-cp-2", cpOwner, true], ["demo-w-1", msOwner, false], ["demo-w-2", msOwner, false]] as const) {
    await apply(machine(name, owner, cp));
    await apply({ apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxMachine", metadata: { name, labels }, spec: { sourceNode: "pve1", templateID: 9000, network: { networkDevices: [{ name: "net0", bridge: "vmbr0" }] } } });
    await apply({ apiVersion: "bootstrap.cluster.x-k8s.io/v1beta1", kind: "TalosConfig", metadata: { name, labels }, spec: { generateType: cp ? "controlplane" : "worker" } });
    const broken = name === "demo-w-2";
    await setStatus("machines.cluster.x-k8s.io", name, {
      conditions: broken ? [c("Available", "False", "NotAvailable"), c("Ready", "False", "NotReady", "* InfrastructureReady: TASK ERROR: clone failed"), c("UpToDate", "True", "UpToDate")] : ready,
    });
    await setStatus("proxmoxmachines.infrastructure.cluster.x-k8s.io", name, { conditions: [broken ? c("Ready", "False", "CloningFailed", "TASK ERROR: clone failed") : c("Ready", "True", "Ready")] });
    await setStatus("talosconfigs.bootstrap.cluster.x-k8s.io", name, { conditions: [c("Ready", "True", "Ready")] });
  }
  await setStatus("clusters.cluster.x-k8s.io", "demo", { conditions: [c("Available", "False", "NotAvailable", "* Workers: 1 available replica, at least 2 required")], controlPlane: { desiredReplicas: 2, replicas: 2, availableReplicas: 2, readyReplicas: 2, upToDateReplicas: 2 }, workers: { desiredReplicas: 2, replicas: 2, availableReplicas: 1, readyReplicas: 1, upToDateReplicas: 2 } });
  await setStatus("proxmoxclusters.infrastructure.cluster.x-k8s.io", "demo", { conditions: [c("Ready", "True", "Ready")] });
  await setStatus("taloscontrolplanes.controlplane.cluster.x-k8s.io", "demo-cp", { replicas: 2, readyReplicas: 2, conditions: [c("Ready", "True", "Ready"), c("Available", "True", "Available")].map(({ message: _, ...v1beta1 }) => v1beta1) });
  await setStatus("machinedeployments.cluster.x-k8s.io", "demo-workers", { replicas: 2, availableReplicas: 1, readyReplicas: 1, upToDateReplicas: 2, conditions: [c("Available", "False", "NotAvailable", "1 available replica, at least 2 required")] });
}, 120_000);

afterAll(async () => {
  await d?.stop("SIGKILL");
  d?.cleanup();
});

describe.skipIf(!binary)("capx-appliance describe cluster", () => {
  it("prints the clusterctl tree: control plane machines grouped, the broken worker apart with its failing VM", () => {
    const r = cli(["describe", "cluster", "demo", "--kubeconfig", d.kubeconfig]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^NAME +REPLICAS +AVAILABLE +READY +UP TO DATE +STATUS +REASON +SINCE +MESSAGE$/);
    expect(lines[1]).toMatch(/^Cluster default\/demo +4\/4 +3 +3 +4 +False +NotAvailable +2m\d+s +\* Workers: 1 available replica, at least 2 required$/);
    expect(lines[2]).toMatch(/^├─ProxmoxCluster default\/demo +True +Ready +2m\d+s$/);
    expect(lines[3]).toMatch(/^├─TalosControlPlane default\/demo-cp, v1\.32\.0 +2\/2 +2 +True +Available +2m\d+s$/);
    expect(lines[4]).toMatch(/^│ └─2 Machines\.\.\. +2 +2 +2 +True +Ready +2m\d+s +See demo-cp-1, demo-cp-2$/);
    expect(lines[5]).toBe("└─Workers");
    expect(lines[6]).toMatch(/^  └─MachineDeployment default\/demo-workers, v1\.32\.0 +2\/2 +1 +1 +2 +False +NotAvailable +2m\d+s +1 available replica, at least 2 required$/);
    expect(lines[7]).toMatch(/^    ├─Machine default\/demo-w-1, v1\.32\.0 +1 +1 +1 +1 +True +Ready +2m\d+s$/);
    expect(lines[8]).toMatch(/^    └─Machine default\/demo-w-2, v1\.32\.0 +1 +0 +0 +1 +False +NotReady +2m\d+s +\* InfrastructureReady: TASK ERROR: clone failed$/);
    expect(lines[9]).toMatch(/^      └─ProxmoxMachine default\/demo-w-2 +False +CloningFailed +2m\d+s +TASK ERROR: clone failed$/);
    expect(lines.slice(10)).toEqual([""]);
  });

  it("--grouping=false and --show-conditions TalosControlPlane", () => {
    const r = cli(["describe", "cluster", "demo", "-n", "default", "--kubeconfig", d.kubeconfig, "--grouping=false", "--show-conditions", "TalosControlPlane"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\n├─TalosControlPlane default\/demo-cp, v1\.32\.0 +2\/2 +2\n│ │ {11}├─Ready +True +Ready +2m\d+s\n│ │ {11}└─Available +True +Available +2m\d+s\n│ ├─Machine default\/demo-cp-1/);
  });

  it("exits 1 with one line when the cluster does not exist or the appliance is unreachable", async () => {
    const missing = cli(["describe", "cluster", "nope", "--kubeconfig", d.kubeconfig]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('capx-appliance: cluster "nope" not found in namespace "default"\n');
    const bad = cli(["describe", "cluster", "demo", "--kubeconfig", d.kubeconfig, "--show-conditions", "all, Machine"]);
    expect(bad.status).toBe(2);

    const other = await startTestDaemon({ extraArgs: ["--controllers=false"] });
    const kubeconfig = other.kubeconfig;
    const url = other.url;
    await other.stop("SIGKILL");
    const down = cli(["describe", "cluster", "demo", "--kubeconfig", kubeconfig]);
    other.cleanup();
    expect(down.status).toBe(1);
    expect(down.stderr.split("\n")).toHaveLength(2);
    expect(down.stderr).toStartWith(`capx-appliance: cannot reach the appliance at ${url}:`);
  }, 60_000);
});
