/**
 * Lab Talos nodes: a lab PVE VM that boots with a Talos machine config on its NoCloud (cidata)
 * drive becomes a simulated Talos node, as the nocloud platform of Talos would bring it up:
 *
 * - user-data is the machine config (one or more YAML documents; `#cloud-config` is not one), in
 *   the v1alpha1 form of contracts <= 1.13 or the multi-document form of 1.14+; every field is read
 *   from the document that carries it for that form (src/providers/talos/lab/config-view.ts);
 *   meta-data gives the platform hostname (`hostname`, else `local-hostname`), the config's
 *   hostname (`machine.network.hostname` or a HostnameConfig document) wins; network-config
 *   (NoCloud v1 or v2, bare or under `network:`) gives the node's address, else the bridge's DHCP.
 * - every document is validated against the JSON schema of the node's Talos minor
 *   (src/providers/talos/schemas); an invalid config keeps the node down and says why on its
 *   console (serial0 of the lab PVE: DATA_DIR/lab/console/<vmid>.log, appended per boot, and
 *   what `POST …/termproxy` + `vncwebsocket` or the PVE web console show).
 * - the node's machine API ({@link LabTalosNode}) answers at `<address>:50000` on the lab LAN,
 *   with the etcd simulation of its cluster ({@link LabTalosCluster}, DATA_DIR/lab/talos/<id>).
 * - its kubelet starts when Talos would start it (control plane: once it is an etcd member;
 *   worker: once a control plane of its cluster is), and registers a Node at the config's
 *   `cluster.controlPlane.endpoint` over HTTPS through the lab LAN, trusting `cluster.ca` and
 *   authenticating as `system:node:<hostname>` with a certificate from that CA — so the workload
 *   API server there must use the same CA, or registration fails as it would (logged on the console).
 *   As real Talos, the kubelet sets no `spec.providerID`.
 *
 * VMs stopping or going away stop their node (a destroyed VM's disk, i.e. the node's state, is
 * wiped); on start every running VM's node comes back.
 * @module
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { parse } from "yaml";
import { log } from "../lib/log.ts";
import type { LabEvent, LabPve } from "../providers/proxmox/lab/index.ts";
import { dhcpLease, parseNetworkConfig } from "../providers/proxmox/lab/guest.ts";
import type { VmRecord } from "../providers/proxmox/lab/state.ts";
import { normalizeKeyPem, pemFromConfig } from "../providers/talos/api/pem.ts";
import { LabTalosCluster } from "../providers/talos/lab/cluster.ts";
import { configView, effectiveConfig, labTalosVersion, v1alpha1Document, type ConfigView } from "../providers/talos/lab/config-view.ts";
import { LabTalosNode, type TalosMachineConfigLike } from "../providers/talos/lab/node.ts";
import { decodeDocuments } from "../providers/talos/yaml.ts";
import type { LabNetwork } from "../providers/workload/dialer.ts";
import type { KObject } from "../lib/kobject.ts";
import type { RequestContext } from "../registry/rest/context.ts";
import type { WorkloadServer } from "./workload-server.ts";
import { kubeletNodeStatus, nodeCondition, registerKubeletNode } from "./kubelet-registration.ts";

export interface LabTalosNodesOptions {
  pve: LabPve;
  network: LabNetwork;
  /** DATA_DIR */
  dataDir: string;
  /**
   * The lab workload API server listening at a cluster endpoint (see LabWorkloads.serverAt). The
   * kubelet first reaches it over HTTPS through the lab LAN (server certificate checked against
   * `cluster.ca`, its client certificate from that CA), then writes its Node through the server's
   * registry: the appliance's authorizer knows no Node authorizer for `system:node:*` users.
   */
  workloadServer: (host: string, port: number) => Promise<WorkloadServer | undefined>;
  /** How often a waiting kubelet looks again (default 500 ms). */
  pollMs?: number;
}

/** What a VM's cidata says about the Talos node it boots. */
export interface TalosBoot {
  docs: Record<string, unknown>[];
  config: TalosMachineConfigLike & Record<string, unknown>;
  hostname: string;
  address: string;
  talosVersion: string;
  kubeletVersion: string;
}

type KubeletPhase = "waiting" | "registering" | "registered" | "stopped";

interface Running {
  vmid: number;
  boot: TalosBoot;
  node: LabTalosNode;
  kubelet: KubeletPhase;
  timer?: ReturnType<typeof setInterval>;
  lastError?: string;
  creds?: { certPem: string; keyPem: string; caPem: string };
  /** Resolves when the Node is registered (tests, callers that wait). */
  registered: Promise<void>;
  markRegistered: () => void;
}

const tagOf = (image: unknown) => (typeof image === "string" ? /:(v[^:@/]+)(@.*)?$/.exec(image)?.[1] : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** Why a VM does not come up as a Talos node (printed on its console). */
export class TalosBootError extends Error {}

/** True when user-data is a Talos machine config (not cloud-init's `#cloud-config`/`#include`). */
export function isTalosUserData(text: string | undefined): boolean {
  if (!text || /^#(cloud-config|include|!)/.test(text.trimStart())) return false;
  try {
    return decodeDocuments(text).some((d) => (d.version === "v1alpha1" && "machine" in d) || /\.talos\.dev\/v1alpha1$|^v1alpha1$/.test(String(d.apiVersion ?? "")));
  } catch {
    return false;
  }
}

/** The cluster's directory name under DATA_DIR/lab/talos: its id (base64url), else its name. */
export function clusterKey(config: TalosMachineConfigLike): string {
  const id = config.cluster.id?.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return id || (config.cluster.clusterName ?? "default").replace(/[^\w.-]/g, "_");
}

/** The fields of a machine config that a running lab node and its kubelet read. */
function essentials(c: TalosBoot["config"]): TalosBoot["config"] {
  // Copied through JSON: the parser's strings may be views that keep the whole YAML text alive.
  const copy = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));
  const pick = (from: unknown, keys: string[]) => Object.fromEntries(keys.filter((key) => obj(from)?.[key] !== undefined).map((key) => [key, copy(obj(from)![key])]));
  const { machine: m, cluster: k } = c;
  return {
    machine: {
      ...pick(m, ["nodeLabels", "nodeTaints", "certSANs"]),
      type: copy(m.type),
      ca: copy({ crt: m.ca.crt, key: m.ca.key }),
      ...(m.install?.image ? { install: { image: copy(m.install.image) } } : {}),
    },
    cluster: {
      ...pick(k, ["allowSchedulingOnControlPlanes", "id", "clusterName", "ca"]),
      controlPlane: { endpoint: copy(k.controlPlane.endpoint) },
    },
  };
}

/** Talos' stable hostname (`talos-xxx-yyy`) when neither platform nor config name the node. */
function stableHostname(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex");
  return `talos-${h.slice(0, 3)}-${h.slice(3, 6)}`;
}

/** Reads a VM's cidata as Talos' nocloud platform does; throws {@link TalosBootError} with the reason. */
export function readTalosBoot(pve: LabPve, vm: VmRecord): TalosBoot {
  const files = vm.boot?.cidata?.files ?? {};
  const userData = files["/user-data"];
  if (!userData?.trim()) throw new TalosBootError("no machine config found on the cidata volume (user-data is empty); entering maintenance mode");
  let docs: Record<string, unknown>[];
  try {
    docs = decodeDocuments(userData, "user-data");
  } catch (e) {
    throw new TalosBootError(`failed to load config: ${(e as Error).message}`);
  }
  const v1 = v1alpha1Document(docs);
  if (!v1) throw new TalosBootError("failed to load config: the v1alpha1 config document is missing");
  const view = configView(docs);
  return { docs, ...nodeFacts(pve, vm, docs, v1, view, labTalosVersion(view)) };
}

function nodeFacts(pve: LabPve, vm: VmRecord, docs: Record<string, unknown>[], v1: Record<string, unknown>, view: ConfigView, talosVersion: string): Omit<TalosBoot, "docs"> {
  const machine = obj(v1.machine);
  const cluster = obj(v1.cluster);
  const multi = view.multiDocument;
  const problems: string[] = [];
  if (!machine) problems.push("machine: the machine section is required");
  if (!cluster && !multi) problems.push("cluster: the cluster section is required");
  const type = view.machineType;
  if (machine && !["controlplane", "init", "worker"].includes(type)) problems.push(`machine.type: unknown machine type ${JSON.stringify(type)}`);
  if (machine && !view.machineCA) problems.push("machine.ca: the machine CA certificate is required");
  const endpoint = view.endpoint ?? "";
  const endpointField = multi ? "KubeClusterConfig.endpoint" : "cluster.controlPlane.endpoint";
  if ((cluster || multi) && !/^https:\/\/[^/]+/.test(endpoint)) problems.push(`${endpointField}: ${JSON.stringify(endpoint)} is not an https URL`);
  if ((cluster || multi) && !view.kubernetesCA) {
    problems.push(multi ? "KubeAPIServerCAConfig: the Kubernetes CA certificate is required" : "cluster.ca: the Kubernetes CA certificate is required");
  }
  if (problems.length) throw new TalosBootError(`failed to validate config:\n\t* ${problems.join("\n\t* ")}`);

  // hostname: config first (machine.network.hostname or HostnameConfig), then meta-data, else stable
  const files = vm.boot?.cidata?.files ?? {};
  let meta: Record<string, unknown> = {};
  try {
    meta = obj(parse(files["/meta-data"] ?? "")) ?? {};
  } catch {
    // Talos logs and ignores unreadable meta-data
  }
  const fromConfig = view.hostname;
  const fromMeta = meta.hostname ?? meta["local-hostname"];
  const smbiosUuid = /(?:^|,)uuid=([^,]+)/.exec(vm.config.smbios1 ?? "")?.[1] ?? String(vm.vmid);
  const hostname = String(fromConfig || fromMeta || stableHostname(smbiosUuid)).split(".")[0]!.toLowerCase();

  const address = nodeAddress(pve, vm, view);
  if (!address) throw new TalosBootError("network: no IPv4 address on any link (no static address in network-config and no DHCP lease)");

  const kubeletVersion = tagOf(view.kubeletImage) ?? "";
  if (!kubeletVersion) {
    throw new TalosBootError(`failed to validate config:\n\t* ${multi ? "KubeletConfig.image" : "machine.kubelet.image"}: a kubelet image with a version tag is required`);
  }
  return { config: effectiveConfig(docs), hostname, address, talosVersion, kubeletVersion };
}

/** The node's first IPv4 address: static from network-config or the config, else the DHCP lease. */
function nodeAddress(pve: LabPve, vm: VmRecord, view: ConfigView): string | undefined {
  const nics = Object.entries(vm.boot?.nics ?? {}).sort(([a], [b]) => Number(a.slice(3)) - Number(b.slice(3)));
  const text = vm.boot?.cidata?.files?.["/network-config"];
  const plans = text !== undefined ? parseNetworkConfig(text) : undefined;
  const v4 = (addrs: { ip: string; family: string }[] | undefined) => addrs?.find((a) => a.family === "ipv4")?.ip;
  for (const [, nic] of nics) {
    const ip = v4(plans?.get(nic.mac)?.addresses);
    if (ip) return ip;
  }
  for (const plan of plans?.values() ?? []) {
    const ip = v4(plan.addresses);
    if (ip) return ip;
  }
  const fromConfig = view.addresses.map((a) => a.split("/")[0]!).find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
  if (fromConfig) return fromConfig;
  // No static address: DHCP on the first NIC (Talos' default when network-config has none).
  const dhcp = !plans || nics.some(([, nic]) => plans.get(nic.mac)?.dhcp4);
  const first = nics[0]?.[1];
  if (dhcp && first) return dhcpLease(pve.host, first.bridge, first.mac)?.ip;
  return undefined;
}

export class LabTalosNodes {
  readonly #o: LabTalosNodesOptions;
  readonly #clusters = new Map<string, LabTalosCluster>();
  readonly #running = new Map<number, Running>();
  /** Where each VM's node kept its state at its last boot (wiped when the VM is destroyed). */
  readonly #nodeDirs = new Map<number, string>();
  /** Per-VM chain of start/stop work, so events for one VM apply in order. */
  readonly #queues = new Map<number, Promise<void>>();
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  constructor(o: LabTalosNodesOptions) {
    this.#o = o;
  }

  /** Follows the lab PVE's VM events and brings back the nodes of VMs that are running now. */
  start(): Promise<void> {
    this.#unsubscribe = this.#o.pve.on((e) => this.#onEvent(e));
    for (const vm of Object.values(this.#o.pve.host.state.vms)) {
      if (vm.status === "running") this.#enqueue(vm.vmid, () => this.#boot(vm.vmid, true));
    }
    return this.idle();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    await this.idle();
    for (const r of [...this.#running.values()]) await this.#halt(r, false);
  }

  /** Waits until queued boots and halts have been applied. */
  async idle(): Promise<void> {
    while (this.#queues.size) await Promise.all([...this.#queues.values()]);
  }

  /** The Talos node a VM runs, if it is up. */
  node(vmid: number): LabTalosNode | undefined {
    return this.#running.get(vmid)?.node;
  }

  /** Resolves once the node's kubelet registered its Node. */
  registered(vmid: number): Promise<void> | undefined {
    return this.#running.get(vmid)?.registered;
  }

  /** The simulated etcd of a cluster (by directory name, see {@link clusterKey}). */
  cluster(key: string): LabTalosCluster {
    let c = this.#clusters.get(key);
    if (!c) {
      c = new LabTalosCluster(join(this.#o.dataDir, "lab", "talos", key));
      this.#clusters.set(key, c);
    }
    return c;
  }

  /** The VM's serial console log (kept by the lab PVE, readable through its termproxy). */
  consolePath(vmid: number): string {
    return this.#o.pve.host.serial.path(vmid);
  }
  consoleLog(vmid: number): string {
    return this.#o.pve.host.serial.read(vmid);
  }

  #console(vmid: number, line: string): void {
    const text = line
      .split("\n")
      .map((l) => `${new Date().toISOString()} [talos] ${l}`)
      .join("\n");
    this.#o.pve.host.serial.write(vmid, text + "\n");
  }

  #onEvent(e: LabEvent): void {
    if (this.#stopped) return;
    if (e.type === "vm-started") this.#enqueue(e.vmid, () => this.#boot(e.vmid, false));
    else if (e.type === "vm-stopped") this.#enqueue(e.vmid, () => this.#halted(e.vmid, false));
    else if (e.type === "vm-destroyed") this.#enqueue(e.vmid, () => this.#halted(e.vmid, true));
  }

  #enqueue(vmid: number, work: () => Promise<void>): void {
    const prev = this.#queues.get(vmid) ?? Promise.resolve();
    const next = prev.then(work).catch((err: unknown) => {
      log.error({ component: "lab", vmid, err: String(err) }, "lab Talos node: unexpected failure");
    });
    this.#queues.set(vmid, next);
    void next.then(() => {
      if (this.#queues.get(vmid) === next) this.#queues.delete(vmid);
    });
  }

  async #boot(vmid: number, restored: boolean): Promise<void> {
    const vm = this.#o.pve.host.vm(vmid);
    if (!vm || vm.status !== "running" || !vm.boot) return;
    const userData = vm.boot.cidata?.files["/user-data"];
    const talosImage = vm.boot.guest?.os === "talos";
    const talosUserData = isTalosUserData(userData);
    if (!talosUserData && !talosImage) return; // another OS: not ours
    const existing = this.#running.get(vmid);
    if (existing) await this.#halt(existing, false);

    if (!restored) this.#console(vmid, `booting Talos (VM ${vmid}, platform nocloud, cidata from ${vm.boot.cidata?.source ?? "nowhere"})`);
    let boot: TalosBoot;
    try {
      if (!talosUserData && userData?.trim()) {
        throw new TalosBootError("user-data is not a Talos machine config (cloud-config is not supported); entering maintenance mode");
      }
      boot = readTalosBoot(this.#o.pve, vm);
      const { validateMachineConfig } = await import("../providers/talos/schemas/validate.ts");
      const result = validateMachineConfig(boot.docs, boot.talosVersion);
      if (result.errors.length) {
        throw new TalosBootError(`failed to validate config against the ${result.schema} schema:\n\t* ${result.errors.join("\n\t* ")}`);
      }
    } catch (e) {
      if (!(e instanceof TalosBootError)) throw e;
      // (a daemon restart is no reboot: the console already says it)
      if (!restored) {
        this.#console(vmid, e.message);
        this.#console(vmid, "boot halted: the node does not start its services");
      }
      log.warn({ component: "lab", vmid, reason: e.message }, "lab Talos node does not come up");
      return;
    }
    const r = this.#run(vmid, boot);
    await this.#startApid(r);
    this.#schedule(r);
  }

  /**
   * The running node and its record. Not async on purpose: the node's reset callback made inside
   * the async boot kept that function's environment, where JSC also holds some of its
   * temporaries — there the boot record with every parsed machine-config document (15 KiB a node,
   * heap snapshot at 400 clusters) — for as long as the node ran.
   */
  #run(vmid: number, parsed: TalosBoot): Running {
    const key = clusterKey(parsed.config);
    const cluster = this.cluster(key);
    // A running node reads a few fields: it keeps those, not the parsed documents (the whole config stays on the cidata volume).
    const boot: TalosBoot = { ...parsed, docs: [], config: essentials(parsed.config) };
    const node = new LabTalosNode({
      config: boot.config,
      address: boot.address,
      hostname: boot.hostname,
      dataDir: cluster.nodeDir(boot.hostname),
      cluster,
      network: this.#o.network,
      talosVersion: boot.talosVersion,
      onReset: () => this.#enqueue(vmid, () => this.#halted(vmid, false, "reset: the node was wiped and is shut down")),
    });
    let markRegistered!: () => void;
    const registered = new Promise<void>((res) => (markRegistered = res));
    const r: Running = { vmid, boot, node, kubelet: "waiting", registered, markRegistered };
    this.#running.set(vmid, r);
    this.#nodeDirs.set(vmid, cluster.nodeDir(boot.hostname));
    this.#console(vmid, `hostname ${boot.hostname}, address ${boot.address}, machine type ${boot.config.machine.type}, cluster ${boot.config.cluster.clusterName ?? key}`);
    return r;
  }

  #schedule(r: Running): void {
    r.timer = setInterval(() => void this.#tick(r), this.#o.pollMs ?? 500);
    r.timer.unref?.();
    void this.#tick(r);
  }

  /** apid; a worker without the OS CA key waits for a control plane's trustd to sign its certificate. */
  async #startApid(r: Running): Promise<boolean> {
    if (r.node.running) return true;
    try {
      await r.node.start();
      this.#console(r.vmid, `apid is listening on ${r.boot.address}:50000`);
      if (r.node.controlPlane && !r.node.cluster.bootstrapped) this.#console(r.vmid, "etcd is waiting to join the cluster: bootstrap is required (talosctl bootstrap)");
      return true;
    } catch (e) {
      this.#note(r, `apid: ${(e as Error).message}; retrying`);
      return false;
    }
  }

  #note(r: Running, msg: string): void {
    if (r.lastError === msg) return;
    r.lastError = msg;
    this.#console(r.vmid, msg);
  }

  async #halted(vmid: number, destroyed: boolean, why?: string): Promise<void> {
    const r = this.#running.get(vmid);
    if (r) {
      if (why) this.#console(vmid, why);
      await this.#halt(r, true);
    }
    if (destroyed) {
      // the VM's disk is gone: so is the node's state (its etcd member stays until removed)
      const dir = this.#nodeDirs.get(vmid);
      if (dir) rmSync(dir, { recursive: true, force: true });
      this.#nodeDirs.delete(vmid);
    }
  }

  async #halt(r: Running, vmGone: boolean): Promise<void> {
    if (r.timer) clearInterval(r.timer);
    r.timer = undefined;
    const wasRegistered = r.kubelet === "registered";
    r.kubelet = "stopped";
    if (this.#running.get(r.vmid) === r) this.#running.delete(r.vmid);
    await r.node.stop();
    if (vmGone && wasRegistered) {
      // the node lifecycle controller's view once the kubelet stops posting status
      const unknown = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"].map((t) => nodeCondition(t, "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."));
      await this.#patchStatus(r, unknown).catch(() => undefined);
    }
  }

  // ---- kubelet --------------------------------------------------------------------------------------

  /** Whether Talos would run the kubelet now, or why not. */
  #kubeletBlocker(r: Running): string | undefined {
    const c = r.node.cluster;
    if (r.node.controlPlane) {
      if (!c.bootstrapped) return "kubelet: waiting for etcd (the cluster is not bootstrapped)";
      if (!c.member(r.boot.hostname)) return "kubelet: waiting for etcd to join the cluster";
      return undefined;
    }
    for (const p of c.peers()) if (p.running && p.controlPlane && c.member(p.hostname)) return undefined;
    return "kubelet: waiting for a control plane of the cluster (trustd, kube-apiserver)";
  }

  async #tick(r: Running): Promise<void> {
    if (r.kubelet !== "waiting" || this.#running.get(r.vmid) !== r) return;
    if (!(await this.#startApid(r))) return;
    const blocker = this.#kubeletBlocker(r);
    if (blocker) return this.#note(r, blocker);
    r.kubelet = "registering";
    try {
      await this.#register(r);
      if (r.kubelet !== "registering") return;
      r.kubelet = "registered";
      if (r.timer) clearInterval(r.timer);
      r.timer = undefined;
      this.#console(r.vmid, `kubelet: node ${r.boot.hostname} registered with ${r.boot.config.cluster.controlPlane.endpoint}`);
      r.markRegistered();
    } catch (e) {
      if (r.kubelet === "registering") r.kubelet = "waiting";
      this.#note(r, `kubelet: ${(e as Error).message}`);
    }
  }

  /** The kubelet's client credentials: `system:node:<hostname>` from cluster.ca (a worker's key comes from a control plane). */
  async #credentials(r: Running): Promise<{ certPem: string; keyPem: string; caPem: string }> {
    if (r.creds) return r.creds;
    const ca = r.boot.config.cluster.ca!;
    const caPem = pemFromConfig(ca.crt);
    let key = ca.key;
    if (!key) {
      for (const other of this.#running.values()) {
        const oca = other.boot.config.cluster.ca;
        if (other.node.controlPlane && oca?.key && pemFromConfig(oca.crt) === caPem) key = oca.key;
      }
    }
    if (!key) throw new Error("no control plane signed the kubelet's client certificate yet (bootstrap token pending)");
    const { issueCertificate } = await import("../providers/pki/certs.ts");
    const cert = await issueCertificate(
      { certPem: caPem, keyPem: normalizeKeyPem(pemFromConfig(key)) },
      { commonName: `system:node:${r.boot.hostname}`, organizations: ["system:nodes"], usage: "client", days: 365 },
    );
    r.creds = { ...cert, caPem };
    return r.creds;
  }

  /** The kubelet's first request: TLS both ways through the lab LAN at the cluster endpoint. */
  async #connect(r: Running): Promise<WorkloadServer> {
    const creds = await this.#credentials(r);
    const url = new URL(r.boot.config.cluster.controlPlane.endpoint);
    const port = Number(url.port || 443);
    const target = `Get "${url.origin}/version"`;
    const route = this.#o.network.lookup(url.hostname, port);
    if (!route) throw new Error(`${target}: dial tcp ${url.hostname}:${port}: connect: connection refused`);
    let res: Response;
    try {
      res = await fetch(`https://${route.host}:${route.port}/version`, {
        headers: { Accept: "application/json", "User-Agent": `kubelet/v${r.boot.kubeletVersion.replace(/^v/, "")} (linux/amd64)` },
        tls: { ca: creds.caPem, cert: creds.certPem, key: creds.keyPem, serverName: url.hostname, checkServerIdentity: () => undefined },
        signal: AbortSignal.timeout(10_000),
      } as RequestInit);
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(`${target}: ${/certificate|verify|self.signed|UNABLE_TO/i.test(msg) ? "tls: failed to verify certificate: x509: certificate signed by unknown authority" : msg}`);
    }
    await res.body?.cancel();
    if (res.status === 401) throw new Error(`${target}: Unauthorized (the API server does not trust the kubelet's certificate from cluster.ca)`);
    if (res.status >= 400) throw new Error(`${target}: ${res.status} ${res.statusText}`);
    const server = await this.#o.workloadServer(url.hostname, port);
    if (!server) throw new Error(`${target}: the API server at ${url.host} is not a lab workload API server`);
    return server;
  }

  #nodeObject(r: Running): Record<string, unknown> {
    const { boot } = r;
    const cp = r.node.controlPlane;
    const nodeLabels = (obj(boot.config.machine as unknown)?.nodeLabels ?? {}) as Record<string, string>;
    const taints = (obj(boot.config.machine as unknown)?.nodeTaints ?? {}) as Record<string, string>;
    const allowCp = Boolean(obj(boot.config.cluster as unknown)?.allowSchedulingOnControlPlanes);
    const specTaints = Object.entries(taints).map(([key, v]) => {
      const [value, effect] = v.includes(":") ? v.split(":") : ["", v];
      return { key, ...(value ? { value } : {}), effect };
    });
    if (cp && !allowCp) specTaints.push({ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" });
    return {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: boot.hostname,
        labels: {
          "beta.kubernetes.io/arch": "amd64",
          "beta.kubernetes.io/os": "linux",
          "kubernetes.io/arch": "amd64",
          "kubernetes.io/hostname": boot.hostname,
          "kubernetes.io/os": "linux",
          ...nodeLabels,
          ...(cp ? { "node-role.kubernetes.io/control-plane": "" } : {}),
        },
        annotations: { "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true" },
      },
      spec: specTaints.length ? { taints: specTaints } : {},
    };
  }

  #nodeStatus(r: Running): Record<string, unknown> {
    return kubeletNodeStatus({
      vm: this.#o.pve.host.vm(r.vmid),
      address: r.boot.address,
      hostname: r.boot.hostname,
      kubeletVersion: r.boot.kubeletVersion,
      machineSeed: String(r.vmid),
      image: { containerRuntimeVersion: "containerd://2.1.5", kernelVersion: "6.12.57-talos", osImage: `Talos (${r.boot.talosVersion})` },
    });
  }

  #ctx(r: Running): RequestContext {
    // the registry call stands for the kubelet's request (its identity checked by #connect)
    return { user: { name: `system:node:${r.boot.hostname}`, groups: ["system:masters"] }, fieldManager: "kubelet", fieldValidation: "Ignore", warnings: [] };
  }

  async #patchStatus(r: Running, conditions: Record<string, unknown>[]): Promise<void> {
    const url = new URL(r.boot.config.cluster.controlPlane.endpoint);
    const server = await this.#o.workloadServer(url.hostname, Number(url.port || 443));
    if (!server) return;
    const { get } = await import("../registry/rest/get.ts");
    const { update } = await import("../registry/rest/update.ts");
    const res = server.rest.registry.resolve("", "v1", "nodes")!;
    const cur = get(server.rest, res, "", r.boot.hostname);
    const status = (cur.status ?? {}) as { conditions?: { type: string }[] };
    const byType = new Map((status.conditions ?? []).map((c) => [c.type, c as Record<string, unknown>]));
    for (const c of conditions) byType.set(String(c.type), c);
    update(server.rest, res, "", r.boot.hostname, { ...cur, status: { ...status, conditions: [...byType.values()] } }, this.#ctx(r), "status");
  }

  /** tryRegisterWithAPIServer, then the first node status update. */
  async #register(r: Running): Promise<void> {
    const server = await this.#connect(r);
    await registerKubeletNode(server, this.#nodeObject(r) as unknown as KObject, this.#nodeStatus(r), this.#ctx(r));
  }
}

