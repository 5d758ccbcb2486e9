/**
 * ClusterResourceSet through the running daemon in lab mode (issue 7): kubectl applies a
 * ConfigMap holding a Namespace and a ConfigMap, a ClusterResourceSet selecting `cni: demo`, and a
 * one-node Talos cluster on lab Proxmox carrying that label. Once its control plane is
 * initialized the objects show up in the lab workload API (read with the workload kubeconfig
 * through the lab proxy), the CRS reports ResourcesApplied and the cluster's
 * ClusterResourceSetBinding records the resource; deleting the CRS deletes the binding.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { KObject } from "../../src/lib/kobject.ts";
import { startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("clusterresourceset lab");
const NS = "default";
const NAME = "crs";
const ARGS = ["--lab", "--lab-latencies", "instant", "--lab-pve-listen", "127.0.0.1:0"];

const ADDON = `apiVersion: v1
kind: ConfigMap
metadata:
  name: demo-settings
  namespace: demo-addon
data:
  mode: lab
---
apiVersion: v1
kind: Namespace
metadata:
  name: demo-addon
`;

function objects(): KObject[] {
  return [
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "demo-addon", namespace: NS }, data: { "addon.yaml": ADDON } },
    {
      apiVersion: "addons.cluster.x-k8s.io/v1beta2",
      kind: "ClusterResourceSet",
      metadata: { name: "demo", namespace: NS },
      spec: { clusterSelector: { matchLabels: { cni: "demo" } }, resources: [{ kind: "ConfigMap", name: "demo-addon" }] },
    },
    {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
      kind: "ProxmoxCluster",
      metadata: { name: NAME, namespace: NS },
      spec: {
        controlPlaneEndpoint: { host: "10.10.0.11", port: 6443 },
        ipv4Config: { addresses: ["10.10.0.160-10.10.0.170"], prefix: 24, gateway: "10.10.0.1" },
        dnsServers: ["10.10.0.1"],
        allowedNodes: ["pve1"],
      },
    },
    {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
      kind: "ProxmoxMachineTemplate",
      metadata: { name: `${NAME}-cp`, namespace: NS },
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
            disks: { bootVolume: { disk: "scsi0", sizeGb: 12 } },
            network: { networkDevices: [{ name: "net0", bridge: "vmbr0", defaultIPv4: true }] },
            checks: { skipCloudInitStatus: true },
          },
        },
      },
    },
    {
      apiVersion: "controlplane.cluster.x-k8s.io/v1alpha3",
      kind: "TalosControlPlane",
      metadata: { name: NAME, namespace: NS },
      spec: {
        replicas: 1,
        version: "v1.32.4",
        infrastructureTemplate: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxMachineTemplate", name: `${NAME}-cp` },
        controlPlaneConfig: { controlplane: { generateType: "controlplane", talosVersion: "v1.13" } },
      },
    },
    // The Cluster last: one whose references do not exist yet is looked at again only after 30 s.
    {
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "Cluster",
      metadata: { name: NAME, namespace: NS, labels: { cni: "demo" } },
      spec: {
        clusterNetwork: { pods: { cidrBlocks: ["10.244.0.0/16"] }, services: { cidrBlocks: ["10.96.0.0/12"] } },
        controlPlaneRef: { apiGroup: "controlplane.cluster.x-k8s.io", kind: "TalosControlPlane", name: NAME },
        infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxCluster", name: NAME },
      },
    },
  ];
}

describe.skipIf(!binary)("ClusterResourceSet on a lab cluster", () => {
  let d: TestDaemon;
  let k: Kubectl;
  const kcDir = tempDir("capx-crs-kc-");

  beforeAll(async () => {
    d = await startTestDaemon({ extraArgs: ARGS, config: "storage:\n  synchronous: NORMAL\n" });
    k = new Kubectl(binary!, d.kubeconfig);
  });
  afterAll(async () => {
    await d?.stop();
    d?.cleanup();
    rmSync(kcDir, { recursive: true, force: true });
  });

  it("applies the ConfigMap's objects to the workload cluster and records the binding", async () => {
    await k.ok(["apply", "-f", "-"], { input: objects().map((o) => stringify(o)).join("---\n") });
    const waited = await k.run(["wait", "--for=condition=ResourcesApplied", "clusterresourceset/demo", "--timeout=100s"], { timeoutMs: 110_000 });
    if (waited.code !== 0) console.log(await k.ok(["get", "clusters,machines,clusterresourcesets", "-o", "yaml"]).catch(String), d.logs().split("\n").slice(-40).join("\n"));
    expect(waited.code).toBe(0);

    const kc = Buffer.from(await k.ok(["get", "secret", `${NAME}-kubeconfig`, "-o", "jsonpath={.data.value}"]), "base64").toString();
    const file = join(kcDir, "workload.kubeconfig");
    writeFileSync(file, kc);
    const w = new Kubectl(binary!, file);
    expect(await w.ok(["get", "namespace", "demo-addon", "-o", "jsonpath={.metadata.name}"])).toBe("demo-addon");
    expect(await w.ok(["get", "configmap", "demo-settings", "-n", "demo-addon", "-o", "jsonpath={.data.mode}"])).toBe("lab");

    const binding = JSON.parse(await k.ok(["get", "clusterresourcesetbinding", NAME, "-o", "json"])) as KObject;
    expect(binding.spec).toMatchObject({ clusterName: NAME, bindings: [{ clusterResourceSetName: "demo", resources: [{ kind: "ConfigMap", name: "demo-addon", applied: true }] }] });
    expect((binding.spec as { bindings: { resources: { hash: string }[] }[] }).bindings[0]!.resources[0]!.hash).toMatch(/^sha256:[0-9a-f]{64}$/);

    await k.ok(["delete", "clusterresourceset", "demo", "--timeout=30s"]);
    const gone = await k.run(["wait", "--for=delete", `clusterresourcesetbinding/${NAME}`, "--timeout=30s"], { timeoutMs: 40_000 });
    expect(gone.code).toBe(0);
  }, 180_000);
});
