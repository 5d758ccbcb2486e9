/**
 * The KCP's etcd membership steps over etcd v3 gRPC (src/providers/etcd): to `<node-ip>:2379`
 * through the Dialer, trusting `<cluster>-etcd` and presenting a client certificate it signs
 * (CN `cluster-api.x-k8s.io`, as upstream KCP), issued once per cluster CA and kept in memory.
 * Members are found by name (kubeadm names them after the Node).
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { KeyPair } from "../../providers/kubeadm/certificates.ts";
import { loadEtcdClientCert } from "../../providers/etcd/load-client-cert.ts";
import type { Dialer } from "../../providers/workload/dialer.ts";
import type { Client } from "../../runtime/client.ts";
import { EtcdUnavailableError, type EtcdMachine, type EtcdMembership, type EtcdMembershipFor } from "./etcd.ts";

const b64 = (s: string | undefined) => (s ? Buffer.from(s, "base64").toString() : "");

export function etcdV3Membership(client: Client, dialer: Dialer | undefined, timeoutMs = 10_000): EtcdMembershipFor {
  const clientCerts = new Map<string, Promise<KeyPair>>();
  return (cluster: KObject) => {
    const ns = cluster.metadata.namespace!;
    const secret = client.get({ apiVersion: "v1", kind: "Secret", namespace: ns, name: `${cluster.metadata.name}-etcd` });
    const data = (secret?.data ?? {}) as Record<string, string>;
    const ca: KeyPair = { cert: b64(data["tls.crt"]), key: b64(data["tls.key"]) };
    if (!ca.cert || !ca.key) return undefined;
    const credentials = async () => {
      let p = clientCerts.get(ca.cert);
      if (!p) {
        p = loadEtcdClientCert().then((m) => m.issueEtcdClientCertificate(ca));
        clientCerts.set(ca.cert, p);
      }
      return p;
    };
    const connect = async (m: EtcdMachine) => {
      if (!m.address) throw new EtcdUnavailableError(`machine ${m.machine} has no address to reach its etcd`);
      const cert = await credentials();
      // gRPC loads with the first etcd call, not at start-up.
      const { EtcdClient } = await import("../../providers/etcd/client.ts");
      return new EtcdClient({ endpoint: m.address, ca: ca.cert, crt: cert.cert, key: cert.key, ...(dialer ? { dialer } : {}), timeoutMs });
    };
    const leaderView = async (m: EtcdMachine) => {
      const c = await connect(m);
      try {
        const [status, members] = await Promise.all([c.status(), c.members()]);
        return { status, members };
      } finally {
        c.close();
      }
    };
    const membership: EtcdMembership = {
      async forwardLeadership(leaving, candidate) {
        // Who leads is asked of the candidate first: a leaving machine that cannot answer (one
        // being remediated) is not a blocker, the others have elected another leader meanwhile.
        const { status, members } = (await leaderView(candidate).catch(() => undefined)) ?? (await leaderView(leaving));
        const mine = members.find((m) => m.name === (leaving.nodeName ?? leaving.machine));
        if (!mine || status.leader !== mine.id) return;
        const target = members.find((m) => m.name === (candidate.nodeName ?? candidate.machine));
        if (!target) throw new EtcdUnavailableError(`no etcd member for machine ${candidate.machine} to hand leadership to`);
        const c = await connect(leaving);
        try {
          await c.moveLeader(target.id);
        } finally {
          c.close();
        }
      },
      async members(machines) {
        let lastError: unknown;
        for (const via of machines.filter((m) => m.address)) {
          const c = await connect(via);
          let list: Awaited<ReturnType<typeof c.members>>;
          let alarms: Awaited<ReturnType<typeof c.alarms>>;
          try {
            [list, alarms] = await Promise.all([c.members(), c.alarms()]);
          } catch (e) {
            lastError = e;
            continue;
          } finally {
            c.close();
          }
          const alarmed = new Set(alarms.filter((a) => a.type !== "NONE").map((a) => a.memberId));
          return Promise.all(
            list.map(async (m) => {
              const machine = machines.find((x) => x.nodeName === m.name && x.address);
              let healthy = !alarmed.has(m.id);
              if (healthy && machine) {
                const mc = await connect(machine);
                healthy = await mc.status().then((s) => s.errors.length === 0, () => false);
                mc.close();
              }
              return { name: m.name, learner: m.isLearner, healthy };
            }),
          );
        }
        throw lastError ?? new EtcdUnavailableError("no control-plane machine with an address to list etcd members through");
      },
      async removeMember(leaving, others) {
        const name = leaving.nodeName ?? leaving.machine;
        let lastError: unknown;
        for (const other of others.filter((o) => o.address)) {
          const c = await connect(other);
          try {
            const member = (await c.members()).find((m) => m.name === name);
            if (member) await c.removeMember(member.id);
            return;
          } catch (e) {
            lastError = e;
          } finally {
            c.close();
          }
        }
        throw lastError ?? new EtcdUnavailableError(`no other control-plane machine to remove ${name}'s etcd member through`);
      },
    };
    return membership;
  };
}
