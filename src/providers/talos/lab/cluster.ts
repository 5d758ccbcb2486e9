/**
 * One simulated Talos cluster's shared state in lab mode: the etcd membership every control-plane
 * node of the cluster sees (ids, names, peer/client URLs, leader, bootstrapped flag), a timeline
 * of member counts for tests, and the registry apid uses to proxy `node`/`nodes` calls to peers.
 * Persisted as JSON under the directory it is given (DATA_DIR/lab/talos/<cluster>/etcd.json).
 * @module
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { EtcdMember } from "../api/machine.ts";

export interface LabEtcdMember {
  id: string; // decimal uint64
  hostname: string;
  address: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface TimelineEntry {
  at: string;
  event: "bootstrap" | "join" | "leave" | "remove";
  hostname: string;
  members: number;
}

interface EtcdState {
  bootstrapped: boolean;
  leader: string | null; // member id
  members: LabEtcdMember[];
  timeline: TimelineEntry[];
}

/** What the cluster needs from a node to route proxied calls (implemented by LabTalosNode). */
export interface ClusterPeer {
  readonly address: string;
  readonly hostname: string;
  readonly running: boolean;
  readonly controlPlane: boolean;
  /** Called when the etcd cluster is bootstrapped elsewhere: a running control plane joins. */
  onClusterBootstrapped(): void;
  /** Called when this node's member was removed by someone else. */
  onMemberRemoved(): void;
}

export class LabTalosCluster {
  readonly #file: string;
  #state: EtcdState;
  readonly #peers = new Map<string, ClusterPeer>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.#file = join(dir, "etcd.json");
    try {
      this.#state = JSON.parse(readFileSync(this.#file, "utf8")) as EtcdState;
    } catch {
      this.#state = { bootstrapped: false, leader: null, members: [], timeline: [] };
    }
  }

  #save(): void {
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#state, null, 2));
    renameSync(tmp, this.#file);
  }

  #record(event: TimelineEntry["event"], hostname: string): void {
    this.#state.timeline.push({ at: new Date().toISOString(), event, hostname, members: this.#state.members.length });
  }

  // ---- registry ----------------------------------------------------------------------------------

  register(peer: ClusterPeer): void {
    this.#peers.set(peer.address, peer);
  }
  unregister(peer: ClusterPeer): void {
    if (this.#peers.get(peer.address) === peer) this.#peers.delete(peer.address);
  }
  peers(): IterableIterator<ClusterPeer> {
    return this.#peers.values();
  }
  /** Where a node of this cluster keeps its own state. */
  nodeDir(hostname: string): string {
    return join(this.dir, "nodes", hostname);
  }
  /** A peer by address or hostname (what `nodes` metadata may carry). */
  peer(name: string): ClusterPeer | undefined {
    return this.#peers.get(name) ?? [...this.#peers.values()].find((p) => p.hostname === name);
  }

  // ---- etcd --------------------------------------------------------------------------------------

  get bootstrapped(): boolean {
    return this.#state.bootstrapped;
  }
  get members(): readonly LabEtcdMember[] {
    return this.#state.members;
  }
  get leader(): LabEtcdMember | undefined {
    return this.#state.members.find((m) => m.id === this.#state.leader);
  }
  get timeline(): readonly TimelineEntry[] {
    return this.#state.timeline;
  }
  /** The member counts over time, e.g. [1, 2, 3, 2]. */
  get memberCounts(): number[] {
    return this.#state.timeline.map((t) => t.members);
  }
  member(hostname: string): LabEtcdMember | undefined {
    return this.#state.members.find((m) => m.hostname === hostname);
  }

  #newMember(hostname: string, address: string): LabEtcdMember {
    let id: bigint;
    do id = randomBytes(8).readBigUInt64BE() || 1n;
    while (this.#state.members.some((m) => m.id === String(id)));
    return {
      id: String(id),
      hostname,
      address,
      peerUrls: [`https://${address}:2380`],
      clientUrls: [`https://${address}:2379`],
      isLearner: false,
    };
  }

  /** First member of a new etcd cluster; then every running control plane joins (they were waiting). */
  bootstrap(hostname: string, address: string): void {
    const m = this.#newMember(hostname, address);
    this.#state.bootstrapped = true;
    this.#state.members = [m];
    this.#state.leader = m.id;
    this.#record("bootstrap", hostname);
    this.#save();
    for (const p of this.#peers.values()) if (p.running && p.controlPlane && p.hostname !== hostname) p.onClusterBootstrapped();
  }

  join(hostname: string, address: string): LabEtcdMember {
    if (!this.#state.bootstrapped) throw new Error("etcd cluster is not bootstrapped");
    const existing = this.member(hostname);
    if (existing) return existing;
    const m = this.#newMember(hostname, address);
    this.#state.members.push(m);
    this.#record("join", hostname);
    this.#save();
    return m;
  }

  #drop(id: string, event: "leave" | "remove"): LabEtcdMember | undefined {
    const m = this.#state.members.find((x) => x.id === id);
    if (!m) return undefined;
    this.#state.members = this.#state.members.filter((x) => x.id !== id);
    if (this.#state.leader === id) this.#state.leader = this.#state.members[0]?.id ?? null;
    this.#record(event, m.hostname);
    this.#save();
    return m;
  }

  leave(hostname: string): boolean {
    const m = this.member(hostname);
    return m ? this.#drop(m.id, "leave") !== undefined : false;
  }

  removeById(id: bigint): LabEtcdMember | undefined {
    const m = this.#drop(String(id), "remove");
    if (m) this.peer(m.address)?.onMemberRemoved();
    return m;
  }

  /** Moves leadership off `hostname` if it leads; the new leader's name, or "" when it did not lead. */
  forfeitLeadership(hostname: string): string {
    const me = this.member(hostname);
    if (!me || this.#state.leader !== me.id) return "";
    const next = this.#state.members.find((m) => m.id !== me.id && !m.isLearner);
    if (!next) return "";
    this.#state.leader = next.id;
    this.#save();
    return next.hostname;
  }

  /** Makes the voting member `id` the leader (etcd MoveLeader); false when there is no such voter. */
  moveLeader(id: bigint): boolean {
    const to = this.#state.members.find((m) => m.id === String(id) && !m.isLearner);
    if (!to) return false;
    this.#state.leader = to.id;
    this.#save();
    return true;
  }

  toProto(): EtcdMember[] {
    return this.#state.members.map((m) => ({
      id: BigInt(m.id),
      hostname: m.hostname,
      peerUrls: m.peerUrls,
      clientUrls: m.clientUrls,
      isLearner: m.isLearner,
    }));
  }
}
