import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueEtcdClientCertificate } from "../../providers/etcd/client-cert.ts";
import { EtcdClient } from "../../providers/etcd/client.ts";
import { bootstrapTokenSecretData, generateBootstrapToken } from "../../providers/kubeadm/bootstrap-token.ts";
import { generateCA, generateServiceAccountKeys } from "../../providers/kubeadm/certificate-generation.ts";
import { caCertHashes, certificateFiles, type ClusterCertificates, type KeyPair } from "../../providers/kubeadm/certificates.ts";
import { initControlPlaneCloudConfig, nodeCloudConfig } from "../../providers/kubeadm/cloud-init.ts";
import { clusterConfigurationYaml, initConfigurationYaml, joinConfigurationYaml } from "../../providers/kubeadm/kubeadm-api.ts";
import { testLab, waitFor, type TestLab } from "../../providers/proxmox/lab/testing.ts";
import { LabNetwork } from "../../providers/workload/dialer.ts";
import { create } from "../../registry/rest/create.ts";
import { get } from "../../registry/rest/get.ts";
import { systemContext } from "../../registry/rest/context.ts";
import { LabCloudInit } from "../cloud-init/index.ts";
import { startWorkloadServer, type WorkloadServer } from "../workload-server.ts";
import { nodeRegistration, systemdUnquote } from "./config.ts";
import { LabKubeadm } from "./index.ts";

const ENDPOINT = { host: "10.10.0.5", port: 6443 };
const VERSION = "v1.32.4";

let t: TestLab;
let ci: LabCloudInit;
let kubeadm: LabKubeadm;
let network: LabNetwork;
let server: WorkloadServer;
let certs: Required<ClusterCertificates>;

beforeAll(async () => {
  t = testLab();
  network = new LabNetwork(t.lab.inventory.bridges[0]?.cidr);
  ci = new LabCloudInit({ pve: t.lab, dataDir: t.dataDir });
  await ci.start();
  const [ca, etcd, proxy, sa] = await Promise.all([generateCA(), generateCA(), generateCA(), generateServiceAccountKeys()]);
  certs = { ca, etcd, proxy, sa };
  server = await startWorkloadServer({ dir: join(t.dataDir, "workload"), caPem: ca.cert, caKeyPem: ca.key, ...ENDPOINT, network });
  kubeadm = new LabKubeadm({ pve: t.lab, network, cloudInit: ci, dataDir: t.dataDir, workloadServer: async (h, p) => (network.lookup(h, p)?.port === server.localPort ? server : undefined), apiServerWaitMs: 2000 });
  await kubeadm.start();
});
afterAll(async () => {
  await kubeadm.stop();
  await ci.stop();
  await server.close();
  await t.close();
});

async function cloudInitStatus(vmid: number): Promise<[number, string]> {
  const { pid } = await t.ok<{ pid: number }>("POST", `/nodes/pve1/qemu/${vmid}/agent/exec`, { command: ["cloud-init", "status"] });
  const s = await waitFor(async () => {
    const r = await t.ok<{ exited: number; exitcode?: number; "out-data"?: string }>("GET", `/nodes/pve1/qemu/${vmid}/agent/exec-status`, { pid });
    return r.exited ? r : undefined;
  }, 3000, "exec");
  return [s.exitcode!, s["out-data"] ?? ""];
}

async function boot(vmid: number, userData: string): Promise<void> {
  expect((await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/9001/clone", { newid: vmid, name: `k${vmid}`, full: 1 }))).exitstatus).toBe("OK");
  const dir = join(t.lab.storagePath("pve1", "local"), "snippets");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `u${vmid}.yaml`), userData);
  writeFileSync(join(dir, `m${vmid}.yaml`), `instance-id: iid-${vmid}\nlocal-hostname: k${vmid}\n`);
  await t.ok("PUT", `/nodes/pve1/qemu/${vmid}/config`, { cicustom: `user=local:snippets/u${vmid}.yaml,meta=local:snippets/m${vmid}.yaml` });
  expect((await t.waitTask(await t.ok<string>("POST", `/nodes/pve1/qemu/${vmid}/status/start`))).exitstatus).toBe("OK");
  await ci.idle();
}

function node(name: string) {
  return get(server.rest, server.rest.registry.resolve("", "v1", "nodes")!, "", name) as unknown as { metadata: { labels: Record<string, string> }; spec: { providerID?: string; taints?: { key: string }[] }; status: { nodeInfo?: { kubeletVersion?: string }; addresses: { type: string; address: string }[]; conditions: { type: string; status: string }[] } };
}

function addToken(token: string, expires: Date): void {
  const data = Object.fromEntries(Object.entries(bootstrapTokenSecretData(token, expires)).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
  const name = `bootstrap-token-${token.slice(0, 6)}`;
  create(server.rest, server.rest.registry.resolve("", "v1", "secrets")!, "kube-system", { metadata: { name, namespace: "kube-system" }, type: "bootstrap.kubernetes.io/token", data }, systemContext("test"));
}

function workerData(token: string, hashes: string[]): string {
  const jc = joinConfigurationYaml(
    {
      nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "proxmox://{{ ds.meta_data.instance_id }}" }] },
      discovery: { bootstrapToken: { token, apiServerEndpoint: `${ENDPOINT.host}:${ENDPOINT.port}`, caCertHashes: hashes } },
    },
    VERSION,
  );
  return nodeCloudConfig({ joinConfiguration: jc });
}

describe("kubeadm configuration", () => {
  test("kubelet extra args reach the kubelet unquoted, as systemd expands kubeadm-flags.env (CAPMOX quotes the provider-id)", () => {
    expect(nodeRegistration({ nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "proxmox://'1b2c-3d'" }] } }).providerId).toBe("proxmox://1b2c-3d");
    expect(systemdUnquote(`a"b c"\\'d`)).toBe("ab c'd");
  });

  test("kubelet extra args: v1beta4 list and v1beta3 map give the same provider-id and labels", () => {
    const v4 = nodeRegistration({ nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "proxmox://a" }, { name: "node-labels", value: "x=1,y=2" }] } });
    const v3 = nodeRegistration({ nodeRegistration: { kubeletExtraArgs: { "provider-id": "proxmox://a", "node-labels": "x=1,y=2" } } });
    expect(v4).toEqual({ providerId: "proxmox://a", labels: { x: "1", y: "2" } });
    expect(v3).toEqual(v4);
  });
});

describe("kubeadm in lab guests", () => {
  test("init from CABPK's data: cloud-init done, Node with providerID, kubeadm objects, etcd answers with one member", async () => {
    const cc = clusterConfigurationYaml({ controlPlaneEndpoint: `${ENDPOINT.host}:${ENDPOINT.port}` }, VERSION, { clusterName: "c1", kubernetesVersion: VERSION });
    const ic = initConfigurationYaml({ nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "proxmox://{{ ds.meta_data.instance_id }}" }] } }, VERSION);
    await boot(401, initControlPlaneCloudConfig({ certificateFiles: certificateFiles(certs), clusterConfiguration: cc, initConfiguration: ic }));
    expect(t.lab.host.serial.read(401)).toContain("Your Kubernetes control-plane has initialized successfully!");
    expect(await cloudInitStatus(401)).toEqual([0, "status: done\n"]);

    const n = node("k401");
    expect(n.spec.providerID).toBe("proxmox://iid-401");
    expect(n.metadata.labels["node-role.kubernetes.io/control-plane"]).toBe("");
    expect(n.spec.taints?.map((x) => x.key)).toEqual(["node-role.kubernetes.io/control-plane"]);
    expect(n.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
    const address = n.status.addresses.find((a) => a.type === "InternalIP")!.address;
    const cm = (ns: string, name: string) => get(server.rest, server.rest.registry.resolve("", "v1", "configmaps")!, ns, name).data as Record<string, string>;
    expect(cm("kube-system", "kubeadm-config").ClusterConfiguration).toContain("clusterName: c1");
    expect(cm("kube-system", "kubelet-config").kubelet).toContain("kind: KubeletConfiguration");
    expect(cm("kube-public", "cluster-info").kubeconfig).toContain(Buffer.from(certs.ca.cert).toString("base64"));

    const client = await etcdClient(certs.etcd, address);
    const members = await client.members();
    client.close();
    expect(members.map((m) => [m.name, m.clientURLs])).toEqual([["k401", [`https://${address}:2379`]]]);
    // its kube-apiserver answers on the node's own address too (the cluster's workload API)
    expect(network.lookup(address, 6443)).toEqual({ host: "127.0.0.1", port: server.localPort });

    // the VM stops: its etcd member stops answering; it starts again: etcd is back
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/401/status/stop"));
    await waitFor(() => !kubeadm.etcdServer(401)?.running, 2000, "etcd to stop");
    expect(network.lookup(address, 2379)).toBeUndefined();
    expect(network.lookup(address, 6443)).toBeUndefined();
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/401/status/start"));
    await waitFor(() => kubeadm.etcdServer(401)?.running, 3000, "etcd to resume");
    await waitFor(() => network.lookup(address, 6443) !== undefined, 3000, "the API server to resume");

    // a daemon restart resumes the etcd member of the running control-plane VM from the lab dir
    await kubeadm.stop();
    expect(network.lookup(address, 2379)).toBeUndefined();
    kubeadm = new LabKubeadm({ pve: t.lab, network, cloudInit: ci, dataDir: t.dataDir, workloadServer: async () => server });
    await kubeadm.start();
    const again = await etcdClient(certs.etcd, address);
    expect((await again.members()).map((m) => m.name)).toEqual(["k401"]);
    again.close();
  });

  test("a worker with a valid token joins; an invalid token or unpinned CA fails cloud-init and says why", async () => {
    const hashes = caCertHashes(certs.ca.cert);
    const good = generateBootstrapToken();
    addToken(good, new Date(Date.now() + 3600_000));
    await boot(402, workerData(good, hashes));
    expect(await cloudInitStatus(402)).toEqual([0, "status: done\n"]);
    expect(node("k402").spec.providerID).toBe("proxmox://iid-402");
    expect(node("k402").metadata.labels["node-role.kubernetes.io/control-plane"]).toBeUndefined();
    expect(node("k402").status.nodeInfo?.kubeletVersion).toBe(VERSION); // the cluster's, from kubeadm-config

    await boot(403, workerData(`${good.slice(0, 7)}${"x".repeat(16)}`, hashes));
    expect(await cloudInitStatus(403)).toEqual([1, "status: error\n"]);
    expect(t.lab.host.serial.read(403)).toContain("failed to verify JWS signature of received cluster info object, can't trust this API Server");

    await boot(404, workerData(generateBootstrapToken(), hashes));
    expect(await cloudInitStatus(404)).toEqual([1, "status: error\n"]);
    expect(t.lab.host.serial.read(404)).toMatch(/could not find a JWS signature in the cluster-info ConfigMap for token ID "[a-z0-9]{6}"/);

    await boot(405, workerData(good, ["sha256:" + "0".repeat(64)]));
    expect(await cloudInitStatus(405)).toEqual([1, "status: error\n"]);
    expect(t.lab.host.serial.read(405)).toContain("cluster CA found in cluster-info ConfigMap is invalid: none of the public keys");
  });

  test("init with a CA key that does not match its certificate fails as kubeadm's certs phase", async () => {
    const other = await generateCA();
    const bad = { ...certs, ca: { cert: certs.ca.cert, key: other.key } };
    const cc = clusterConfigurationYaml({ controlPlaneEndpoint: `${ENDPOINT.host}:${ENDPOINT.port}` }, VERSION, { clusterName: "c1", kubernetesVersion: VERSION });
    await boot(406, initControlPlaneCloudConfig({ certificateFiles: certificateFiles(bad), clusterConfiguration: cc, initConfiguration: initConfigurationYaml({}, VERSION) }));
    expect(await cloudInitStatus(406)).toEqual([1, "status: error\n"]);
    expect(t.lab.host.serial.read(406)).toContain("error execution phase certs/ca: failure loading ca certificate authority: the certificate /etc/kubernetes/pki/ca.crt does not match the private key /etc/kubernetes/pki/ca.key");
  });
});

async function etcdClient(ca: KeyPair, address: string): Promise<EtcdClient> {
  const cert = await issueEtcdClientCertificate(ca);
  return new EtcdClient({ endpoint: `${address}:2379`, ca: ca.cert, crt: cert.cert, key: cert.key, dialer: network, timeoutMs: 3000 });
}
