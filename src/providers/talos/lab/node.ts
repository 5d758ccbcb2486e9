/**
 * A simulated Talos node's machine API (apid + machined) for lab mode.
 *
 * A TLS listener on 127.0.0.1 (random port) with mTLS and ALPN h2 in front of the lab's shared
 * grpc-js server (./apid-backend.ts): its serving certificate is minted from the OS CA in the node's
 * machine config (`machine.ca`, Ed25519) with apid's SANs (node IP, 127.0.0.1, `machine.certSANs`,
 * hostname), and client certificates must chain to that CA. When a
 * {@link LabNetwork} is given the node registers its simulated `address:50000` there, so clients
 * that dial through the lab dialer reach it. (grpc-js has no per-channel socket hook usable here,
 * so the lab maps addresses to real loopback listeners rather than in-memory streams.)
 *
 * Semantics kept from Talos: `node`/`nodes` metadata proxying with per-node `metadata.error`,
 * roles from the client certificate's O (os:admin / os:reader), EKU ClientAuth required, control
 * plane-only RPCs, Bootstrap once per cluster (`etcd data directory is not empty`), the
 * `time is not in sync yet` path (a knob), etcd membership shared per cluster with joins on start
 * after bootstrap, leave/remove/forfeit, Kubeconfig as a streamed .tar.gz signed by the cluster's
 * Kubernetes CA, Reset (leave etcd when graceful, wipe, stop). State persists under `dataDir`.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { stringify } from "yaml";
import type { LabNetwork } from "../../workload/dialer.ts";
import {
  SequenceAction,
  TALOS_API_PORT,
  encodeSequenceEvent,
  type BootstrapRequest,
  type Data,
  type EtcdMembers,
  type EventsRequest,
  type FileInfo,
  type ListRequest,
  type MachineEvent,
  type Metadata,
  type ResetRequest,
  type Rpc,
  type RpcName,
  type ServiceInfo,
  type Timestamp,
  type WithMetadata,
} from "../api/machine.ts";
import { normalizeKeyPem, pemFromConfig } from "../api/pem.ts";
import { tarGz } from "../api/targz.ts";
import type { ClusterPeer, LabTalosCluster } from "./cluster.ts";
import { configView, effectiveConfig, labTalosVersion } from "./config-view.ts";
import { acquireApid, type ApidTenant } from "./apid-backend.ts";
import type { Front, FrontConnection } from "../../../lib/tls-front.ts";

/** The parts of a Talos v1alpha1 machine config the lab node reads. */
export interface TalosMachineConfigLike {
  machine: {
    type: "controlplane" | "init" | "worker" | string;
    ca: { crt: string; key?: string };
    certSANs?: string[];
    install?: { image?: string };
  };
  cluster: {
    id?: string;
    clusterName?: string;
    controlPlane: { endpoint: string };
    ca?: { crt: string; key?: string };
  };
}

export interface LabTalosNodeOptions {
  /**
   * The v1alpha1 document, or the config already folded by `effectiveConfig` from `documents`
   * (then the node keeps that one instead of folding its own copy).
   */
  config?: TalosMachineConfigLike;
  /** All documents of the machine config (any contract): the node reads each field from the document that carries it. */
  documents?: Record<string, unknown>[];
  address: string;
  hostname: string;
  /** Where this node keeps its state (e.g. DATA_DIR/lab/talos/<cluster>/nodes/<hostname>). */
  dataDir: string;
  cluster: LabTalosCluster;
  network?: LabNetwork;
  /** Talos version reported by Version (default: the installer image tag, else v1.13.9). */
  talosVersion?: string;
  /** Called after a Reset has wiped the node and it stopped serving. */
  onReset?: (node: LabTalosNode) => void;
}

interface EventRecord {
  id: string;
  actorId: string;
  sequence: string;
  action: SequenceAction;
  ts: number;
}

interface NodeState {
  etcdData: boolean;
  etcdState: "Preparing" | "Running" | "Finished";
  events: EventRecord[];
  bootCount: number;
}

/** A gRPC error as a Talos server would return it. */
export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
  }
}

const ETCD_MEMBER_DIR = "/var/lib/etcd/member";
const statusName = (code: grpc.status) =>
  (
    ({
      1: "Canceled",
      2: "Unknown",
      3: "InvalidArgument",
      4: "DeadlineExceeded",
      5: "NotFound",
      6: "AlreadyExists",
      7: "PermissionDenied",
      9: "FailedPrecondition",
      12: "Unimplemented",
      13: "Internal",
      14: "Unavailable",
      16: "Unauthenticated",
    }) as Record<number, string>
  )[code] ?? `Code(${code})`;

/** How Go's gRPC formats a status as an error string (what apid puts into metadata.error). */
export function goStatusString(code: grpc.status, details: string): string {
  return `rpc error: code = ${statusName(code)} desc = ${details}`;
}

function ts(ms: number): Timestamp {
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

type Role = "os:admin" | "os:operator" | "os:reader" | string;

export class LabTalosNode implements ClusterPeer, ApidTenant {
  readonly address: string;
  readonly hostname: string;
  readonly config: TalosMachineConfigLike;
  readonly cluster: LabTalosCluster;
  /** Knob: clear to make Bootstrap fail with `time is not in sync yet`. */
  timeSynced = true;

  readonly #opts: LabTalosNodeOptions;
  readonly #stateFile: string;
  #state: NodeState;
  #front: Front | undefined;
  #releaseApid: (() => void) | undefined;
  /** Calls being answered: a stop lets them finish (at most 1 s) before it drops the connections. */
  #inflight = 0;
  #port = 0;
  #unlisten: (() => void) | undefined;
  readonly #subscribers = new Set<(e: EventRecord) => void>();

  constructor(opts: LabTalosNodeOptions) {
    this.#opts = opts;
    this.address = opts.address;
    this.hostname = opts.hostname;
    if (opts.config) this.config = opts.config;
    else if (opts.documents) this.config = effectiveConfig(opts.documents);
    else throw new Error("LabTalosNode: a machine config (config or documents) is required");
    this.cluster = opts.cluster;
    mkdirSync(opts.dataDir, { recursive: true });
    this.#stateFile = join(opts.dataDir, "state.json");
    this.#state = this.#load();
  }

  #fresh(): NodeState {
    return { etcdData: false, etcdState: "Preparing", events: [], bootCount: 0 };
  }
  #load(): NodeState {
    try {
      return { ...this.#fresh(), ...(JSON.parse(readFileSync(this.#stateFile, "utf8")) as NodeState) };
    } catch {
      return this.#fresh();
    }
  }
  #save(): void {
    const tmp = `${this.#stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#state, null, 2));
    renameSync(tmp, this.#stateFile);
  }

  get controlPlane(): boolean {
    return this.config.machine.type === "controlplane" || this.config.machine.type === "init";
  }
  get running(): boolean {
    return this.#front !== undefined;
  }
  /** The loopback port apid listens on (0 when stopped). */
  get port(): number {
    return this.#port;
  }
  get etcdDataPresent(): boolean {
    return this.#state.etcdData;
  }
  get talosVersion(): string {
    if (this.#opts.talosVersion) return this.#opts.talosVersion;
    const view = this.#opts.documents ? configView(this.#opts.documents) : undefined;
    return labTalosVersion({ installImage: this.config.machine.install?.image, multiDocument: view?.multiDocument ?? false });
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  async start(): Promise<number> {
    if (this.#front) return this.#port;
    const { issueTalosCertificate } = await import("../api/pki.ts");
    const caPem = pemFromConfig(this.config.machine.ca.crt);
    const caKey = this.config.machine.ca.key || this.#trustdKey(caPem);
    const ca = { certPem: caPem, keyPem: normalizeKeyPem(pemFromConfig(caKey)) };
    const sans = [...new Set([this.hostname, ...(this.config.machine.certSANs ?? [])])];
    const dnsNames = sans.filter((s) => !/^[\d.]+$/.test(s) && !s.includes(":"));
    const ips = [...new Set([this.address, "127.0.0.1", ...sans.filter((s) => /^[\d.]+$/.test(s) || s.includes(":"))])];
    const serving = await issueTalosCertificate(ca, { usage: "server", dnsNames, ipAddresses: ips, hours: 24 });

    const apid = await acquireApid();
    if (this.#front) {
      apid.release();
      return this.#port;
    }
    this.#front = apid.fronts.listen({ certPem: serving.certPem, keyPem: serving.keyPem, caPem, rejectUnauthorized: true, alpn: ["h2"] }, this);
    this.#releaseApid = apid.release;
    this.#port = this.#front.port;
    this.#unlisten = this.#opts.network?.listen(this.address, TALOS_API_PORT, this.#port);
    this.cluster.register(this);

    this.#state.bootCount++;
    const actor = randomUUID();
    this.#emit("initialize", SequenceAction.START, actor);
    this.#emit("initialize", SequenceAction.STOP, actor);
    this.#emit("boot", SequenceAction.START, actor);
    if (this.controlPlane && this.cluster.bootstrapped) this.#joinEtcd();
    else if (this.controlPlane && this.#state.etcdData && this.cluster.member(this.hostname)) this.#state.etcdState = "Running";
    this.#emit("boot", SequenceAction.STOP, actor);
    this.#save();
    return this.#port;
  }

  /**
   * Workers' configs carry the OS CA without its key; their apid certificate is signed by trustd on
   * a control plane. Here: the key of a running control-plane node of the cluster with the same CA.
   */
  #trustdKey(caPem: string): string {
    for (const p of this.cluster.peers()) {
      if (!(p instanceof LabTalosNode) || p === this || !p.running || !p.controlPlane) continue;
      const ca = p.config.machine.ca;
      if (ca.key && pemFromConfig(ca.crt) === caPem) return ca.key;
    }
    throw new Error(`${this.hostname}: machine.ca has no key and no control plane's trustd is reachable to sign apid's certificate`);
  }

  async stop(): Promise<void> {
    const front = this.#front;
    if (!front) return;
    this.#front = undefined;
    this.#port = 0;
    front.stop();
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.cluster.unregister(this);
    for (const s of this.#subscribers) s({ id: "", actorId: "", sequence: "", action: SequenceAction.NOOP, ts: -1 });
    for (let waited = 0; this.#inflight > 0 && waited < 1000; waited += 20) await Bun.sleep(20);
    front.destroyAll();
    this.#releaseApid?.();
    this.#releaseApid = undefined;
  }

  #joinEtcd(): void {
    if (!this.cluster.member(this.hostname)) {
      // Talos refuses to join with a stale data directory only after removal; a fresh or wiped node joins.
      this.cluster.join(this.hostname, this.address);
    }
    this.#state.etcdData = true;
    this.#state.etcdState = "Running";
  }

  onClusterBootstrapped(): void {
    this.#joinEtcd();
    this.#save();
  }
  onMemberRemoved(): void {
    // etcd exits: "the member has been permanently removed from the cluster"
    this.#state.etcdState = "Finished";
    this.#save();
  }

  #emit(sequence: string, action: SequenceAction, actorId: string): void {
    const e: EventRecord = { id: randomUUID(), actorId, sequence, action, ts: Date.now() };
    this.#state.events.push(e);
    if (this.#state.events.length > 500) this.#state.events.splice(0, this.#state.events.length - 500);
    for (const s of this.#subscribers) s(e);
  }

  // ---- the machine API, locally ------------------------------------------------------------------

  #requireControlPlane(api: string): void {
    if (!this.controlPlane) throw new RpcError(grpc.status.UNIMPLEMENTED, `${api} is only available on control plane nodes`);
  }
  #requireEtcdMember(): void {
    if (this.#state.etcdState !== "Running" || !this.cluster.member(this.hostname)) {
      throw new RpcError(grpc.status.UNAVAILABLE, "etcdserver: etcd is not running on this node");
    }
  }

  /** Unary RPCs: the single reply item this node produces. */
  async local(name: RpcName, req: unknown): Promise<object> {
    switch (name) {
      case "Version":
        return {
          version: { tag: this.talosVersion, sha: "lab", built: "", goVersion: "go1.24", os: "linux", arch: "amd64" },
          platform: { name: "nocloud", mode: "cloud" },
          features: { rbac: true },
        };
      case "Bootstrap": {
        this.#requireControlPlane("bootstrap");
        if ((req as BootstrapRequest).recoverEtcd) {
          // recovery needs a snapshot uploaded with EtcdRecover first; the lab keeps none
          throw new RpcError(grpc.status.FAILED_PRECONDITION, "etcd recovery snapshot is not available (lab node)");
        }
        if (!this.timeSynced) throw new RpcError(grpc.status.FAILED_PRECONDITION, "time is not in sync yet");
        if (this.#state.etcdData || this.cluster.bootstrapped) {
          throw new RpcError(grpc.status.ALREADY_EXISTS, "etcd data directory is not empty");
        }
        this.#state.etcdData = true;
        this.#state.etcdState = "Running";
        this.cluster.bootstrap(this.hostname, this.address);
        this.#save();
        return {};
      }
      case "ServiceList":
        return { services: this.#services() };
      case "EtcdMemberList": {
        this.#requireControlPlane("etcd member list");
        this.#requireEtcdMember();
        const members = this.cluster.toProto();
        return { legacyMembers: members.map((m) => m.hostname), members } satisfies Omit<EtcdMembers, "metadata">;
      }
      case "EtcdForfeitLeadership":
        this.#requireControlPlane("etcd forfeit leadership");
        this.#requireEtcdMember();
        return { member: this.cluster.forfeitLeadership(this.hostname) };
      case "EtcdLeaveCluster":
        this.#requireControlPlane("etcd leave");
        this.#requireEtcdMember();
        this.cluster.leave(this.hostname);
        this.#state.etcdData = false;
        this.#state.etcdState = "Finished";
        this.#save();
        return {};
      case "EtcdRemoveMemberByID": {
        this.#requireControlPlane("etcd remove member");
        this.#requireEtcdMember();
        const id = (req as { memberId: bigint }).memberId;
        if (!this.cluster.removeById(id)) throw new RpcError(grpc.status.NOT_FOUND, "etcdserver: member not found");
        return {};
      }
      case "Reset": {
        const actorId = randomUUID();
        const r = req as ResetRequest;
        setTimeout(() => void this.#reset(r, actorId), 20);
        return { actorId };
      }
      default:
        throw new RpcError(grpc.status.UNIMPLEMENTED, `method ${name} not implemented`);
    }
  }

  async #reset(req: ResetRequest, actorId: string): Promise<void> {
    this.#emit("reset", SequenceAction.START, actorId);
    if (req.graceful && this.controlPlane && this.cluster.member(this.hostname) && this.#state.etcdState === "Running") {
      this.cluster.forfeitLeadership(this.hostname);
      this.cluster.leave(this.hostname);
    }
    this.#emit("reset", SequenceAction.STOP, actorId);
    await this.stop();
    const events = this.#state.events;
    this.#state = { ...this.#fresh(), events };
    this.#save();
    this.#opts.onReset?.(this);
  }

  #services(): ServiceInfo[] {
    const since = this.#state.events.findLast((e) => e.sequence === "boot")?.ts ?? Date.now();
    const svc = (id: string, state: string, healthy: boolean | undefined, msg: string): ServiceInfo => ({
      id,
      state,
      events: {
        events: [
          { msg: "Starting service", state: "Starting", ts: ts(since) },
          { msg, state, ts: ts(since) },
        ],
      },
      health:
        healthy === undefined
          ? { unknown: true, healthy: false, lastMessage: "" }
          : { unknown: false, healthy, lastMessage: healthy ? "" : msg, lastChange: ts(since) },
    });
    const out = [
      svc("apid", "Running", true, "Health check successful"),
      svc("containerd", "Running", true, "Health check successful"),
      svc("cri", "Running", true, "Health check successful"),
    ];
    if (this.controlPlane) {
      const st = this.#state.etcdState;
      out.push(
        st === "Running"
          ? svc("etcd", "Running", true, "Health check successful")
          : st === "Finished"
            ? svc("etcd", "Finished", undefined, "Service finished successfully")
            : svc("etcd", "Preparing", undefined, "Running pre state"),
      );
    }
    out.push(svc("kubelet", "Running", true, "Health check successful"), svc("machined", "Running", true, "Health check successful"));
    if (this.controlPlane) out.push(svc("trustd", "Running", true, "Health check successful"));
    out.push(svc("udevd", "Running", true, "Health check successful"));
    return out;
  }

  /** Streaming RPCs: the items this node produces. */
  async *localStream(name: RpcName, req: unknown, signal: AbortSignal): AsyncGenerator<object> {
    switch (name) {
      case "List": {
        const r = req as ListRequest;
        const root = r.root.replace(/\/+$/, "") || "/";
        if (root === ETCD_MEMBER_DIR || root === "/var/lib/etcd") {
          if (!this.#state.etcdData) throw new RpcError(grpc.status.UNKNOWN, `lstat ${root}: no such file or directory`);
          const now = BigInt(Math.floor(Date.now() / 1000));
          const dir = (name: string, rel: string): FileInfo => ({
            name,
            size: 4096n,
            mode: 0o20000000700,
            modified: now,
            isDir: true,
            error: "",
            link: "",
            relativeName: rel,
            uid: 0,
            gid: 0,
          });
          yield dir(root, ".");
          if (root === "/var/lib/etcd") yield dir(ETCD_MEMBER_DIR, "member");
          else yield* [dir(`${root}/snap`, "snap"), dir(`${root}/wal`, "wal")];
          return;
        }
        throw new RpcError(grpc.status.UNKNOWN, `lstat ${root}: no such file or directory`);
      }
      case "Events": {
        const r = req as EventsRequest;
        const queue: EventRecord[] = [];
        let wake: (() => void) | undefined;
        const sub = (e: EventRecord) => {
          queue.push(e);
          wake?.();
        };
        this.#subscribers.add(sub);
        const onAbort = () => wake?.();
        signal.addEventListener("abort", onAbort);
        try {
          const hist = this.#state.events;
          const tail = r.tailEvents ?? 0;
          let from = tail < 0 ? 0 : Math.max(0, hist.length - tail);
          if (r.tailSeconds) from = hist.findIndex((e) => e.ts >= Date.now() - r.tailSeconds! * 1000);
          if (r.tailId) from = hist.findIndex((e) => e.id === r.tailId) + 1;
          for (const e of hist.slice(Math.max(0, from))) if (!r.withActorId || e.actorId === r.withActorId) yield this.#event(e);
          while (!signal.aborted) {
            const e = queue.shift();
            if (!e) {
              await new Promise<void>((res) => (wake = res));
              wake = undefined;
              continue;
            }
            if (e.ts < 0) return; // node stopping
            if (!r.withActorId || e.actorId === r.withActorId) yield this.#event(e);
          }
        } finally {
          this.#subscribers.delete(sub);
          signal.removeEventListener("abort", onAbort);
        }
        return;
      }
      case "Kubeconfig": {
        this.#requireControlPlane("kubeconfig");
        const archive = await this.#kubeconfigArchive();
        for (let i = 0; i < archive.length; i += 512) yield { bytes: archive.subarray(i, i + 512) } satisfies Omit<Data, "metadata">;
        return;
      }
      default:
        throw new RpcError(grpc.status.UNIMPLEMENTED, `method ${name} not implemented`);
    }
  }

  #event(e: EventRecord): Omit<MachineEvent, "metadata"> {
    return { id: e.id, actorId: e.actorId, data: encodeSequenceEvent({ sequence: e.sequence, action: e.action }) };
  }

  /** The admin kubeconfig Talos generates: CN admin, O system:masters, from cluster.ca; 1 year. */
  async #kubeconfigArchive(): Promise<Uint8Array> {
    const k8sCA = this.config.cluster.ca;
    if (!k8sCA?.key) throw new RpcError(grpc.status.FAILED_PRECONDITION, "kubernetes CA key is not available");
    const { issueCertificate } = await import("../../pki/certs.ts");
    const caPem = pemFromConfig(k8sCA.crt);
    const admin = await issueCertificate(
      { certPem: caPem, keyPem: pemFromConfig(k8sCA.key) },
      { commonName: "admin", organizations: ["system:masters"], usage: "client", days: 365 },
    );
    const name = this.config.cluster.clusterName ?? "talos";
    const user = `admin@${name}`;
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const doc = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name, cluster: { server: this.config.cluster.controlPlane.endpoint, "certificate-authority-data": b64(caPem) } }],
      users: [{ name: user, user: { "client-certificate-data": b64(admin.certPem), "client-key-data": b64(admin.keyPem) } }],
      contexts: [{ context: { cluster: name, namespace: "default", user }, name: user }],
      "current-context": user,
    };
    return tarGz([{ name: "kubeconfig", data: new TextEncoder().encode(stringify(doc)) }]);
  }

  // ---- gRPC plumbing: authz, node/nodes proxying -------------------------------------------------

  #authorize(conn: FrontConnection<ApidTenant>, rpc: Rpc<unknown, WithMetadata>, describe: (der: Uint8Array) => { organizations: string[]; ekus: string[] }): Role {
    const cert = conn.authorized ? conn.peer : undefined;
    if (!cert?.raw) throw new RpcError(grpc.status.UNAUTHENTICATED, "client certificate required");
    const { organizations, ekus } = describe(new Uint8Array(cert.raw));
    if (ekus.length !== 1 || ekus[0] !== "1.3.6.1.5.5.7.3.2") {
      throw new RpcError(grpc.status.UNAUTHENTICATED, "certificate must have exactly the client authentication extended key usage");
    }
    const allowed = rpc.role === "os:admin" ? ["os:admin"] : ["os:admin", "os:operator", "os:reader"];
    const role = organizations.find((o) => allowed.includes(o));
    if (!role) throw new RpcError(grpc.status.PERMISSION_DENIED, "not authorized");
    return role;
  }

  #targets(md: grpc.Metadata): { nodes?: string[]; node?: string } {
    const nodes = md
      .get("nodes")
      .flatMap((v) => String(v).split(","))
      .map((s) => s.trim())
      .filter(Boolean);
    if (nodes.length) return { nodes };
    const node = md.get("node")[0];
    return node ? { node: String(node) } : {};
  }

  /** Which node serves a proxied call, or an error like apid's dial failure. */
  #resolve(name: string): LabTalosNode {
    if (name === this.address || name === this.hostname) return this;
    const p = this.cluster.peer(name);
    if (p instanceof LabTalosNode && p.running) return p;
    throw new RpcError(
      grpc.status.UNAVAILABLE,
      `connection error: desc = "transport: Error while dialing: dial tcp ${name.includes(":") ? name : `${name}:${TALOS_API_PORT}`}: connect: no route to host"`,
    );
  }

  #errorMetadata(hostname: string, e: unknown): Metadata {
    const err = toRpcError(e);
    return { hostname, error: goStatusString(err.code, err.details), status: { code: err.code, message: err.details } };
  }

  /** A unary call that came through this node's apid front (src/providers/talos/lab/apid-backend.ts). */
  serveUnary(rpc: Rpc<unknown, WithMetadata>, call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>, conn: FrontConnection<ApidTenant>): void {
    const name = rpc.name as RpcName;
    this.#inflight++;
    void (async () => {
      const { describeClientCertificate } = await import("../api/pki.ts");
      this.#authorize(conn, rpc, describeClientCertificate);
      const t = this.#targets(call.metadata);
      if (t.nodes) {
        const messages = await Promise.all(
          t.nodes.map(async (n) => {
            try {
              const item = await this.#resolve(n).local(name, call.request);
              return { ...item, metadata: { hostname: n, error: "" } };
            } catch (e) {
              return { metadata: this.#errorMetadata(n, e) };
            }
          }),
        );
        return { messages };
      }
      const target = t.node ? this.#resolve(t.node) : this;
      return { messages: [await target.local(name, call.request)] };
    })()
      .then(
        (v) => cb(null, v),
        (e) => {
          const err = toRpcError(e);
          cb({ code: err.code, details: err.details });
        },
      )
      .finally(() => this.#inflight--);
  }

  /** A server-streaming call that came through this node's apid front. */
  serveStream(rpc: Rpc<unknown, WithMetadata>, call: grpc.ServerWritableStream<unknown, unknown>, conn: FrontConnection<ApidTenant>): void {
    const name = rpc.name as RpcName;
    const ac = new AbortController();
    call.on("cancelled", () => ac.abort());
    call.on("close", () => ac.abort());
    this.#inflight++;
    void (async () => {
      const { describeClientCertificate } = await import("../api/pki.ts");
      this.#authorize(conn, rpc, describeClientCertificate);
      const t = this.#targets(call.metadata);
      const write = async (m: unknown) => {
        if (!call.write(m)) await new Promise((r) => call.once("drain", r));
      };
      if (t.nodes) {
        // apid merges the nodes' streams as they come (Events never ends on its own)
        await Promise.all(
          t.nodes.map(async (n) => {
            try {
              for await (const item of this.#resolve(n).localStream(name, call.request, ac.signal)) {
                await write({ ...item, metadata: { hostname: n, error: "" } });
              }
            } catch (e) {
              await write({ metadata: this.#errorMetadata(n, e) });
            }
          }),
        );
      } else {
        const target = t.node ? this.#resolve(t.node) : this;
        for await (const item of target.localStream(name, call.request, ac.signal)) await write(item);
      }
    })()
      .then(
        () => call.end(),
        (e) => {
          const err = toRpcError(e);
          call.emit("error", { code: err.code, details: err.details });
        },
      )
      .finally(() => this.#inflight--);
  }
}

function toRpcError(e: unknown): RpcError {
  if (e instanceof RpcError) return e;
  return new RpcError(grpc.status.INTERNAL, e instanceof Error ? e.message : String(e));
}
