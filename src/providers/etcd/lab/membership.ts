/**
 * The etcd membership a lab etcd server answers from: the shared state of one simulated cluster
 * (LabTalosCluster implements it; kubeadm lab nodes can share the same shape). Raft term/index and
 * alarms, which nothing persists, are kept here per membership for the life of the process.
 * @module
 */

export interface LabMember {
  /** Decimal uint64. */
  id: string;
  hostname: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface EtcdMembership {
  readonly members: readonly LabMember[];
  readonly leader: LabMember | undefined;
  /** One entry per membership change (bootstrap, join, leave, remove). */
  readonly timeline: readonly unknown[];
  removeById(id: bigint): LabMember | undefined;
  moveLeader(id: bigint): boolean;
}

export interface RaftState {
  term: bigint;
  /** Entries committed besides membership changes (leader moves). */
  writes: bigint;
  leaderSeen: string | undefined;
  alarms: { memberId: bigint; alarm: number }[];
}

const states = new WeakMap<EtcdMembership, RaftState>();

/** The in-memory raft bookkeeping of a membership; a leader change since last look starts a new term. */
export function raftState(m: EtcdMembership): RaftState {
  let s = states.get(m);
  if (!s) {
    s = { term: 2n, writes: 0n, leaderSeen: m.leader?.id, alarms: [] };
    states.set(m, s);
  }
  if (s.leaderSeen !== m.leader?.id) {
    s.term++;
    s.leaderSeen = m.leader?.id;
  }
  return s;
}

/** The committed index: a few bootstrap entries, one per membership change, one per other write. */
export function raftIndex(m: EtcdMembership): bigint {
  const s = raftState(m);
  return 4n + BigInt(m.timeline.length) + s.writes;
}
