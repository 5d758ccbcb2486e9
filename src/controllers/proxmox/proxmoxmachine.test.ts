/**
 * The ProxmoxCluster and ProxmoxMachine controllers end to end, in-process: real store and
 * admission, the real Cluster, Machine and IPAM controllers, and the lab PVE through the
 * in-process backend.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { KObject } from "../../lib/kobject.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { INFRA_VERSION, IPAM_CONTRACT_VERSION, POOL_VERSION } from "./constants.ts";
import { markerUid, OWNERSHIP_TAG } from "./ownership.ts";
import { CLUSTER, clusterObjects, conditionOf, createAll, machineObjects, NS, pmOf, startProxmoxEnv, waitFor, type ProxmoxTestEnv } from "./testenv.ts";
import type { ProxmoxMachineSpec, ProxmoxMachineStatus } from "./types.ts";
import { smbiosUuid } from "./vmconfig.ts";

let env: ProxmoxTestEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const provisioned = (o: KObject | undefined) => (o?.status as ProxmoxMachineStatus | undefined)?.initialization?.provisioned === true;

describe("ProxmoxCluster", () => {
  it("creates its pools, reports Proxmox available and publishes the PVE nodes as failure domains", async () => {
    env = await startProxmoxEnv();
    const { client } = env;
    await createAll(client, clusterObjects({ pcSpec: { ipv6Config: { addresses: ["fd00:10::100-fd00:10::1ff"], prefix: 64, gateway: "fd00:10::1", metric: 200 } } }));
    const pc = await waitFor("ProxmoxCluster provisioned", () => {
      const o = client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxCluster", namespace: NS, name: CLUSTER });
      return (o?.status as { initialization?: { provisioned?: boolean } } | undefined)?.initialization?.provisioned ? o : undefined;
    });
    expect(pc.metadata.finalizers).toContain("proxmoxcluster.infrastructure.cluster.x-k8s.io");
    expect(conditionOf(pc, "ProxmoxAvailable")).toMatchObject({ status: "True", reason: "Provisioned" });
    expect(conditionOf(pc, "Ready")).toMatchObject({ status: "True", reason: "Provisioned" });
    const status = pc.status as Record<string, unknown>;
    expect(status.failureDomains).toEqual([
      { name: "pve1", controlPlane: true },
      { name: "pve2", controlPlane: true },
      { name: "pve3", controlPlane: true },
    ]);
    expect(status.inClusterIPPoolRef).toEqual([{ name: "c1-v4-icip" }, { name: "c1-v6-icip" }]);
    expect(status.inClusterZoneRef).toEqual([{ zone: "default", inClusterIPPoolRefV4: { name: "c1-v4-icip" }, inClusterIPPoolRefV6: { name: "c1-v6-icip" } }]);

    const v4 = client.get({ apiVersion: POOL_VERSION, kind: "InClusterIPPool", namespace: NS, name: "c1-v4-icip" })!;
    expect(v4.spec).toEqual({ addresses: ["10.10.0.100-10.10.0.150"], prefix: 24, gateway: "10.10.0.1", addressReuseGracePeriodSeconds: 60 });
    expect(v4.metadata.labels).toEqual({ "topology.kubernetes.io/proxmox-zone": "default" });
    expect(v4.metadata.annotations).toEqual({ "ipam.capmox.cluster.x-k8s.io/ip-family": "ipv4", "ipam.capmox.cluster.x-k8s.io/gateway-metric": "100", metric: "100" });
    expect(v4.metadata.ownerReferences).toEqual([{ apiVersion: INFRA_VERSION, kind: "ProxmoxCluster", name: CLUSTER, uid: pc.metadata.uid!, controller: true, blockOwnerDeletion: true }]);
    const v6 = client.get({ apiVersion: POOL_VERSION, kind: "InClusterIPPool", namespace: NS, name: "c1-v6-icip" })!;
    expect(v6.metadata.annotations?.["ipam.capmox.cluster.x-k8s.io/gateway-metric"]).toBe("200");

    // The Cluster sees the infrastructure as provisioned and takes over its failure domains.
    const cluster = await waitFor("Cluster infrastructure provisioned", () => {
      const c = client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER });
      return (c?.status as { initialization?: { infrastructureProvisioned?: boolean } } | undefined)?.initialization?.infrastructureProvisioned ? c : undefined;
    });
    expect((cluster.status as { failureDomains?: unknown[] }).failureDomains).toHaveLength(3);
  });

  it("needs its credentials Secret, then owns it and guards it with a finalizer", async () => {
    env = await startProxmoxEnv();
    const { client } = env;
    const [cluster, pc] = clusterObjects();
    (pc!.spec as Record<string, unknown>).credentialsRef = { name: "pve-credentials" };
    await createAll(client, [cluster!, pc!]);
    const missing = await waitFor("CredentialsNotFound", () => {
      const o = client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxCluster", namespace: NS, name: CLUSTER });
      return conditionOf(o, "ProxmoxAvailable")?.reason === "CredentialsNotFound" ? o : undefined;
    });
    expect(conditionOf(missing, "ProxmoxAvailable")).toMatchObject({ status: "False", message: "credentials secret not found" });
    await client.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "pve-credentials", namespace: NS }, data: {} } as KObject);
    // A Secret without the keys: the resolver cannot build a backend from it.
    const unreachable = await waitFor("ProxmoxUnreachable", () => {
      const o = client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxCluster", namespace: NS, name: CLUSTER });
      return conditionOf(o, "ProxmoxAvailable")?.reason === "ProxmoxUnreachable" ? o : undefined;
    });
    expect(conditionOf(unreachable, "ProxmoxAvailable")?.message).toBe("credentials secret default/pve-credentials lacks url, token, secret");
    const secret = client.get({ apiVersion: "v1", kind: "Secret", namespace: NS, name: "pve-credentials" })!;
    expect(secret.metadata.finalizers).toEqual(["proxmoxcluster.infrastructure.cluster.x-k8s.io/secret"]);
    expect(secret.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.controller])).toEqual([["ProxmoxCluster", CLUSTER, undefined]]);
  });
});

describe("ProxmoxMachine", () => {
  it("provisions a VM the CAPMOX way: clone, config, disk, static IP, NoCloud data, power, addresses, cloud-init", async () => {
    env = await startProxmoxEnv();
    const { client, backend } = env;
    await createAll(client, clusterObjects());
    await createAll(client, machineObjects("c1-cp-0", { tags: ["Cluster-C1"] }, { controlPlane: true }));
    const pm = await waitFor("ProxmoxMachine provisioned", () => {
      const o = pmOf(client, "c1-cp-0");
      return provisioned(o) ? o : undefined;
    });
    const spec = pm.spec as ProxmoxMachineSpec;
    const status = pm.status as ProxmoxMachineStatus;
    expect(conditionOf(pm, "VirtualMachineProvisioned")).toMatchObject({ status: "True", reason: "Provisioned" });
    expect(conditionOf(pm, "Ready")).toMatchObject({ status: "True", reason: "Provisioned" });
    expect(status.vmStatus).toBe("ready");
    expect(pm.metadata.finalizers).toContain("proxmoxmachine.infrastructure.cluster.x-k8s.io");
    expect(pm.metadata.labels?.["topology.kubernetes.io/proxmox-zone"]).toBe("default");
    const vmid = spec.virtualMachineID!;
    expect(vmid).toBeGreaterThanOrEqual(100);
    const node = status.proxmoxNode!;
    expect(["pve1", "pve2", "pve3"]).toContain(node);

    const config = (await backend.vmConfig(node, vmid))!;
    expect(spec.providerID).toBe(`proxmox://${smbiosUuid(config.smbios1)}`);
    expect(config.name).toBe("c1-cp-0");
    expect(markerUid(config.description)).toBe(pm.metadata.uid);
    expect(config).toMatchObject({ sockets: "1", cores: "2", memory: "2048" });
    expect(config.tags!.split(";")).toEqual(expect.arrayContaining([OWNERSHIP_TAG, "cluster-c1", "ip_net0_10.10.0.100", "ubuntu"]));
    expect(config.scsi0).toContain("size=12G");
    expect((await backend.vmStatus(node, vmid))!.status).toBe("running");

    // IPAM: the claim CAPMOX would make, and the address in the status.
    const claim = client.get({ apiVersion: IPAM_CONTRACT_VERSION, kind: "IPAddressClaim", namespace: NS, name: "c1-cp-0-net0-00-inet" })!;
    expect(claim.metadata.labels).toEqual({ "cluster.x-k8s.io/cluster-name": CLUSTER, "topology.kubernetes.io/proxmox-zone": "default" });
    expect(claim.metadata.annotations).toEqual({ "ipam.capmox.cluster.x-k8s.io/pool-ref-counter": "0", "ipam.capmox.cluster.x-k8s.io/default-gateway": "true" });
    expect(claim.metadata.ownerReferences?.[0]).toMatchObject({ kind: "ProxmoxMachine", name: "c1-cp-0", controller: true });
    expect(status.ipAddresses).toEqual([
      { net: "default", ipv4: ["10.10.0.100"] },
      { net: "net0", ipv4: ["10.10.0.100"] },
    ]);
    expect(status.addresses).toEqual([
      { type: "Hostname", address: "c1-cp-0" },
      { type: "InternalIP", address: "10.10.0.100" },
    ]);

    // The NoCloud data, as snippets the VM reads at start.
    const cicustom = config.cicustom!;
    const volume = (key: string) => new RegExp(`${key}=([^,]+)`).exec(cicustom)![1]!;
    const read = (volid: string) => {
      const [storage, rel] = volid.split(":") as [string, string];
      return readFileSync(join(env!.lab.storagePath(node, storage), rel), "utf8");
    };
    expect(read(volume("user"))).toBe("#cloud-config\nruncmd: [echo hello]\n");
    expect(read(volume("meta"))).toBe(`instance-id: ${smbiosUuid(config.smbios1)}\nlocal-hostname: c1-cp-0\nhostname: c1-cp-0\nkubernetes-version: v1.32.3\nproxmox-node: pve1\nzone: default\n`);
    const mac = /=([0-9A-F:]{17}),/.exec(config.net0!)![1];
    expect(read(volume("network"))).toBe(
      [
        "network:",
        "  version: 2",
        "  renderer: networkd",
        "  ethernets:",
        "    eth0:",
        "      match:",
        `        macaddress: ${mac}`,
        "      dhcp4: false",
        "      dhcp6: false",
        "      addresses:",
        "        - '10.10.0.100/24'",
        "      routes:",
        '        - { "to": "0.0.0.0/0",  "via": "10.10.0.1",  "metric": 100, }',
        "      nameservers:",
        "        addresses:",
        "          - '10.10.0.1'",
      ].join("\n"),
    );
    // The guest configured itself from it: the agent reports the static address on that MAC.
    const ifaces = await backend.agentNetworkInterfaces(node, vmid);
    expect(ifaces.find((i) => i.mac === mac!.toLowerCase())?.addresses.map((a) => a.ip)).toContain("10.10.0.100");

    // The Machine takes the providerID and the addresses (CAPI contract).
    const machine = await waitFor("Machine has the providerID", () => {
      const mm = client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name: "c1-cp-0" });
      return (mm?.spec as { providerID?: string } | undefined)?.providerID ? mm : undefined;
    });
    expect((machine.spec as { providerID: string }).providerID).toBe(spec.providerID!);
    // Placement is recorded for the scheduler.
    const pc = client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxCluster", namespace: NS, name: CLUSTER })!;
    expect((pc.status as { nodeLocations?: unknown }).nodeLocations).toEqual({ controlPlane: [{ machine: { name: "c1-cp-0" }, node }] });
  });

  it("deleting the Machine destroys the VM with purge, removes its snippets and releases its IP", async () => {
    env = await startProxmoxEnv();
    const { client, backend } = env;
    await createAll(client, clusterObjects());
    await createAll(client, machineObjects("c1-w-0"));
    const pm = await waitFor("provisioned", () => {
      const o = pmOf(client, "c1-w-0");
      return provisioned(o) ? o : undefined;
    });
    const vmid = (pm.spec as ProxmoxMachineSpec).virtualMachineID!;
    const node = (pm.status as ProxmoxMachineStatus).proxmoxNode!;
    const config = (await backend.vmConfig(node, vmid))!;
    const userSnippet = /user=([^:]+):([^,]+)/.exec(config.cicustom!)!;
    const snippetFile = join(env.lab.storagePath(node, userSnippet[1]!), userSnippet[2]!);
    expect(existsSync(snippetFile)).toBe(true);

    await client.delete({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name: "c1-w-0" });
    await waitFor("ProxmoxMachine gone", () => !pmOf(client, "c1-w-0"));
    expect(await backend.vmConfig(node, vmid)).toBeUndefined();
    expect(await backend.vmidFree(vmid)).toBe(true);
    expect(existsSync(snippetFile)).toBe(false);
    // Released: the claim is being deleted (the pool keeps the address out of use for its 60 s grace period).
    const claim = client.get({ apiVersion: IPAM_CONTRACT_VERSION, kind: "IPAddressClaim", namespace: NS, name: "c1-w-0-net0-00-inet" });
    expect(claim === undefined || Boolean(claim.metadata.deletionTimestamp)).toBe(true);
    const pc = client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxCluster", namespace: NS, name: CLUSTER })!;
    expect((pc.status as { nodeLocations?: { workers?: unknown[] } }).nodeLocations?.workers ?? []).toEqual([]);
  });
});

describe("ProxmoxCluster deletion", () => {
  it("waits for the Cluster's deletion, then releases its credentials Secret", async () => {
    env = await startProxmoxEnv();
    const { client, backend } = env;
    const [cluster, pc] = clusterObjects();
    (pc!.spec as Record<string, unknown>).credentialsRef = { name: "pve" };
    // The resolver ignores the Secret's contents only if it can parse them: give it real-looking keys.
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    await client.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "pve", namespace: NS }, data: { url: b64("https://pve:8006"), token: b64("capx@pve!capi"), secret: b64("0b8d3c0e-7f5e-4f7e-9a55-2f1a3b4c5d6e") } } as KObject);
    await createAll(client, [cluster!, pc!]);
    const pcRef = { apiVersion: INFRA_VERSION, kind: "ProxmoxCluster", namespace: NS, name: CLUSTER };
    // The Secret is taken over at once, before Proxmox is even asked.
    await waitFor("secret finalizer", () => client.get({ apiVersion: "v1", kind: "Secret", namespace: NS, name: "pve" })?.metadata.finalizers?.includes("proxmoxcluster.infrastructure.cluster.x-k8s.io/secret"));
    expect(backend.name).toBe("inprocess");

    // Deleting the ProxmoxCluster alone does nothing while its Cluster lives.
    await client.delete(pcRef);
    await Bun.sleep(300);
    expect(client.get(pcRef)?.metadata.deletionTimestamp).toBeDefined();
    await client.delete({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER });
    await waitFor("ProxmoxCluster gone", () => !client.get(pcRef), 20_000);
    // Its finalizer released, the Secret follows its only owner (garbage collection, as in Kubernetes).
    await waitFor("Secret collected", () => !client.get({ apiVersion: "v1", kind: "Secret", namespace: NS, name: "pve" }));
  });

  it("the Cluster's deletion removes the machines (and their VMs) before the ProxmoxCluster", async () => {
    env = await startProxmoxEnv();
    const { client, backend } = env;
    await createAll(client, clusterObjects());
    await createAll(client, machineObjects("c1-w-0"));
    const pm = await waitFor("provisioned", () => {
      const o = pmOf(client, "c1-w-0");
      return provisioned(o) ? o : undefined;
    });
    const vmid = (pm.spec as ProxmoxMachineSpec).virtualMachineID!;
    await client.delete({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER });
    await waitFor("ProxmoxCluster gone", () => !client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxCluster", namespace: NS, name: CLUSTER }), 30_000);
    expect(pmOf(client, "c1-w-0")).toBeUndefined();
    expect(await backend.vmidFree(vmid)).toBe(true);
  });
});
