/**
 * Would the control plane stay operational without one machine? (upstream
 * targetKubernetesControlPlaneComponentsHealthy and targetEtcdClusterHealthy, used before a
 * remediation deletes a machine and again before the kcp-cleanup hook lets a deletion finish.)
 * The control-plane components count as healthy on a ready machine (Node registered, Ready not
 * False): the appliance does not inspect the static pods. etcd member health comes from
 * {@link EtcdMembership.members}.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Condition } from "../../runtime/conditions.ts";
import type { EtcdMachine, EtcdMemberState } from "./etcd.ts";

export function nodeNameOf(machine: KObject): string | undefined {
  return (machine.status as { nodeRef?: { name?: string } } | undefined)?.nodeRef?.name || undefined;
}

export function machineIsReady(machine: KObject): boolean {
  if (!nodeNameOf(machine)) return false;
  const ready = ((machine.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === "Ready");
  return ready?.status !== "False";
}

export function etcdMachineOf(machine: KObject): EtcdMachine {
  const addrs = ((machine.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).filter((a) => a.address);
  const address = (addrs.find((a) => a.type === "InternalIP") ?? addrs.find((a) => a.type === "ExternalIP"))?.address;
  const nodeName = nodeNameOf(machine);
  return { machine: machine.metadata.name!, ...(nodeName ? { nodeName } : {}), ...(address ? { address } : {}) };
}

/** At least one other machine keeps a full set of control-plane components. */
export function componentsHealthyWithout(machines: KObject[], leaving: string): boolean {
  return machines.some((m) => m.metadata.name !== leaving && machineIsReady(m));
}

/**
 * etcd keeps quorum once `leavingMember` is gone: the healthy voting members left are a majority
 * of the voting members left; members still starting (no name) or learners block, as upstream.
 */
export function etcdHealthyWithout(members: EtcdMemberState[], leavingMember: string): boolean {
  let voting = 0;
  let learners = 0;
  let unhealthy = 0;
  for (const m of members) {
    if (!m.name) {
      learners++;
      unhealthy++;
      continue;
    }
    if (m.name === leavingMember) continue;
    if (m.learner) learners++;
    else voting++;
    if (!m.healthy) unhealthy++;
  }
  const quorum = Math.floor(voting / 2) + 1;
  return learners === 0 && voting - unhealthy >= quorum;
}
