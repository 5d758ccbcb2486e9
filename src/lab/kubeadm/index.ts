/**
 * The simulated `kubeadm` of lab guests running cloud-init (registered on {@link LabCloudInit}):
 *
 * - `init --config`: reads the ClusterConfiguration + InitConfiguration CABPK wrote, checks the CA
 *   files under `certificatesDir`, bootstraps the cluster's lab etcd membership with this node and
 *   starts its etcd member at `<node-ip>:2379` (etcd CA from the disk), waits for the lab workload API
 *   server at `controlPlaneEndpoint` (LabWorkloads.serverAt) and checks it serves with the cluster CA,
 *   registers the Node (control-plane role and taint, `spec.providerID` from the kubelet's
 *   `provider-id`, Ready without a CNI) and creates `kubeadm-config`, `kubelet-config`, `cluster-info`.
 * - `join --config`: token discovery as kubeadm checks it (bootstrap-token Secret present, right
 *   secret, not expired; the cluster CA pinned by `caCertHashes`), a control-plane join joins etcd
 *   and starts its member, then the Node registers (workers without the control-plane role).
 * - `reset`: leaves the etcd membership and stops the member.
 * The membership of a cluster is a {@link LabTalosCluster} (same shape) in DATA_DIR/lab/kubeadm/<endpoint>,
 * next to `nodes.json` (which VM runs which member): VM stop/destroy stops its etcd server, and a
 * restart of the lab (or of the VM) starts the members of running control-plane VMs again.
 * @module
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { log } from "../../lib/log.ts";
import { LabEtcdServer } from "../../providers/etcd/lab/server.ts";
import type { LabEvent, LabPve } from "../../providers/proxmox/lab/index.ts";
import { dhcpLease, parseNetworkConfig } from "../../providers/proxmox/lab/guest.ts";
import { LabTalosCluster } from "../../providers/talos/lab/cluster.ts";
import type { LabNetwork } from "../../providers/workload/dialer.ts";
import type { LabCloudInit, ProgramContext } from "../cloud-init/index.ts";
import type { WorkloadServer } from "../workload-server.ts";
import { KubeadmError, loadPki, nodeRegistration, parseArgs, readConfig, splitEndpoint } from "./config.ts";
import { checkServingCa, clusterKubernetesVersion, imageKubeletVersion, createKubeadmObjects, discover, registerNode } from "./kubelet.ts";

export interface LabKubeadmOptions {
  pve: LabPve;
  network: LabNetwork;
  cloudInit: LabCloudInit;
  /** DATA_DIR */
  dataDir: string;
  /** The lab workload API server at an endpoint (LabWorkloads.serverAt). */
  workloadServer: (host: string, port: number) => Promise<WorkloadServer | undefined>;
  /** How long init waits for the API server at the endpoint (default 60 s). */
  apiServerWaitMs?: number;
}

/** Which cluster and member a VM's kubeadm set up (nodes.json). */
interface NodeRecord {
  cluster: string;
  name: string;
  address: string;
  controlPlane: boolean;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});

export class LabKubeadm {
  readonly #o: LabKubeadmOptions;
  readonly #clusters = new Map<string, LabTalosCluster>();
  /** A control-plane VM's kube-apiserver on `<node-ip>:6443`: the cluster's workload server, announced there. */
  readonly #apiListeners = new Map<number, () => void>();
  readonly #etcd = new Map<number, LabEtcdServer>();
  readonly #file: string;
  #nodes: Record<string, NodeRecord>;
  #unsubscribe: (() => void) | undefined;

  constructor(o: LabKubeadmOptions) {
    this.#o = o;
    const dir = join(o.dataDir, "lab", "kubeadm");
    mkdirSync(dir, { recursive: true });
    this.#file = join(dir, "nodes.json");
    try {
      this.#nodes = JSON.parse(readFileSync(this.#file, "utf8")) as Record<string, NodeRecord>;
    } catch {
      this.#nodes = {};
    }
  }

  /** Registers `kubeadm` on the guests and resumes the etcd members of running control-plane VMs. */
  async start(): Promise<void> {
    this.#o.cloudInit.registerProgram("kubeadm", (ctx) => this.#run(ctx));
    this.#unsubscribe = this.#o.pve.on((e) => void this.#onEvent(e));
    for (const vmid of Object.keys(this.#nodes).map(Number)) {
      if (this.#o.pve.host.vm(vmid)?.status === "running") await this.#resume(vmid).catch((e: unknown) => log.warn({ component: "lab", vmid, err: String(e) }, "lab kubeadm: etcd did not resume"));
    }
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    for (const s of this.#etcd.values()) await s.stop();
    this.#etcd.clear();
    for (const unlisten of this.#apiListeners.values()) unlisten();
    this.#apiListeners.clear();
  }

  /** The etcd membership of the cluster at a control-plane endpoint (tests). */
  cluster(endpoint: string): LabTalosCluster {
    const key = endpoint.replace(/[^\w.-]/g, "_");
    let c = this.#clusters.get(key);
    if (!c) this.#clusters.set(key, (c = new LabTalosCluster(join(this.#o.dataDir, "lab", "kubeadm", key))));
    return c;
  }

  /** The running etcd server of a VM (tests). */
  etcdServer(vmid: number): LabEtcdServer | undefined {
    return this.#etcd.get(vmid);
  }

  #save(): void {
    writeFileSync(`${this.#file}.tmp`, JSON.stringify(this.#nodes, null, 2));
    renameSync(`${this.#file}.tmp`, this.#file);
  }

  async #onEvent(e: LabEvent): Promise<void> {
    if (e.type === "vm-stopped" || e.type === "vm-destroyed") {
      this.#apiListeners.get(e.vmid)?.();
      this.#apiListeners.delete(e.vmid);
      const s = this.#etcd.get(e.vmid);
      this.#etcd.delete(e.vmid);
      await s?.stop();
      if (e.type === "vm-destroyed" && this.#nodes[e.vmid]) {
        delete this.#nodes[e.vmid]; // its member stays in the membership until removed (as KCP does)
        this.#save();
      }
    } else if (e.type === "vm-started" && this.#nodes[e.vmid]) {
      await this.#resume(e.vmid).catch((err: unknown) => log.warn({ component: "lab", vmid: e.vmid, err: String(err) }, "lab kubeadm: etcd did not resume"));
    }
  }

  async #resume(vmid: number): Promise<void> {
    const rec = this.#nodes[vmid];
    if (!rec?.controlPlane) return;
    const cluster = this.cluster(rec.cluster);
    if (!cluster.member(rec.name)) return;
    const pki = loadPki(this.#o.cloudInit.disk(vmid));
    await this.#startEtcd(vmid, cluster, rec, pki.etcd);
    const { host, port } = splitEndpoint(rec.cluster);
    const server = await this.#o.workloadServer(host, port);
    if (server) this.#announceApi(vmid, rec.address, server);
  }

  #announceApi(vmid: number, address: string, server: WorkloadServer): void {
    this.#apiListeners.get(vmid)?.();
    this.#apiListeners.set(vmid, this.#o.network.listen(address, 6443, server.localPort));
  }

  async #startEtcd(vmid: number, cluster: LabTalosCluster, rec: NodeRecord, ca: { cert: string; key: string }): Promise<void> {
    await this.#etcd.get(vmid)?.stop();
    const server = new LabEtcdServer({ membership: cluster, clusterName: rec.cluster, name: rec.name, address: rec.address, ca, network: this.#o.network });
    await server.start();
    this.#etcd.set(vmid, server);
  }

  /** The VM's first IPv4 address: static from network-config, else the DHCP lease of its first NIC. */
  #address(vmid: number): string {
    const vm = this.#o.pve.host.vm(vmid);
    const nics = Object.entries(vm?.boot?.nics ?? {}).sort(([a], [b]) => Number(a.slice(3)) - Number(b.slice(3)));
    const text = vm?.boot?.cidata?.files?.["/network-config"];
    const plans = text !== undefined ? parseNetworkConfig(text) : undefined;
    for (const [, nic] of nics) {
      const ip = plans?.get(nic.mac)?.addresses.find((a) => a.family === "ipv4")?.ip;
      if (ip) return ip;
    }
    // no static address: the image's fallback netplan (DHCP on the first NIC)
    const first = nics[0]?.[1];
    const ip = first ? dhcpLease(this.#o.pve.host, first.bridge, first.mac)?.ip : undefined;
    if (!ip) throw new KubeadmError("unable to select an IP from default routes.");
    return ip;
  }

  async #run(ctx: ProgramContext): Promise<{ code: number; stdout: string; stderr: string }> {
    const out: string[] = [];
    try {
      const args = parseArgs(ctx.argv);
      if (args.command === "init") await this.#init(ctx, args.config, out);
      else if (args.command === "join") await this.#join(ctx, args.config, out);
      else if (args.command === "reset") await this.#reset(ctx, out);
      else if (args.command === "version") out.push(`kubeadm version: &version.Info{Major:"1", Minor:"33", GitVersion:"v1.33.1"}`);
      else throw new KubeadmError(`unknown command "${args.command}" for "kubeadm"`);
      return { code: 0, stdout: out.join("\n") + "\n", stderr: "" };
    } catch (e) {
      if (!(e instanceof KubeadmError)) log.warn({ component: "lab", vmid: ctx.vmid, err: String(e) }, "lab kubeadm failed");
      return { code: 1, stdout: out.length ? out.join("\n") + "\n" : "", stderr: `${(e as Error).message}\nTo see the stack trace of this error execute with --v=5 or higher\n` };
    }
  }

  #hostname(ctx: ProgramContext, name: string | undefined): string {
    return name ?? ctx.fs.readText("/etc/hostname")?.trim() ?? `vm${ctx.vmid}`;
  }

  async #apiServer(host: string, port: number, waitMs: number): Promise<WorkloadServer> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const s = await this.#o.workloadServer(host, port);
      if (s) return s;
      if (Date.now() > deadline) throw new KubeadmError(`error execution phase wait-control-plane: could not check the API server at https://${host}:${port}: connect: connection refused`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async #init(ctx: ProgramContext, configPath: string | undefined, out: string[]): Promise<void> {
    if (!configPath) throw new KubeadmError("the lab's kubeadm init needs --config");
    const docs = readConfig(ctx.fs, configPath);
    const cc = docs.get("ClusterConfiguration") ?? {};
    const ic = docs.get("InitConfiguration");
    const endpoint = String(cc.controlPlaneEndpoint ?? "");
    if (!endpoint) throw new KubeadmError("the lab's kubeadm needs controlPlaneEndpoint in the ClusterConfiguration");
    const pki = loadPki(ctx.fs, typeof cc.certificatesDir === "string" && cc.certificatesDir ? cc.certificatesDir : undefined);
    out.push("[certs] Using existing ca certificate authority", "[certs] Using existing front-proxy-ca certificate authority", "[certs] Using existing etcd/ca certificate authority");
    const reg = nodeRegistration(ic);
    const name = this.#hostname(ctx, reg.name);
    const address = this.#address(ctx.vmid);
    const cluster = this.cluster(endpoint);
    if (!cluster.member(name) || cluster.members.length !== 1) cluster.bootstrap(name, address);
    const rec: NodeRecord = { cluster: endpoint, name, address, controlPlane: true };
    await this.#startEtcd(ctx.vmid, cluster, rec, pki.etcd);
    this.#nodes[ctx.vmid] = rec;
    this.#save();
    out.push(`[etcd] Creating static Pod manifest for local etcd in "/etc/kubernetes/manifests"`);
    const { host, port } = splitEndpoint(endpoint);
    const server = await this.#apiServer(host, port, this.#o.apiServerWaitMs ?? 60_000);
    await checkServingCa(this.#o.network, host, port, pki.ca.cert);
    await registerNode(server, { name, address, controlPlane: true, reg, kubeletVersion: imageKubeletVersion(ctx.fs) ?? String(cc.kubernetesVersion ?? "v1.33.1"), vm: this.#o.pve.host.vm(ctx.vmid) });
    createKubeadmObjects(server, { clusterConfiguration: cc, endpoint, caPem: pki.ca.cert, nodeName: name });
    this.#announceApi(ctx.vmid, address, server);
    out.push("", "Your Kubernetes control-plane has initialized successfully!");
  }

  async #join(ctx: ProgramContext, configPath: string | undefined, out: string[]): Promise<void> {
    if (!configPath) throw new KubeadmError("the lab's kubeadm join needs --config");
    const jc = readConfig(ctx.fs, configPath).get("JoinConfiguration");
    if (!jc) throw new KubeadmError(`no JoinConfiguration in ${configPath}`);
    const bt = obj(obj(jc.discovery).bootstrapToken);
    const endpoint = String(bt.apiServerEndpoint ?? "");
    if (!endpoint) throw new KubeadmError("discovery.bootstrapToken.apiServerEndpoint is required");
    const { host, port } = splitEndpoint(endpoint);
    out.push("[preflight] Running pre-flight checks", `[discovery] Trying to connect to API Server "${endpoint}"`);
    const server = await this.#o.workloadServer(host, port);
    if (!server) throw new KubeadmError(`couldn't validate the identity of the API Server: Get "https://${endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": dial tcp ${endpoint}: connect: connection refused`);
    const caPem = discover(server, {
      token: String(bt.token ?? ""),
      caCertHashes: Array.isArray(bt.caCertHashes) ? bt.caCertHashes.map(String) : [],
      unsafeSkipCAVerification: bt.unsafeSkipCAVerification === true,
      now: new Date(),
    });
    await checkServingCa(this.#o.network, host, port, caPem);
    out.push(`[discovery] Successfully established connection with API Server "${endpoint}"`);
    const reg = nodeRegistration(jc);
    const name = this.#hostname(ctx, reg.name);
    const address = this.#address(ctx.vmid);
    const controlPlane = jc.controlPlane !== undefined && jc.controlPlane !== null;
    if (controlPlane) {
      const pki = loadPki(ctx.fs, typeof jc.caCertPath === "string" ? jc.caCertPath.replace(/\/ca\.crt$/, "") : undefined);
      const cluster = this.cluster(endpoint);
      if (!cluster.bootstrapped) throw new KubeadmError(`error execution phase control-plane-join/etcd: error creating local etcd static pod manifest file: etcdserver: the cluster at ${endpoint} has no etcd members`);
      cluster.join(name, address);
      const rec: NodeRecord = { cluster: endpoint, name, address, controlPlane };
      await this.#startEtcd(ctx.vmid, cluster, rec, pki.etcd);
      this.#nodes[ctx.vmid] = rec;
      this.#save();
      out.push("[etcd] Announced new etcd member joining to the existing etcd cluster");
    } else {
      this.#nodes[ctx.vmid] = { cluster: endpoint, name, address, controlPlane };
      this.#save();
    }
    await registerNode(server, { name, address, controlPlane, reg, kubeletVersion: imageKubeletVersion(ctx.fs) ?? clusterKubernetesVersion(server) ?? "v1.33.1", vm: this.#o.pve.host.vm(ctx.vmid) });
    if (controlPlane) this.#announceApi(ctx.vmid, address, server);
    out.push("", "This node has joined the cluster");
  }

  async #reset(ctx: ProgramContext, out: string[]): Promise<void> {
    const rec = this.#nodes[ctx.vmid];
    this.#apiListeners.get(ctx.vmid)?.();
    this.#apiListeners.delete(ctx.vmid);
    const s = this.#etcd.get(ctx.vmid);
    this.#etcd.delete(ctx.vmid);
    await s?.stop();
    if (rec?.controlPlane && this.cluster(rec.cluster).leave(rec.name)) out.push("[reset] Removing this etcd member from the cluster");
    if (rec) {
      delete this.#nodes[ctx.vmid];
      this.#save();
    }
    out.push("[reset] Stopping the kubelet service", "[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]");
    for (const d of ["/etc/kubernetes/manifests", "/var/lib/kubelet", "/etc/kubernetes/pki"]) if (ctx.fs.exists(d)) ctx.fs.remove(d, true);
  }
}

