import { providerCalls } from "../../../runtime/metrics.ts";
import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import * as x509 from "@peculiar/x509";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { LabNetwork } from "../../workload/dialer.ts";
import { createCA, issueCertificate } from "../../pki/certs.ts";
import { createTalosCA, issueTalosAdminCertificate, issueTalosCertificate, type TalosKeyPair } from "../api/pki.ts";
import { TalosClient, TalosMultiNodeError, TalosNodeError } from "../api/client.ts";
import { decodeSequenceEvent, SequenceAction } from "../api/machine.ts";
import { untarGz } from "../api/targz.ts";
import { LabTalosCluster } from "./cluster.ts";
import { LabTalosNode, type TalosMachineConfigLike } from "./node.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** A machine config shaped like talosctl's output: base64 PEMs, Ed25519 OS CA labelled as Talos does. */
function machineConfig(type: "controlplane" | "worker", os: TalosKeyPair, k8s: { certPem: string; keyPem: string }): TalosMachineConfigLike {
  const talosKey = os.keyPem.replace(/PRIVATE KEY-----/g, "ED25519 PRIVATE KEY-----");
  return {
    machine: {
      type,
      ca: { crt: b64(os.certPem), key: type === "worker" ? "" : b64(talosKey) },
      certSANs: ["talos-api.lab.internal"],
      install: { image: "ghcr.io/siderolabs/installer:v1.13.9" },
    },
    cluster: {
      clusterName: "lab",
      controlPlane: { endpoint: "https://10.10.0.10:6443" },
      ca: { crt: b64(k8s.certPem), key: type === "worker" ? "" : b64(k8s.keyPem) },
    },
  };
}

let dir: string;
let os: TalosKeyPair;
let k8s: { certPem: string; keyPem: string };
let admin: TalosKeyPair;
let network: LabNetwork;
let cluster: LabTalosCluster;
const nodes: LabTalosNode[] = [];
const clients: TalosClient[] = [];

function node(cl: LabTalosCluster, address: string, hostname: string, type: "controlplane" | "worker" = "controlplane", onReset?: (n: LabTalosNode) => void) {
  // Workers carry no OS CA key (as in real configs): their apid certificate comes from a control plane ("trustd").
  const cfg = machineConfig(type, os, k8s);
  const n = new LabTalosNode({ config: cfg, address, hostname, dataDir: cl.nodeDir(hostname), cluster: cl, network, onReset });
  nodes.push(n);
  return n;
}

function client(opts: Partial<ConstructorParameters<typeof TalosClient>[0]> = {}): TalosClient {
  const c = new TalosClient({
    endpoints: ["10.10.0.11"],
    ca: b64(os.certPem),
    crt: b64(admin.certPem),
    key: b64(admin.keyPem),
    serverName: "cp-1",
    dialer: network,
    timeoutMs: 10_000,
    ...opts,
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lab-talos-"));
  os = await createTalosCA();
  k8s = await createCA("kubernetes");
  admin = await issueTalosAdminCertificate(os);
  network = new LabNetwork();
  cluster = new LabTalosCluster(join(dir, "lab"));
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("Talos machine API: client <-> lab node over mTLS", () => {
  let cp1: LabTalosNode, cp2: LabTalosNode, cp3: LabTalosNode, w1: LabTalosNode;

  test("nodes start and answer Version on an IP endpoint (servername override to a DNS SAN)", async () => {
    cp1 = node(cluster, "10.10.0.11", "cp-1");
    cp2 = node(cluster, "10.10.0.12", "cp-2");
    w1 = node(cluster, "10.10.0.21", "w-1", "worker");
    for (const n of [cp1, cp2, w1]) expect(await n.start()).toBeGreaterThan(0);
    expect(network.lookup("10.10.0.11", 50000)?.port).toBe(cp1.port);

    const calls = providerCalls.talos.get({ method: "Version", code: "OK" });
    const [v] = await client().version();
    expect(v!.version!.tag).toBe("v1.13.9");
    expect(v!.features!.rbac).toBe(true);
    expect(providerCalls.talos.get({ method: "Version", code: "OK" })).toBe(calls + 1); // capx_talos_requests_total

    // a certSANs entry works as the TLS name too
    const [v2] = await client({ serverName: "talos-api.lab.internal" }).version();
    expect(v2!.version!.os).toBe("linux");
  });

  test("several endpoints: a dead one is skipped", async () => {
    const dead = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const deadPort = dead.port;
    dead.stop(true);
    network.listen("10.10.0.98", 50000, deadPort); // nothing listens there any more: connection refused
    const c = client({ endpoints: ["10.10.0.98", "10.10.0.12"], serverName: "talos-api.lab.internal", connectTimeoutMs: 3000 });
    const [v] = await c.version();
    expect(v!.version!.tag).toBe("v1.13.9");
    const none = await client({ endpoints: ["10.10.0.98"], timeoutMs: 3000 })
      .version()
      .catch((e: unknown) => e);
    expect((none as TalosNodeError).code).toBe(grpc.status.UNAVAILABLE);
  });

  test("the servername trap: an IP endpoint without a DNS name is refused up front; a name not in the SANs fails TLS", async () => {
    await expect(client({ serverName: undefined }).version()).rejects.toThrow(/serverName/);
    const err = await client({ serverName: "not-in-sans.example", timeoutMs: 5000 })
      .version()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(TalosNodeError);
    expect((err as TalosNodeError).code).toBe(grpc.status.UNAVAILABLE);
  });

  test("a client certificate from another CA is rejected; a reader cannot bootstrap", async () => {
    const other = await createTalosCA();
    const stranger = await issueTalosAdminCertificate(other);
    const err = await client({ crt: stranger.certPem, key: stranger.keyPem, timeoutMs: 5000 })
      .version()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TalosNodeError);
    expect((err as TalosNodeError).code).toBe(grpc.status.UNAVAILABLE);

    const reader = await issueTalosAdminCertificate(os, "os:reader");
    const rc = client({ crt: reader.certPem, key: reader.keyPem });
    expect((await rc.version()).length).toBe(1);
    const denied = await rc.bootstrap().catch((e: unknown) => e);
    expect((denied as TalosNodeError).code).toBe(grpc.status.PERMISSION_DENIED);

    // apid wants EKU exactly [ClientAuth]: a server-usage certificate with O=os:admin is refused
    const wrongUsage = await issueTalosCertificate(os, { usage: "server", organizations: ["os:admin"], hours: 1 });
    const eku = await client({ crt: wrongUsage.certPem, key: wrongUsage.keyPem, timeoutMs: 5000 })
      .version()
      .catch((e: unknown) => e);
    expect(eku).toBeInstanceOf(TalosNodeError);
    expect((eku as TalosNodeError).code).toBe(grpc.status.UNAVAILABLE); // refused in the TLS handshake

    // server+client EKUs pass TLS but not apid's "exactly ClientAuth" rule
    const both = await issueCertificate(
      { certPem: os.certPem, keyPem: os.keyPem },
      { commonName: "x", organizations: ["os:admin"], usage: "server-client", days: 1 },
    );
    const ekuBoth = await client({ crt: both.certPem, key: both.keyPem }).version().catch((e: unknown) => e);
    expect((ekuBoth as TalosNodeError).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((ekuBoth as TalosNodeError).detail).toContain("client authentication");

    // a certificate of the right CA but without a Talos role
    const noRole = await issueTalosCertificate(os, { usage: "client", organizations: ["someone"], hours: 1 });
    const nr = await client({ crt: noRole.certPem, key: noRole.keyPem }).version().catch((e: unknown) => e);
    expect((nr as TalosNodeError).code).toBe(grpc.status.PERMISSION_DENIED);
  });

  test("before bootstrap: etcd is Preparing, the member dir probe fails on every node", async () => {
    const [sl] = await client().serviceList();
    const etcd = sl!.services.find((s) => s.id === "etcd")!;
    expect(etcd.state).toBe("Preparing");
    expect(etcd.health!.unknown).toBe(true);
    const [wl] = await client().serviceList({ node: "10.10.0.21" });
    expect(wl!.services.some((s) => s.id === "etcd")).toBe(false);
    expect(wl!.services.some((s) => s.id === "kubelet")).toBe(true);

    const probe = await client().listSettled({ root: "/var/lib/etcd/member" }, { nodes: ["10.10.0.11", "10.10.0.12"] });
    expect(probe.length).toBe(2);
    expect(probe.every((r) => r.error?.detail.includes("no such file or directory"))).toBe(true);
    expect(probe.map((r) => r.node).sort()).toEqual(["10.10.0.11", "10.10.0.12"]);
  });

  test("Bootstrap works once per cluster; then the verbatim AlreadyExists error", async () => {
    const c = client();
    const [b] = await c.bootstrap({}, { nodes: ["10.10.0.11"] });
    expect(b!.metadata!.hostname).toBe("10.10.0.11");
    expect(cp1.etcdDataPresent).toBe(true);
    expect(cp2.etcdDataPresent).toBe(true); // was running, joined once etcd was bootstrapped

    const again = await c.bootstrap().catch((e: unknown) => e);
    expect(again).toBeInstanceOf(TalosNodeError);
    expect((again as TalosNodeError).code).toBe(grpc.status.ALREADY_EXISTS);
    expect((again as TalosNodeError).detail).toBe("etcd data directory is not empty");
    // through `nodes` the failure is a per-node metadata.error, in Go's status format
    const viaNodes = await c.bootstrap({}, { nodes: ["10.10.0.12"] }).catch((e: unknown) => e);
    expect((viaNodes as TalosNodeError).node).toBe("10.10.0.12");
    expect((viaNodes as TalosNodeError).detail).toBe("rpc error: code = AlreadyExists desc = etcd data directory is not empty");
    expect((viaNodes as TalosNodeError).code).toBe(grpc.status.ALREADY_EXISTS);

    const worker = await c.bootstrap({}, { node: "10.10.0.21" }).catch((e: unknown) => e);
    expect((worker as TalosNodeError).code).toBe(grpc.status.UNIMPLEMENTED);
    expect((worker as TalosNodeError).detail).toBe("bootstrap is only available on control plane nodes");

    const probe = await c.listSettled({ root: "/var/lib/etcd/member" }, { nodes: ["10.10.0.11", "10.10.0.12"] });
    expect(probe.some((r) => !r.error)).toBe(true);
  });

  test("a third control plane joins on start; member list from any control plane", async () => {
    cp3 = node(cluster, "10.10.0.13", "cp-3");
    await cp3.start();
    const [m] = await client().etcdMemberList({}, { node: "10.10.0.13" });
    expect(m!.members.map((x) => x.hostname).sort()).toEqual(["cp-1", "cp-2", "cp-3"]);
    expect(m!.legacyMembers.length).toBe(3);
    const mine = m!.members.find((x) => x.hostname === "cp-3")!;
    expect(mine.peerUrls).toEqual(["https://10.10.0.13:2380"]);
    expect(mine.clientUrls).toEqual(["https://10.10.0.13:2379"]);
    expect(typeof mine.id).toBe("bigint");
    expect(mine.id).not.toBe(0n);
    expect(cluster.memberCounts).toEqual([1, 2, 3]);

    const [sl] = await client().serviceList({ node: "10.10.0.13" });
    const etcd = sl!.services.find((s) => s.id === "etcd")!;
    expect(etcd.state).toBe("Running");
    expect(etcd.health!.healthy).toBe(true);
  });

  test("`nodes` metadata to two nodes: per-node replies, a failed node is a typed error naming it", async () => {
    const c = client();
    const settled = await c.unarySettled((await import("../api/machine.ts")).RPCS.EtcdMemberList, {}, { nodes: ["10.10.0.12", "10.10.0.21"] });
    expect(settled.length).toBe(2);
    const ok = settled.find((r) => r.node === "10.10.0.12")!;
    expect(ok.value!.members.length).toBe(3);
    const bad = settled.find((r) => r.node === "10.10.0.21")!;
    expect(bad.error).toBeInstanceOf(TalosNodeError);
    expect(bad.error!.detail).toBe("rpc error: code = Unimplemented desc = etcd member list is only available on control plane nodes");

    const err = await c.etcdMemberList({}, { nodes: ["10.10.0.12", "10.10.0.21"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TalosNodeError);
    expect((err as TalosNodeError).node).toBe("10.10.0.21");
    expect((err as Error).message).toContain("10.10.0.21");

    const two = await c.version({ nodes: ["10.10.0.77", "10.10.0.78"] }).catch((e: unknown) => e);
    expect(two).toBeInstanceOf(TalosMultiNodeError);
    expect((two as TalosMultiNodeError).errors.map((e) => e.node)).toEqual(["10.10.0.77", "10.10.0.78"]);
    expect((two as TalosMultiNodeError).errors[0]!.code).toBe(grpc.status.UNAVAILABLE);

    const versions = await c.version({ nodes: ["10.10.0.11", "10.10.0.21"] });
    expect(versions.map((v) => v.metadata!.hostname)).toEqual(["10.10.0.11", "10.10.0.21"]);
  });

  test("forfeit leadership, leave, remove by id; the member-count timeline", async () => {
    const c = client();
    expect(cluster.leader!.hostname).toBe("cp-1");
    const [f] = await c.etcdForfeitLeadership({ node: "10.10.0.11" });
    expect(f!.member).toBe("cp-2");
    expect(cluster.leader!.hostname).toBe("cp-2");
    const [f2] = await c.etcdForfeitLeadership({ node: "10.10.0.11" });
    expect(f2!.member).toBe(""); // not the leader any more: nothing to forfeit

    await c.etcdLeaveCluster({ node: "10.10.0.13" });
    const [m] = await c.etcdMemberList();
    expect(m!.members.map((x) => x.hostname).sort()).toEqual(["cp-1", "cp-2"]);
    const [sl] = await c.serviceList({ node: "10.10.0.13" });
    expect(sl!.services.find((s) => s.id === "etcd")!.state).toBe("Finished");
    const probe = await c.listSettled({ root: "/var/lib/etcd/member" }, { nodes: ["10.10.0.13"] });
    expect(probe[0]!.error).toBeDefined();

    const cp4 = node(cluster, "10.10.0.14", "cp-4");
    await cp4.start();
    const [m2] = await c.etcdMemberList();
    const id = m2!.members.find((x) => x.hostname === "cp-4")!.id;
    await c.etcdRemoveMemberByID(id);
    const [m3] = await c.etcdMemberList();
    expect(m3!.members.some((x) => x.hostname === "cp-4")).toBe(false);

    const missing = await c.etcdRemoveMemberByID(id).catch((e: unknown) => e);
    expect((missing as TalosNodeError).code).toBe(grpc.status.NOT_FOUND);
    expect((missing as TalosNodeError).detail).toBe("etcdserver: member not found");
    expect(cluster.memberCounts).toEqual([1, 2, 3, 2, 3, 2]);
    expect(cluster.timeline.map((t) => t.event)).toEqual(["bootstrap", "join", "join", "leave", "join", "remove"]);
  });

  test("Kubeconfig streams a tar.gz in chunks; admin cert signed by cluster.ca", async () => {
    const c = client();
    const archive = await c.kubeconfigArchive();
    expect(archive.length).toBeGreaterThan(0);
    const files = untarGz(archive);
    expect([...files.keys()]).toEqual(["kubeconfig"]);
    const kc = parse(await c.kubeconfig()) as {
      clusters: { name: string; cluster: { server: string; "certificate-authority-data": string } }[];
      users: { name: string; user: { "client-certificate-data": string } }[];
      contexts: { name: string; context: { namespace: string } }[];
    };
    expect(kc.clusters[0]!.cluster.server).toBe("https://10.10.0.10:6443");
    expect(kc.users[0]!.name).toBe("admin@lab");
    expect(kc.contexts[0]!.context.namespace).toBe("default");
    const cert = new x509.X509Certificate(Buffer.from(kc.users[0]!.user["client-certificate-data"], "base64").toString());
    expect(cert.subjectName.getField("CN")).toEqual(["admin"]);
    expect(cert.subjectName.getField("O")).toEqual(["system:masters"]);
    expect(await cert.verify({ publicKey: new x509.X509Certificate(k8s.certPem) })).toBe(true);

    let chunks = 0;
    for await (const d of c.stream((await import("../api/machine.ts")).RPCS.Kubeconfig, {})) chunks += d.bytes.length > 0 ? 1 : 0;
    expect(chunks).toBeGreaterThan(1);

    const onWorker = await c.kubeconfig({ node: "10.10.0.21" }).catch((e: unknown) => e);
    expect((onWorker as TalosNodeError).code).toBe(grpc.status.UNIMPLEMENTED);
  });

  test("Events replays the boot sequence and then follows until cancelled", async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    for await (const e of client().events({ tailEvents: -1 }, { node: "10.10.0.12", signal: ac.signal })) {
      const s = decodeSequenceEvent(e.data!)!;
      seen.push(`${s.sequence}:${SequenceAction[s.action]}`);
      if (seen.length === 4) ac.abort();
    }
    expect(seen).toEqual(["initialize:START", "initialize:STOP", "boot:START", "boot:STOP"]);

    // two never-ending streams through `nodes` are merged, each event tagged with its node
    const ac2 = new AbortController();
    const from = new Map<string, number>();
    for await (const e of client().events({ tailEvents: 2 }, { nodes: ["10.10.0.11", "10.10.0.21"], signal: ac2.signal })) {
      from.set(e.metadata!.hostname, (from.get(e.metadata!.hostname) ?? 0) + 1);
      if ([...from.values()].reduce((a, b) => a + b, 0) === 4) ac2.abort();
    }
    expect(Object.fromEntries(from)).toEqual({ "10.10.0.11": 2, "10.10.0.21": 2 });
  });

  test("state persists across a restart of the nodes and of the cluster object", async () => {
    const before = (await client().etcdMemberList())[0]!.members.map((m) => `${m.hostname}=${m.id}`).sort();
    for (const n of [...nodes]) await n.stop();
    nodes.length = 0;
    const again = new LabTalosCluster(cluster.dir);
    expect(again.bootstrapped).toBe(true);
    const r1 = node(again, "10.10.0.11", "cp-1");
    const r2 = node(again, "10.10.0.12", "cp-2");
    await r1.start();
    await r2.start();
    expect(r1.etcdDataPresent).toBe(true);
    const c = client();
    const after = (await c.etcdMemberList())[0]!.members.map((m) => `${m.hostname}=${m.id}`).sort();
    expect(after).toEqual(before);
    expect(again.leader!.hostname).toBe("cp-2");
    const b = await c.bootstrap().catch((e: unknown) => e);
    expect((b as TalosNodeError).code).toBe(grpc.status.ALREADY_EXISTS);
    cluster = again;
  });

  test("graceful Reset leaves etcd, wipes the node and stops it", async () => {
    const resetDone = Promise.withResolvers<LabTalosNode>();
    const r3 = node(cluster, "10.10.0.15", "cp-5", "controlplane", (n) => resetDone.resolve(n));
    await r3.start();
    expect(cluster.member("cp-5")).toBeDefined();
    const [r] = await client().reset({ graceful: true, reboot: false }, { node: "10.10.0.15" });
    expect(r!.actorId).toMatch(/^[0-9a-f-]{36}$/);
    const n = await resetDone.promise;
    expect(n.running).toBe(false);
    expect(n.etcdDataPresent).toBe(false);
    expect(cluster.member("cp-5")).toBeUndefined();
    expect(network.lookup("10.10.0.15", 50000)).toBeUndefined();
  });
});

describe("time not in sync", () => {
  test("Bootstrap fails with the verbatim FailedPrecondition until time is synced", async () => {
    const cl = new LabTalosCluster(join(dir, "other"));
    const n = new LabTalosNode({
      config: machineConfig("controlplane", os, k8s),
      address: "10.10.0.31",
      hostname: "solo",
      dataDir: join(cl.dir, "nodes", "solo"),
      cluster: cl,
      network,
    });
    nodes.push(n);
    n.timeSynced = false;
    await n.start();
    const c = client({ endpoints: ["10.10.0.31"], serverName: "solo" });
    const err = await c.bootstrap().catch((e: unknown) => e);
    expect((err as TalosNodeError).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect((err as TalosNodeError).detail).toBe("time is not in sync yet");
    expect(cl.bootstrapped).toBe(false);
    n.timeSynced = true;
    await c.bootstrap();
    expect(cl.members.map((m) => m.hostname)).toEqual(["solo"]);
  });
});
