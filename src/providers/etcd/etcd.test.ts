import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import * as x509 from "@peculiar/x509";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabNetwork } from "../workload/dialer.ts";
import { loadCertificateGeneration } from "../kubeadm/load-generation.ts";
import type { KeyPair } from "../kubeadm/certificates.ts";
import { LabTalosCluster } from "../talos/lab/cluster.ts";
import { EtcdClient, EtcdError, type EtcdClientOptions } from "./client.ts";
import { ETCD_CLIENT_COMMON_NAME, issueEtcdClientCertificate } from "./client-cert.ts";
import { LabEtcdServer } from "./lab/server.ts";
import { AlarmType } from "./rpc.ts";

let dir: string;
let etcdCA: KeyPair;
let clientCert: KeyPair;
let network: LabNetwork;
let membership: LabTalosCluster;
const servers: LabEtcdServer[] = [];
const clients: EtcdClient[] = [];

function client(endpoint: string, opts: Partial<EtcdClientOptions> = {}): EtcdClient {
  const c = new EtcdClient({ endpoint, ca: etcdCA.cert, crt: clientCert.cert, key: clientCert.key, dialer: network, timeoutMs: 3000, ...opts });
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<EtcdError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(EtcdError);
  return e as EtcdError;
}

const NODES = [
  { name: "cp-1", address: "10.10.0.11" },
  { name: "cp-2", address: "10.10.0.12" },
  { name: "cp-3", address: "10.10.0.13" },
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lab-etcd-"));
  const gen = await loadCertificateGeneration();
  etcdCA = await gen.generateCA(); // `<cluster>-etcd` as CABPK makes it by default: RSA-2048
  clientCert = await issueEtcdClientCertificate(etcdCA);
  network = new LabNetwork();
  membership = new LabTalosCluster(join(dir, "c1"));
  membership.bootstrap(NODES[0]!.name, NODES[0]!.address);
  for (const n of NODES.slice(1)) membership.join(n.name, n.address);
  for (const n of NODES) {
    const s = new LabEtcdServer({ membership, clusterName: "c1", name: n.name, address: n.address, ca: etcdCA, network });
    servers.push(s);
    await s.start();
  }
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const id = (name: string) => BigInt(membership.member(name)!.id);

describe("etcd v3 client <-> lab etcd over mTLS on the lab LAN", () => {
  test("the client certificate has upstream KCP's shape", () => {
    const cert = new x509.X509Certificate(clientCert.cert);
    expect(cert.subject).toBe(`CN=${ETCD_CLIENT_COMMON_NAME}`);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    expect(cert.getExtension(x509.KeyUsagesExtension)!.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(cert.issuer).toBe(new x509.X509Certificate(etcdCA.cert).subject);
  });

  test("members: every member with id, name, URLs and the cluster id", async () => {
    expect(network.lookup("10.10.0.11", 2379)?.port).toBe(servers[0]!.port);
    const members = await client("10.10.0.12").members();
    expect(members.map((m) => m.name)).toEqual(["cp-1", "cp-2", "cp-3"]);
    const cp2 = members.find((m) => m.name === "cp-2")!;
    expect(cp2.id).toBe(id("cp-2"));
    expect(cp2.peerURLs).toEqual(["https://10.10.0.12:2380"]);
    expect(cp2.clientURLs).toEqual(["https://10.10.0.12:2379"]);
    expect(cp2.isLearner).toBe(false);
    expect(new Set(members.map((m) => m.clusterId))).toEqual(new Set([servers[0]!.clusterId]));
    // as upstream, the serving certificate must chain to the etcd CA but its names are not checked
    expect((await client("10.10.0.12", { serverName: "etcd-cp-2.kube-system" }).status()).memberId).toBe(id("cp-2"));
  });

  test("status: the answering member, the leader, raft index and version; alarms", async () => {
    const s = await client("10.10.0.13").status();
    expect(s.memberId).toBe(id("cp-3"));
    expect(s.leader).toBe(id("cp-1"));
    expect(s.raftIndex).toBeGreaterThan(0n);
    expect(s.version).toBe("3.5.21");
    expect(s.clusterId).toBe(servers[0]!.clusterId);
    expect(await client("10.10.0.11").alarms()).toEqual([]);
    servers[1]!.raiseAlarm(id("cp-2"), AlarmType.NOSPACE);
    expect(await client("10.10.0.11").alarms()).toEqual([{ memberId: id("cp-2"), type: "NOSPACE" }]);
  });

  test("move leader: only the leader may; the new leader shows in every member's status", async () => {
    const before = await client("10.10.0.12").status();
    const notLeader = await failure(client("10.10.0.12").moveLeader(id("cp-2")));
    expect(notLeader.detail).toBe("etcdserver: not leader");
    expect(notLeader.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(notLeader.node).toBe("10.10.0.12");

    const bad = await failure(client("10.10.0.11").moveLeader(12345n));
    expect(bad.detail).toBe("etcdserver: bad leader transferee");
    expect(bad.code).toBe(grpc.status.FAILED_PRECONDITION);

    await client("10.10.0.11").moveLeader(id("cp-2"));
    for (const ip of ["10.10.0.11", "10.10.0.12", "10.10.0.13"]) expect((await client(ip).status()).leader).toBe(id("cp-2"));
    const after = await client("10.10.0.12").status();
    expect(after.raftTerm).toBeGreaterThan(before.raftTerm);
    expect(after.raftIndex).toBeGreaterThan(before.raftIndex);
  });

  test("remove member: gone from the list; an unknown id gives etcd's error verbatim; the removed member has stopped", async () => {
    const cp3 = id("cp-3");
    const left = await client("10.10.0.12").removeMember(cp3);
    expect(left.map((m) => m.name)).toEqual(["cp-1", "cp-2"]);
    expect((await client("10.10.0.11").members()).map((m) => m.id)).not.toContain(cp3);

    const err = await failure(client("10.10.0.11").removeMember(cp3));
    expect(err.detail).toBe("etcdserver: member not found");
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.message).toBe("etcd MemberRemove on 10.10.0.11: etcdserver: member not found (NOT_FOUND)");

    const stopped = await failure(client("10.10.0.13").status());
    expect(stopped.detail).toBe("etcdserver: server stopped");
    expect(stopped.code).toBe(grpc.status.UNAVAILABLE);
  });

  test("a client certificate from another CA is rejected at TLS", async () => {
    const gen = await loadCertificateGeneration();
    const otherCA = await gen.generateCA({ algorithm: "ECDSA-P256" });
    const stranger = await issueEtcdClientCertificate(otherCA, "ECDSA-P256");
    const err = await failure(client("10.10.0.11", { crt: stranger.cert, key: stranger.key }).members());
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.detail).not.toContain("etcdserver");
  });

  test("a server whose certificate is not from the cluster's etcd CA is refused by the client", async () => {
    const gen = await loadCertificateGeneration();
    const otherCA = await gen.generateCA({ algorithm: "ECDSA-P256" });
    const err = await failure(client("10.10.0.11", { ca: otherCA.cert }).members());
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
  });

  test("a node without etcd (closed port) gives a connection error naming the node", async () => {
    const dead = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const deadPort = dead.port;
    dead.stop(true);
    network.listen("10.10.0.21", 2379, deadPort);
    const started = Date.now();
    const err = await failure(client("10.10.0.21").members());
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.node).toBe("10.10.0.21");
    expect(err.message).toStartWith("etcd MemberList on 10.10.0.21: ");
    expect(Date.now() - started).toBeLessThan(2500);
  });
});
