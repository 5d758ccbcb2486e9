import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KObject } from "../../lib/kobject.ts";
import { LabEtcdServer } from "../../providers/etcd/lab/server.ts";
import type { KeyPair } from "../../providers/kubeadm/certificates.ts";
import { loadCertificateGeneration } from "../../providers/kubeadm/load-generation.ts";
import { LabTalosCluster } from "../../providers/talos/lab/cluster.ts";
import { LabNetwork } from "../../providers/workload/dialer.ts";
import type { Client } from "../../runtime/client.ts";
import { etcdV3Membership } from "./etcd-client.ts";

const NODES = [
  { machine: "kcp-a", nodeName: "kcp-a", address: "10.10.0.31" },
  { machine: "kcp-b", nodeName: "kcp-b", address: "10.10.0.32" },
  { machine: "kcp-c", nodeName: "kcp-c", address: "10.10.0.33" },
];
let dir: string;
let network: LabNetwork;
let membership: LabTalosCluster;
let etcdCA: KeyPair;
const servers: LabEtcdServer[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kcp-etcd-"));
  etcdCA = await (await loadCertificateGeneration()).generateCA();
  network = new LabNetwork();
  membership = new LabTalosCluster(join(dir, "w1"));
  membership.bootstrap(NODES[0]!.nodeName, NODES[0]!.address);
  for (const n of NODES.slice(1)) membership.join(n.nodeName, n.address);
  for (const n of NODES) {
    const s = new LabEtcdServer({ membership, clusterName: "w1", name: n.nodeName, address: n.address, ca: etcdCA, network });
    servers.push(s);
    await s.start();
  }
});
afterAll(async () => {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Only `get` of the `<cluster>-etcd` Secret is used. */
function secrets(ca: KeyPair | undefined): Client {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return {
    get: (ref: { name: string }) => (ca && ref.name === "w1-etcd" ? ({ metadata: { name: "w1-etcd" }, data: { "tls.crt": b64(ca.cert), "tls.key": b64(ca.key) } } as unknown as KObject) : undefined),
  } as unknown as Client;
}
const cluster = { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", metadata: { name: "w1", namespace: "default" } } as KObject;

test("no <cluster>-etcd Secret: no etcd access (the controller then does not delete)", () => {
  expect(etcdV3Membership(secrets(undefined), network)(cluster)).toBeUndefined();
});

test("scale-down steps over etcd v3: leadership moves off the leaving machine, then its member is removed through another", async () => {
  const etcd = etcdV3Membership(secrets(etcdCA), network, 3000)(cluster)!;
  const [a, b, c] = NODES as [(typeof NODES)[0], (typeof NODES)[0], (typeof NODES)[0]];
  const leaderName = () => membership.leader?.hostname;
  expect(leaderName()).toBe("kcp-a");
  await etcd.forwardLeadership(a, c);
  expect(leaderName()).toBe("kcp-c");
  // not the leader: nothing to hand over
  await etcd.forwardLeadership(b, a);
  expect(leaderName()).toBe("kcp-c");
  await etcd.removeMember(a, [b, c]);
  expect(membership.members.map((m) => m.hostname).sort()).toEqual(["kcp-b", "kcp-c"]);
  // already gone: no error
  await etcd.removeMember(a, [b, c]);
  expect(membership.members).toHaveLength(2);
});

test("members and their health; a stopped member is unhealthy and leadership is asked of the candidate", async () => {
  const etcd = etcdV3Membership(secrets(etcdCA), network, 1500)(cluster)!;
  const [, b, c] = NODES as [(typeof NODES)[0], (typeof NODES)[0], (typeof NODES)[0]];
  expect((await etcd.members([b, c])).sort((x, y) => (x.name < y.name ? -1 : 1))).toEqual([
    { name: "kcp-b", learner: false, healthy: true },
    { name: "kcp-c", learner: false, healthy: true },
  ]);
  await servers[1]!.stop();
  // b cannot answer: the list comes through c, b reports unhealthy.
  expect((await etcd.members([b, c])).find((m) => m.name === "kcp-b")?.healthy).toBe(false);
  // b is unreachable and not the leader: nothing to hand over, no error.
  await etcd.forwardLeadership(b, c);
  expect(membership.leader?.hostname).toBe("kcp-c");
});
