/**
 * The TalosControlPlane controller's calls to the Talos machine API: one client per machine
 * address (credentials from `<cluster>-talosconfig`, TLS name the fixed Talos API SAN), etcd
 * health per machine, the one-time bootstrap, and giving up a machine's etcd membership
 * (forfeit leadership → leave → remove the member from a remaining node if still listed).
 * @module
 */
import type { TalosClient, TalosNodeError } from "../../providers/talos/api/client.ts";
import type { EtcdMember } from "../../providers/talos/api/machine.ts";
import type { Dialer } from "../../providers/workload/dialer.ts";
import type { Talosconfig } from "./cluster-secrets.ts";
import { talosApiServerName } from "./common.ts";

const ALREADY_EXISTS = 6;
/** Upstream CACPPT's timeout for the bootstrap step's calls. */
export const BOOTSTRAP_TIMEOUT_MS = 5_000;

export class TalosNodes {
  readonly #clients = new Map<string, TalosClient>();
  #ctor: typeof TalosClient | undefined;
  /** A call failed: the connections are not kept for the next reconcile. */
  failed = false;

  async #noting<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      this.failed = true;
      throw e;
    }
  }

  constructor(
    private readonly cluster: string,
    private readonly config: Talosconfig,
    private readonly dialer: Dialer | undefined,
    private readonly timeoutMs: number,
  ) {}

  async client(address: string): Promise<TalosClient> {
    let c = this.#clients.get(address);
    if (c) return c;
    this.#ctor ??= (await import("../../providers/talos/api/client.ts")).TalosClient;
    const ctx = this.config.contexts[this.config.context];
    if (!ctx) throw new Error(`talosconfig has no context ${this.config.context}`);
    c = new this.#ctor({
      endpoints: [address],
      ca: ctx.ca,
      crt: ctx.crt,
      key: ctx.key,
      serverName: talosApiServerName(this.cluster),
      dialer: this.dialer,
      timeoutMs: this.timeoutMs,
      connectTimeoutMs: this.timeoutMs,
    });
    this.#clients.set(address, c);
    return c;
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  /** etcd's service state on the node: `Running` + healthy is what counts. */
  async etcdService(address: string): Promise<{ state: string; healthy: boolean } | undefined> {
    const [reply] = await this.#noting(async () => (await this.client(address)).serviceList());
    const etcd = reply?.services.find((s) => s.id === "etcd");
    return etcd ? { state: etcd.state, healthy: Boolean(etcd.health?.healthy) } : undefined;
  }

  async members(address: string, timeoutMs?: number): Promise<EtcdMember[]> {
    const [reply] = await this.#noting(async () => (await this.client(address)).etcdMemberList({}, timeoutMs ? { timeoutMs: Math.min(this.timeoutMs, timeoutMs) } : undefined));
    return reply?.members ?? [];
  }

  /** Bootstrap etcd on the node; AlreadyExists (already bootstrapped) counts as done. */
  async bootstrap(address: string): Promise<"bootstrapped" | "already"> {
    try {
      // 5 s, as upstream: a node that does not answer yet (still booting) is asked again on the next reconcile
      await this.#noting(async () => (await this.client(address)).bootstrap({}, { timeoutMs: Math.min(this.timeoutMs, BOOTSTRAP_TIMEOUT_MS) }));
      return "bootstrapped";
    } catch (e) {
      if ((e as TalosNodeError).name === "TalosNodeError" && (e as TalosNodeError).code === ALREADY_EXISTS) return "already";
      throw e;
    }
  }

  /**
   * Takes `hostname` (at `address`) out of etcd: forfeit leadership and leave on the node itself
   * while it is a member (and reachable: `address` may be empty), then remove it by ID through
   * `via` if it is still listed.
   */
  async removeMember(hostname: string, address: string, via: string | undefined): Promise<void> {
    const listed = via ? (await this.members(via)).find((m) => m.hostname === hostname) : undefined;
    if (address && (!via || listed)) {
      try {
        const self = await this.client(address);
        await self.etcdForfeitLeadership();
        await self.etcdLeaveCluster();
      } catch (e) {
        if (!via) throw e;
        // The node may be gone or already out of etcd: the remaining members remove it below.
      }
    }
    if (!via) return;
    const still = (await this.members(via)).find((m) => m.hostname === hostname);
    if (still) await (await this.client(via)).etcdRemoveMemberByID(still.id);
  }
}

/**
 * A cluster's Talos connections, kept between reconciles of its control plane for `idleMs`: a
 * reconcile every second or so while it converges would otherwise open (TLS handshake, credentials
 * parsed) and close a connection to every node each time. Connections that saw an error, or were
 * made with another talosconfig, are not reused.
 */
export class TalosNodesPool {
  readonly #kept = new Map<string, { nodes: TalosNodes; config: string; timer: ReturnType<typeof setTimeout> | undefined }>();

  constructor(private readonly idleMs = 10_000) {}

  /** `make` builds the clients when none are kept for `cluster` with this `config` text. */
  acquire(cluster: string, config: string, make: () => TalosNodes): { nodes: TalosNodes; release: () => void } {
    let kept = this.#kept.get(cluster);
    if (kept && (kept.config !== config || kept.nodes.failed)) {
      this.#drop(cluster);
      kept = undefined;
    }
    if (kept?.timer) clearTimeout(kept.timer);
    const nodes = kept?.nodes ?? make();
    const entry = { nodes, config, timer: undefined as ReturnType<typeof setTimeout> | undefined };
    this.#kept.set(cluster, entry);
    return {
      nodes,
      release: () => {
        if (nodes.failed || this.#kept.get(cluster) !== entry) {
          if (this.#kept.get(cluster) === entry) this.#kept.delete(cluster);
          nodes.close();
          return;
        }
        entry.timer = setTimeout(() => this.#drop(cluster), this.idleMs);
        entry.timer.unref?.();
      },
    };
  }

  #drop(cluster: string): void {
    const kept = this.#kept.get(cluster);
    if (!kept) return;
    if (kept.timer) clearTimeout(kept.timer);
    this.#kept.delete(cluster);
    kept.nodes.close();
  }

  get size(): number {
    return this.#kept.size;
  }

  close(): void {
    for (const cluster of [...this.#kept.keys()]) this.#drop(cluster);
  }
}
