/**
 * The CAPMOX kinds through the real kubectl against a daemon serving the API only
 * (`--controllers=false`, so nothing but admission touches the objects): short names and the
 * `proxmox` / `cluster-api` categories, printer columns in both served versions, defaulting and
 * conversion seen through kubectl, and webhook / CEL refusals as kubectl prints them.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("kubectl on the CAPMOX kinds");
const G = "infrastructure.cluster.x-k8s.io";
const ns = "moxns";
const UUID = "0c3a9e25-6f2b-4d1e-9a57-3b1f0e8c2d4a";
let d: TestDaemon;
let k: Kubectl;
const files = tempDir("capx-capmox-files-");

function file(name: string, docs: unknown[]): string {
  const p = join(files, name);
  writeFileSync(p, docs.map((doc) => stringify(doc)).join("---\n"));
  return p;
}

/** Column headers of a kubectl table (split on runs of two or more spaces). */
const header = (out: string) => out.split("\n")[0]!.trim().split(/\s{2,}/);
/** A row's cells, cut at the header's column offsets (blank cells stay blank). */
const row = (out: string, name: string) => {
  const lines = out.split("\n");
  const line = lines.find((l) => l.split(/\s+/).includes(name));
  if (!line) return undefined;
  const starts = [...lines[0]!.matchAll(/(?:^|\s{2,})(\S)/g)].map((m) => m.index! + m[0].length - 1);
  return starts.map((start, i) => line.slice(start, starts[i + 1] ?? line.length).trim());
};

const labels = { "cluster.x-k8s.io/cluster-name": "c1" };
const clusterV1Alpha2 = {
  apiVersion: `${G}/v1alpha2`,
  kind: "ProxmoxCluster",
  metadata: { name: "c1", namespace: ns, labels },
  spec: {
    controlPlaneEndpoint: { host: "10.10.0.5", port: 6443 },
    ipv4Config: { addresses: ["10.10.0.20-10.10.0.50"], prefix: 24, gateway: "10.10.0.1" },
    dnsServers: ["10.10.0.1"],
  },
};
const machineV1Alpha2 = {
  apiVersion: `${G}/v1alpha2`,
  kind: "ProxmoxMachine",
  metadata: { name: "c1-m2", namespace: ns, labels },
  spec: { sourceNode: "pve1", templateID: 9000, tags: ["k8s"], network: { networkDevices: [{ name: "net0", bridge: "vmbr0" }, { name: "net1", bridge: "vmbr1" }] } },
};
const machineV1Alpha1 = {
  apiVersion: `${G}/v1alpha1`,
  kind: "ProxmoxMachine",
  metadata: { name: "c1-m1", namespace: ns, labels },
  spec: { sourceNode: "pve1", templateID: 9001, target: "pve3", disks: { bootVolume: { disk: "scsi0", sizeGb: 20 } }, network: { default: { bridge: "vmbr0", model: "virtio" } } },
};
const machineTemplateV1Alpha1 = {
  apiVersion: `${G}/v1alpha1`,
  kind: "ProxmoxMachineTemplate",
  metadata: { name: "c1-worker", namespace: ns },
  spec: { template: { spec: { sourceNode: "pve1", templateID: 9001, network: { default: { bridge: "vmbr0" } } } } },
};
const clusterTemplateV1Alpha2 = {
  apiVersion: `${G}/v1alpha2`,
  kind: "ProxmoxClusterTemplate",
  metadata: { name: "cc", namespace: ns },
  spec: { template: { spec: { ...clusterV1Alpha2.spec, controlPlaneEndpoint: { host: "api.lab.example", port: 6443 } } } },
};

beforeAll(async () => {
  if (!binary) return;
  d = await startTestDaemon({ extraArgs: ["--controllers=false"] });
  k = new Kubectl(binary, d.kubeconfig);
  await k.ok(["create", "namespace", ns]);
  const out = await k.ok(["apply", "-f", file("all.yaml", [clusterV1Alpha2, machineV1Alpha2, machineV1Alpha1, machineTemplateV1Alpha1, clusterTemplateV1Alpha2])]);
  expect(out).toBe(
    [
      "proxmoxcluster.infrastructure.cluster.x-k8s.io/c1 created",
      "proxmoxmachine.infrastructure.cluster.x-k8s.io/c1-m2 created",
      "proxmoxmachine.infrastructure.cluster.x-k8s.io/c1-m1 created",
      "proxmoxmachinetemplate.infrastructure.cluster.x-k8s.io/c1-worker created",
      "proxmoxclustertemplate.infrastructure.cluster.x-k8s.io/cc created",
      "",
    ].join("\n"),
  );
}, 60_000);

afterAll(async () => {
  await d?.stop();
  d?.cleanup();
});

describe.skipIf(!binary)("kubectl on the CAPMOX kinds", () => {
  it("short names moxm, pmt and pct, and the proxmox and cluster-api categories", async () => {
    expect(header(await k.ok(["get", "moxm", "-n", ns]))).toEqual(["NAME", "CLUSTER", "READY", "NODE", "PROVIDER_ID", "MACHINE"]);
    expect(await k.ok(["get", "pmt", "-n", ns, "-o", "name"])).toBe("proxmoxmachinetemplate.infrastructure.cluster.x-k8s.io/c1-worker\n");
    expect(await k.ok(["get", "pct", "-n", ns, "-o", "name"])).toBe("proxmoxclustertemplate.infrastructure.cluster.x-k8s.io/cc\n");
    expect(await k.ok(["get", "proxmox", "-n", ns, "-o", "name"])).toBe(
      "proxmoxmachine.infrastructure.cluster.x-k8s.io/c1-m1\nproxmoxmachine.infrastructure.cluster.x-k8s.io/c1-m2\n",
    );
    const all = await k.ok(["get", "cluster-api", "-n", ns, "-o", "name"]);
    for (const name of ["proxmoxcluster.infrastructure.cluster.x-k8s.io/c1", "proxmoxmachine.infrastructure.cluster.x-k8s.io/c1-m1", "proxmoxmachinetemplate.infrastructure.cluster.x-k8s.io/c1-worker", "proxmoxclustertemplate.infrastructure.cluster.x-k8s.io/cc"]) {
      expect(all).toContain(name);
    }
  });

  it("printer columns in both versions follow the status (ready vs initialization.provisioned)", async () => {
    const status = { initialization: { provisioned: true }, proxmoxNode: "pve2" };
    await k.ok(["patch", "moxm", "c1-m2", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
    await k.ok(["patch", "moxm", "c1-m2", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { providerID: `proxmox://${UUID}` } })]);
    const v2 = await k.ok(["get", `proxmoxmachines.v1alpha2.${G}`, "-n", ns]);
    expect(row(v2, "c1-m2")).toEqual(["c1-m2", "c1", "true", "pve2", `proxmox://${UUID}`, ""]);
    expect(row(v2, "c1-m1")).toEqual(["c1-m1", "c1", "", "", "", ""]);
    const v1 = await k.ok(["get", `proxmoxmachines.v1alpha1.${G}`, "-n", ns]);
    expect(header(v1)).toEqual(["NAME", "CLUSTER", "READY", "NODE", "PROVIDER_ID", "MACHINE"]);
    expect(row(v1, "c1-m2")).toEqual(["c1-m2", "c1", "true", "pve2", `proxmox://${UUID}`, ""]);
    // v1alpha1's status.ready is a plain bool: false when not provisioned.
    await k.ok(["patch", "moxm", "c1-m1", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { proxmoxNode: "pve3" } })]);
    expect(row(await k.ok(["get", `proxmoxmachines.v1alpha1.${G}`, "-n", ns]), "c1-m1")).toEqual(["c1-m1", "c1", "false", "pve3", "", ""]);

    await k.ok(["patch", `proxmoxclusters.v1alpha1.${G}`, "c1", "-n", ns, "--subresource=status", "--type=merge", "-p", '{"status":{"ready":true}}']);
    for (const version of ["v1alpha1", "v1alpha2"]) {
      const out = await k.ok(["get", `proxmoxclusters.${version}.${G}`, "-n", ns]);
      expect(header(out)).toEqual(["NAME", "CLUSTER", "READY", "ENDPOINT"]);
      expect(row(out, "c1")).toEqual(["c1", "c1", "true", '{"host":"10.10.0.5","port":6443}']);
    }
  });

  it("defaulting and conversion as kubectl sees them; a second apply is unchanged", async () => {
    // The webhook made net0 the default device of both families; the schema defaulted full and model.
    const net0 = await k.ok(["get", "moxm", "c1-m2", "-n", ns, "-o", "jsonpath={.spec.full} {.spec.network.networkDevices[0].defaultIPv4} {.spec.network.networkDevices[0].defaultIPv6} {.spec.network.networkDevices[0].model} {.spec.network.networkDevices[1].defaultIPv4}"]);
    expect(net0).toBe("true true true virtio ");
    // The v1alpha1 machine is stored as v1alpha2: target became allowedNodes, default became net0.
    expect(await k.ok(["get", `proxmoxmachines.v1alpha2.${G}`, "c1-m1", "-n", ns, "-o", "jsonpath={.spec.allowedNodes} {.spec.network.networkDevices[0].name} {.spec.network.networkDevices[0].bridge}"])).toBe(
      '["pve3"] net0 vmbr0',
    );
    // Read back in v1alpha1, the user's fields are as written.
    expect(await k.ok(["get", `proxmoxmachines.v1alpha1.${G}`, "c1-m1", "-n", ns, "-o", "jsonpath={.spec.target} {.spec.network.default.model} {.spec.disks.bootVolume.sizeGb}"])).toBe("pve3 virtio 20");
    // (A v1alpha2 machine whose device list received defaults reads "configured" on every apply,
    // as upstream: kubectl's JSON merge patch replaces the whole list.)
    const again = await k.run(["apply", "-f", file("again.yaml", [machineV1Alpha1, machineTemplateV1Alpha1, clusterV1Alpha2])]);
    expect(again.stdout).toBe(
      [
        "proxmoxmachine.infrastructure.cluster.x-k8s.io/c1-m1 unchanged",
        "proxmoxmachinetemplate.infrastructure.cluster.x-k8s.io/c1-worker unchanged",
        "proxmoxcluster.infrastructure.cluster.x-k8s.io/c1 unchanged",
        "",
      ].join("\n"),
    );
  });

  it("webhook refusals: endpoint inside the node IP range, non-consecutive NICs, immutable template, tags", async () => {
    const bad = { ...clusterV1Alpha2, metadata: { name: "bad", namespace: ns }, spec: { ...clusterV1Alpha2.spec, controlPlaneEndpoint: { host: "10.10.0.30", port: 6443 } } };
    const r1 = await k.run(["apply", "-f", file("bad-cluster.yaml", [bad])]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain(
      'The ProxmoxCluster "bad" is invalid: spec.ipv4Config.addresses: Invalid value: ["10.10.0.20-10.10.0.50"]: addresses may not contain the endpoint IP',
    );

    const gap = { ...machineV1Alpha2, metadata: { name: "gap", namespace: ns }, spec: { ...machineV1Alpha2.spec, network: { networkDevices: [{ name: "net0", bridge: "vmbr0" }, { name: "net2", bridge: "vmbr2" }] } } };
    const r2 = await k.run(["apply", "-f", file("gap.yaml", [gap])]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('The ProxmoxMachine "gap" is invalid: spec.network.networkDevices[1].name: Invalid value: "net2": Non-consecutive proxmox interface name');

    const changed = { ...machineTemplateV1Alpha1, spec: { template: { spec: { ...machineTemplateV1Alpha1.spec.template.spec, numCores: 8 } } } };
    const r3 = await k.run(["apply", "-f", file("changed.yaml", [changed])]);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toContain('The ProxmoxMachineTemplate "c1-worker" is invalid: spec: Forbidden: ProxmoxMachineTemplate is immutable');

    const r4 = await k.run(["patch", "moxm", "c1-m2", "-n", ns, "--type=merge", "-p", '{"spec":{"tags":["k8s","other"]}}']);
    expect(r4.code).toBe(1);
    expect(r4.stderr).toContain('admission webhook "validation.proxmoxmachine.infrastructure.cluster.x-k8s.io" denied the request: tags are immutable');
  });

  it("CEL refusals: both sourceNode and templateSelector; immutable boot volume; vmIDRange", async () => {
    const both = { ...machineV1Alpha2, metadata: { name: "both", namespace: ns }, spec: { ...machineV1Alpha2.spec, templateSelector: { matchTags: ["talos"] } } };
    const r1 = await k.run(["apply", "-f", file("both.yaml", [both])]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain("must define either a SourceNode with a TemplateID or a TemplateSelector");

    const r2 = await k.run(["patch", `proxmoxmachines.v1alpha1.${G}`, "c1-m1", "-n", ns, "--type=merge", "-p", '{"spec":{"disks":{"bootVolume":{"sizeGb":40}}}}']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('The ProxmoxMachine "c1-m1" is invalid: spec.disks.bootVolume: Invalid value: "object": Value is immutable');

    const r3 = await k.run(["patch", "moxm", "c1-m2", "-n", ns, "--type=merge", "-p", '{"spec":{"vmIDRange":{"start":2000,"end":1000}}}']);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toContain("spec.vmIDRange: Invalid value: \"object\": end should be greater than or equal to start");
  });

  it("ProxmoxCluster status.failureDomains (appliance extension) is served in each version's contract shape", async () => {
    const failureDomains = [{ name: "pve1", controlPlane: true }, { name: "pve2", controlPlane: false }];
    await k.ok(["patch", `proxmoxclusters.v1alpha2.${G}`, "c1", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { failureDomains } })]);
    const read = async (version: string) => JSON.parse(await k.ok(["get", `proxmoxclusters.${version}.${G}`, "c1", "-n", ns, "-o", "jsonpath={.status.failureDomains}"]));
    expect(await read("v1alpha2")).toEqual(failureDomains);
    expect(await read("v1alpha1")).toEqual({ pve1: { controlPlane: true }, pve2: { controlPlane: false } });
  });
});
