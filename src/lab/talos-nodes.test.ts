import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KObject } from "../lib/kobject.ts";
import { InProcessBackend } from "../providers/proxmox/inprocess.ts";
import { createLabPve, INSTANT_LATENCIES, type LabPve } from "../providers/proxmox/lab/index.ts";
import { openTerminal, waitFor } from "../providers/proxmox/lab/testing.ts";
import { TalosClient, TalosNodeError } from "../providers/talos/api/client.ts";
import { createTalosCA, issueTalosAdminCertificate, normalizeKeyPem, pemFromConfig } from "../providers/talos/api/pki.ts";
import { buildBootstrapData } from "../providers/talos/bootstrap-data.ts";
import { generateSecretsBundle, type SecretsBundle } from "../providers/talos/secrets.ts";
import { encodeDocuments } from "../providers/talos/yaml.ts";
import { LabNetwork } from "../providers/workload/dialer.ts";
import { get } from "../registry/rest/get.ts";
import { clusterKey, LabTalosNodes } from "./talos-nodes.ts";
import { startWorkloadServer, type WorkloadServer } from "./workload-server.ts";

const ENDPOINT_HOST = "10.10.0.50";
const ENDPOINT = `https://${ENDPOINT_HOST}:6443`;

let dataDir: string;
let bundle: SecretsBundle;
let pve: LabPve;
let network: LabNetwork;
let nodes: LabTalosNodes;
let workload: WorkloadServer;
const clients: TalosClient[] = [];
/** Further workload API servers (other clusters' endpoints), by host. */
const extraServers = new Map<string, WorkloadServer>();

interface Config {
  machine: { ca: { crt: string; key: string } };
  cluster: { ca: { crt: string; key: string } };
}

function config(type: "controlplane" | "worker", hostname?: string) {
  return buildBootstrapData({
    generateType: type,
    bundle,
    clusterName: "c1",
    endpoint: ENDPOINT,
    kubernetesVersion: "v1.33.1",
    ...(hostname ? { hostname } : {}),
  });
}

async function up(): Promise<void> {
  pve = createLabPve({ dataDir, latencies: INSTANT_LATENCIES });
  network = new LabNetwork();
  // The cluster's API at its endpoint, with the Kubernetes CA of the machine config (CABPT writes it as <cluster>-ca).
  const k8s = (config("controlplane").documents[0] as unknown as Config).cluster.ca;
  workload = await startWorkloadServer({
    dir: join(dataDir, "lab", "workloads", "default", "c1"),
    caPem: pemFromConfig(k8s.crt),
    caKeyPem: pemFromConfig(k8s.key),
    host: ENDPOINT_HOST,
    port: 6443,
    network,
  });
  nodes = new LabTalosNodes({
    pve,
    network,
    dataDir,
    pollMs: 30,
    workloadServer: async (host, port) => (port !== 6443 ? undefined : host === ENDPOINT_HOST ? workload : extraServers.get(host)),
  });
  await nodes.start();
}

async function down(): Promise<void> {
  for (const c of clients.splice(0)) c.close();
  await nodes.stop();
  await workload.close();
  for (const s of extraServers.values()) await s.close();
  extraServers.clear();
  await pve.stop();
}

async function ok<T>(method: string, path: string, params: Record<string, string | number> = {}): Promise<T> {
  const r = await pve.request(method, path, params, pve.token);
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${r.reason}`);
  return r.body!.data as T;
}

async function waitTask(upid: string): Promise<string | undefined> {
  const node = upid.split(":")[1]!;
  for (;;) {
    const s = await ok<{ status: string; exitstatus?: string }>("GET", `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`);
    if (s.status === "stopped") return s.exitstatus;
    await Bun.sleep(10);
  }
}

/** As CAPMOX does it: clone the Talos template, cicustom snippets with the bootstrap data, start. */
async function bootVm(vmid: number, name: string, userData: string, ip: string): Promise<void> {
  expect(await waitTask(await ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: vmid, name, full: 0 }))).toBe("OK");
  const mac = /virtio=([0-9A-Fa-f:]+)/.exec((await ok<Record<string, string>>("GET", `/nodes/pve1/qemu/${vmid}/config`)).net0!)![1]!.toLowerCase();
  const backend = new InProcessBackend(pve);
  const att = await backend.putBootstrapData(
    { node: "pve1", vmid },
    {
      userData,
      metaData: `instance-id: ${vmid}\nlocal-hostname: ${name}\nhostname: ${name}\n`,
      networkConfig: `version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: "${mac}"\n    addresses:\n      - ${ip}/24\n    gateway4: 10.10.0.1\n`,
    },
  );
  await ok("PUT", `/nodes/pve1/qemu/${vmid}/config`, att.config as Record<string, string>);
  expect(await waitTask(await ok<string>("POST", `/nodes/pve1/qemu/${vmid}/status/start`))).toBe("OK");
  await nodes.idle();
}

/** Fails after `ms` instead of hanging a test on a promise that never settles. */
function within<T>(p: Promise<T> | undefined, ms = 10_000, what = "registration"): Promise<T> {
  if (!p) return Promise.reject(new Error(`no ${what} pending`));
  return Promise.race([p, Bun.sleep(ms).then(() => Promise.reject(new Error(`timed out waiting for ${what}`)))]);
}

async function adminClient(endpoint: string, serverName: string): Promise<TalosClient> {
  const os = (config("controlplane").documents[0] as unknown as Config).machine.ca;
  const admin = await issueTalosAdminCertificate({ certPem: pemFromConfig(os.crt), keyPem: normalizeKeyPem(pemFromConfig(os.key)) });
  const c = new TalosClient({ endpoints: [endpoint], ca: os.crt, crt: admin.certPem, key: admin.keyPem, serverName, dialer: network, timeoutMs: 10_000 });
  clients.push(c);
  return c;
}

function workloadNode(name: string): KObject | undefined {
  try {
    return get(workload.rest, workload.rest.registry.resolve("", "v1", "nodes")!, "", name);
  } catch {
    return undefined;
  }
}

type NodeStatus = {
  conditions: { type: string; status: string; reason: string }[];
  addresses: { type: string; address: string }[];
  nodeInfo: { kubeletVersion: string; osImage: string };
};

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "lab-talos-nodes-"));
  bundle = await generateSecretsBundle();
  await up();
});

afterAll(async () => {
  await down();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("lab Talos nodes booted from lab PVE VMs", () => {
  test("a control plane VM comes up: Version over mTLS at its address, Bootstrap makes it the etcd member, its Node registers without providerID", async () => {
    await bootVm(201, "c1-cp-0", config("controlplane", "c1-cp-0").yaml, "10.10.0.61");
    const node = nodes.node(201)!;
    expect(node.running).toBe(true);
    expect(node.address).toBe("10.10.0.61");
    expect(network.lookup("10.10.0.61", 50000)?.port).toBe(node.port);

    const c = await adminClient("10.10.0.61", "c1-cp-0");
    const [v] = await c.version();
    expect(v!.version!.tag).toBe("v1.13.9");
    expect(v!.platform!.name).toBe("nocloud");
    // mTLS: a client certificate from another CA is refused
    const other = await createTalosCA();
    const stranger = await issueTalosAdminCertificate(other);
    const os = (config("controlplane").documents[0] as unknown as Config).machine.ca;
    const bad = new TalosClient({ endpoints: ["10.10.0.61"], ca: os.crt, crt: stranger.certPem, key: stranger.keyPem, serverName: "c1-cp-0", dialer: network, timeoutMs: 5_000 });
    clients.push(bad);
    const refused = await bad.version().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TalosNodeError);
    expect((refused as TalosNodeError).code).toBe(14); // UNAVAILABLE: the TLS handshake failed

    // the kubelet waits for etcd, which waits for bootstrap
    await Bun.sleep(150);
    expect(workloadNode("c1-cp-0")).toBeUndefined();
    expect(nodes.consoleLog(201)).toContain("kubelet: waiting for etcd (the cluster is not bootstrapped)");

    await c.bootstrap();
    expect(String(await c.bootstrap().catch((e: unknown) => e))).toContain("etcd data directory is not empty");
    const [members] = await c.etcdMemberList();
    expect(members!.members.map((m) => m.hostname)).toEqual(["c1-cp-0"]);
    expect(members!.members[0]!.peerUrls).toEqual(["https://10.10.0.61:2380"]);
    expect(existsSync(join(dataDir, "lab", "talos", clusterKey(node.config), "etcd.json"))).toBe(true);

    await within(nodes.registered(201)).catch((e: unknown) => {
      throw new Error(`${String(e)}; console:\n${nodes.consoleLog(201)}`);
    });
    const n = workloadNode("c1-cp-0")!;
    expect(n).toBeDefined();
    expect((n.spec as { providerID?: string }).providerID).toBeUndefined();
    expect(n.metadata.labels).toMatchObject({ "node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "c1-cp-0" });
    const st = n.status as NodeStatus;
    expect(st.conditions.find((x) => x.type === "Ready")).toMatchObject({ status: "True", reason: "KubeletReady" });
    expect(st.addresses).toEqual([
      { type: "InternalIP", address: "10.10.0.61" },
      { type: "Hostname", address: "c1-cp-0" },
    ]);
    expect(st.nodeInfo.kubeletVersion).toBe("v1.33.1");
    expect(st.nodeInfo.osImage).toBe("Talos (v1.13.9)");
    expect(nodes.consoleLog(201)).toContain(`kubelet: node c1-cp-0 registered with ${ENDPOINT}`);
  });

  test("a worker (hostname from meta-data) joins once a control plane is up; no control-plane label", async () => {
    await bootVm(202, "c1-w-0", config("worker").yaml, "10.10.0.71");
    const w = nodes.node(202)!;
    expect(w.hostname).toBe("c1-w-0");
    expect(w.controlPlane).toBe(false);
    await within(nodes.registered(202));
    const n = workloadNode("c1-w-0")!;
    expect((n.spec as { providerID?: string }).providerID).toBeUndefined();
    expect(n.metadata.labels?.["node-role.kubernetes.io/control-plane"]).toBeUndefined();
    expect((n.status as NodeStatus).conditions.find((x) => x.type === "Ready")?.status).toBe("True");
    // workers are no etcd members
    const [members] = await (await adminClient("10.10.0.61", "c1-cp-0")).etcdMemberList();
    expect(members!.members.map((m) => m.hostname)).toEqual(["c1-cp-0"]);
  });

  test("an invalid machine config: the node never comes up and its console says why", async () => {
    const docs = config("controlplane", "c1-bad").documents.map((d) => structuredClone(d));
    (docs[0] as { machine: Record<string, unknown> }).machine.kubelet = { image: "ghcr.io/siderolabs/kubelet:v1.33.1", extraArgz: { foo: "bar" } };
    await bootVm(203, "c1-bad", encodeDocuments(docs), "10.10.0.62");
    expect(nodes.node(203)).toBeUndefined();
    expect(network.lookup("10.10.0.62", 50000)).toBeUndefined();
    // the VM's console, a file beside the lab PVE's state
    expect(nodes.consolePath(203)).toBe(join(dataDir, "lab", "console", "203.log"));
    const console = nodes.consoleLog(203);
    expect(console).toContain("failed to validate config against the v1.13.9 schema");
    expect(console).toContain('/machine/kubelet: unknown field "extraArgz"');
    expect(console).toContain("boot halted");
    // and what a user sees in the PVE web console (termproxy + vncwebsocket over the lab's HTTPS API)
    const https = await pve.serveHttps({ host: "127.0.0.1", port: 0 });
    try {
      const term = await openTerminal(https, "pve1", 203);
      await waitFor(() => term.text().includes("boot halted"), 5000, "the console through termproxy");
      expect(term.text()).toStartWith("OKstarting serial terminal on interface serial0\r\n");
      expect(term.text()).toContain(`/machine/kubelet: unknown field "extraArgz"`);
      term.close();
      await term.closed;
    } finally {
      await https.close();
    }
    expect(workloadNode("c1-bad")).toBeUndefined();
  });

  test("a cluster.ca the API server at the endpoint does not use: the kubelet cannot register (x509), as on real nodes", async () => {
    const other = await generateSecretsBundle();
    const cfg = buildBootstrapData({ generateType: "controlplane", bundle: other, clusterName: "c2", endpoint: ENDPOINT, kubernetesVersion: "v1.33.1", hostname: "c2-cp-0" });
    await bootVm(204, "c2-cp-0", cfg.yaml, "10.10.0.63");
    const node = nodes.node(204)!;
    expect(node.cluster).not.toBe(nodes.node(201)!.cluster); // its own etcd (another cluster id)
    const os = (cfg.documents[0] as unknown as Config).machine.ca;
    const admin = await issueTalosAdminCertificate({ certPem: pemFromConfig(os.crt), keyPem: normalizeKeyPem(pemFromConfig(os.key)) });
    const c = new TalosClient({ endpoints: ["10.10.0.63"], ca: os.crt, crt: admin.certPem, key: admin.keyPem, serverName: "c2-cp-0", dialer: network, timeoutMs: 10_000 });
    clients.push(c);
    await c.bootstrap();
    await waitFor(() => nodes.consoleLog(204).includes("x509: certificate signed by unknown authority"), 5000, "the kubelet's TLS failure on the console");
    expect(workloadNode("c2-cp-0")).toBeUndefined();
  });

  test("stopping a VM stops its node (Node goes Unknown); starting it again brings it back", async () => {
    expect(await waitTask(await ok<string>("POST", "/nodes/pve1/qemu/202/status/stop"))).toBe("OK");
    await nodes.idle();
    expect(nodes.node(202)).toBeUndefined();
    expect(network.lookup("10.10.0.71", 50000)).toBeUndefined();
    expect((workloadNode("c1-w-0")!.status as NodeStatus).conditions.find((x) => x.type === "Ready")).toMatchObject({ status: "Unknown", reason: "NodeStatusUnknown" });
    expect(await waitTask(await ok<string>("POST", "/nodes/pve1/qemu/202/status/start"))).toBe("OK");
    await nodes.idle();
    await within(nodes.registered(202));
    expect((workloadNode("c1-w-0")!.status as NodeStatus).conditions.find((x) => x.type === "Ready")?.status).toBe("True");
  });

  test("after a daemon restart the running VMs' nodes come back with their etcd state", async () => {
    await down();
    await up();
    const node = nodes.node(201)!;
    expect(node.running).toBe(true);
    // the worker's apid waits for a control plane's trustd to sign its certificate
    await waitFor(() => nodes.node(202)?.running, 5000, "the worker's apid");
    expect(nodes.node(203)).toBeUndefined();
    const c = await adminClient("10.10.0.61", "c1-cp-0");
    const [v] = await c.version();
    expect(v!.version!.tag).toBe("v1.13.9");
    const [members] = await c.etcdMemberList();
    expect(members!.members.map((m) => m.hostname)).toEqual(["c1-cp-0"]);
    // bootstrapped once: a second Bootstrap is refused as Talos does
    expect(String(await c.bootstrap().catch((e: unknown) => e))).toContain("etcd data directory is not empty");
    await Promise.all([within(nodes.registered(201)), within(nodes.registered(202))]);
    expect((workloadNode("c1-cp-0")!.status as NodeStatus).conditions.find((x) => x.type === "Ready")?.status).toBe("True");
  });

  test("destroying a VM stops its node and wipes its state", async () => {
    expect(await waitTask(await ok<string>("POST", "/nodes/pve1/qemu/202/status/stop"))).toBe("OK");
    const dir = nodes.cluster(clusterKey(nodes.node(201)!.config)).nodeDir("c1-w-0");
    expect(existsSync(dir)).toBe(true);
    expect(await waitTask(await ok<string>("DELETE", "/nodes/pve1/qemu/202"))).toBe("OK");
    await nodes.idle();
    expect(nodes.node(202)).toBeUndefined();
    expect(existsSync(dir)).toBe(false);
    await waitFor(() => nodes.consoleLog(202) === "", 2000, "console log removed");
  });
});

describe("lab Talos nodes from multi-document machine configs (contracts v1.14, v1.15)", () => {
  const cases = [
    { talosVersion: "v1.14", vmBase: 310, ipBase: 81, endpointHost: "10.10.0.51" },
    { talosVersion: "v1.15", vmBase: 320, ipBase: 91, endpointHost: "10.10.0.52" },
  ];
  for (const { talosVersion, vmBase, ipBase, endpointHost } of cases) {
    test(`${talosVersion}: control plane and worker boot, answer Version over mTLS, bootstrap etcd and register their Nodes`, async () => {
      const b = await generateSecretsBundle();
      const endpoint = `https://${endpointHost}:6443`;
      const name = `m${talosVersion.replace(/\W/g, "")}`;
      const gen = (type: "controlplane" | "worker", hostname?: string) =>
        buildBootstrapData({ generateType: type, bundle: b, clusterName: name, endpoint, kubernetesVersion: "v1.34.2", talosVersion, ...(hostname ? { hostname } : {}) });
      const cp = gen("controlplane", `${name}-cp-0`);
      // the multi-document form: no cluster.ca / controlPlane in the v1alpha1 document
      const v1 = cp.documents[0] as { cluster: Record<string, unknown>; machine: { ca: { crt: string; key: string } } };
      expect(v1.cluster.ca).toBeUndefined();
      expect(v1.cluster.controlPlane).toBeUndefined();
      const caDoc = cp.documents.find((d) => d.kind === "KubeAPIServerCAConfig") as { issuingCA: { cert: string; key: string } };
      const server = await startWorkloadServer({
        dir: join(dataDir, "lab", "workloads", "default", name),
        caPem: pemFromConfig(caDoc.issuingCA.cert),
        caKeyPem: pemFromConfig(caDoc.issuingCA.key),
        host: endpointHost,
        port: 6443,
        network,
      });
      extraServers.set(endpointHost, server);
      const nodeOf = (n: string): KObject | undefined => {
        try {
          return get(server.rest, server.rest.registry.resolve("", "v1", "nodes")!, "", n);
        } catch {
          return undefined;
        }
      };

      const cpIp = `10.10.0.${ipBase}`;
      await bootVm(vmBase, `${name}-cp-0`, cp.yaml, cpIp);
      const node = nodes.node(vmBase);
      if (!node) throw new Error(`control plane did not come up; console:\n${nodes.consoleLog(vmBase)}`);
      expect(node.controlPlane).toBe(true);
      expect(node.hostname).toBe(`${name}-cp-0`);
      expect(node.config.cluster.controlPlane.endpoint).toBe(endpoint);
      expect(node.config.cluster.clusterName).toBe(name);
      expect(clusterKey(node.config)).toBe(b.cluster.id.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));

      const admin = await issueTalosAdminCertificate({ certPem: pemFromConfig(v1.machine.ca.crt), keyPem: normalizeKeyPem(pemFromConfig(v1.machine.ca.key)) });
      const c = new TalosClient({ endpoints: [cpIp], ca: v1.machine.ca.crt, crt: admin.certPem, key: admin.keyPem, serverName: `${name}-cp-0`, dialer: network, timeoutMs: 10_000 });
      clients.push(c);
      const [v] = await c.version();
      expect(v!.version!.tag).toBe("v1.14.0");
      // mTLS: a client certificate from another CA is refused
      const stranger = await issueTalosAdminCertificate(await createTalosCA());
      const bad = new TalosClient({ endpoints: [cpIp], ca: v1.machine.ca.crt, crt: stranger.certPem, key: stranger.keyPem, serverName: `${name}-cp-0`, dialer: network, timeoutMs: 5_000 });
      clients.push(bad);
      expect(((await bad.version().catch((e: unknown) => e)) as TalosNodeError).code).toBe(14);

      await waitFor(() => nodes.consoleLog(vmBase).includes("kubelet: waiting for etcd (the cluster is not bootstrapped)"), 5000, "the kubelet waiting for etcd");
      expect(nodeOf(`${name}-cp-0`)).toBeUndefined();
      await c.bootstrap();
      const [members] = await c.etcdMemberList();
      expect(members!.members.map((m) => m.hostname)).toEqual([`${name}-cp-0`]);
      await within(nodes.registered(vmBase)).catch((e: unknown) => {
        throw new Error(`${String(e)}; console:\n${nodes.consoleLog(vmBase)}`);
      });
      const n = nodeOf(`${name}-cp-0`)!;
      expect(n.metadata.labels).toMatchObject({ "node-role.kubernetes.io/control-plane": "", "node.kubernetes.io/exclude-from-external-load-balancers": "" });
      expect((n.spec as { taints?: unknown[] }).taints).toEqual([{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }]);
      const st = n.status as NodeStatus;
      expect(st.nodeInfo.kubeletVersion).toBe("v1.34.2");
      expect(st.nodeInfo.osImage).toBe("Talos (v1.14.0)");
      expect(st.addresses).toContainEqual({ type: "InternalIP", address: cpIp });
      expect(nodes.consoleLog(vmBase)).toContain(`kubelet: node ${name}-cp-0 registered with ${endpoint}`);

      // the worker: hostname from meta-data, Kubernetes CA from acceptedCAs, no keys of its own
      const w = gen("worker");
      await bootVm(vmBase + 1, `${name}-w-0`, w.yaml, `10.10.0.${ipBase + 1}`);
      const wn = nodes.node(vmBase + 1);
      if (!wn) throw new Error(`worker did not come up; console:\n${nodes.consoleLog(vmBase + 1)}`);
      expect(wn.controlPlane).toBe(false);
      expect(wn.cluster).toBe(node.cluster);
      await within(nodes.registered(vmBase + 1)).catch((e: unknown) => {
        throw new Error(`${String(e)}; console:\n${nodes.consoleLog(vmBase + 1)}`);
      });
      const wNode = nodeOf(`${name}-w-0`)!;
      expect(wNode.metadata.labels?.["node-role.kubernetes.io/control-plane"]).toBeUndefined();
      expect((wNode.spec as { taints?: unknown[] }).taints).toBeUndefined();
      expect((wNode.status as NodeStatus).conditions.find((x) => x.type === "Ready")?.status).toBe("True");
      const [after] = await c.etcdMemberList();
      expect(after!.members.map((m) => m.hostname)).toEqual([`${name}-cp-0`]);
    });
  }

  test("a multi-document config without its Kubernetes CA document: the node stays down and says so", async () => {
    const cfg = buildBootstrapData({ generateType: "controlplane", bundle, clusterName: "c1", endpoint: ENDPOINT, kubernetesVersion: "v1.34.2", talosVersion: "v1.14", hostname: "c1-noca" });
    const docs = cfg.documents.filter((d) => d.kind !== "KubeAPIServerCAConfig");
    await bootVm(330, "c1-noca", encodeDocuments(docs), "10.10.0.99");
    expect(nodes.node(330)).toBeUndefined();
    expect(nodes.consoleLog(330)).toContain("KubeAPIServerCAConfig: the Kubernetes CA certificate is required");
  });
});
