/**
 * What the KubeadmControlPlane controller needs from a workload cluster's stacked etcd when it
 * removes a control-plane machine (upstream `ForwardEtcdLeadership` and
 * `RemoveEtcdMemberForMachine`). Members are named after the machine's Node, as kubeadm names them.
 * The daemon implements it over etcd v3 gRPC (etcd-client.ts); without a `<cluster>-etcd` Secret, or
 * with {@link noEtcdClient}, every call fails, so a scale-down stops before the Machine is deleted
 * (with a condition saying why) instead of leaving a stale member behind.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";

export interface EtcdMachine {
  /** The Machine's name. */
  machine: string;
  /** The Node the machine registered (the etcd member name); absent if it never registered. */
  nodeName?: string;
  /** The node's address (InternalIP first), where its etcd listens on 2379. */
  address?: string;
}

/** One etcd member as the cluster lists it, with its health (upstream's EtcdMemberHealthy inputs). */
export interface EtcdMemberState {
  /** The member name (the Node name); empty while the member has not started. */
  name: string;
  learner: boolean;
  /** Answers Status without errors and raises no alarm (a member without a machine: no alarm). */
  healthy: boolean;
}

export interface EtcdMembership {
  /** Makes `candidate` the leader if `leaving` leads now; nothing when it does not. */
  forwardLeadership(leaving: EtcdMachine, candidate: EtcdMachine): Promise<void>;
  /** Removes `leaving`'s member (asking the other machines); no error when it is not a member. */
  removeMember(leaving: EtcdMachine, others: EtcdMachine[]): Promise<void>;
  /** The members and their health, asked through `machines` in turn; throws when none answers. */
  members(machines: EtcdMachine[]): Promise<EtcdMemberState[]>;
}

/** Gives the etcd access of one workload cluster (undefined: no etcd client for it). */
export type EtcdMembershipFor = (cluster: KObject) => EtcdMembership | undefined;

export class EtcdUnavailableError extends Error {}

/** The membership used when no etcd client is available: every step fails, nothing is skipped. */
export const noEtcdClient: EtcdMembershipFor = () => undefined;
