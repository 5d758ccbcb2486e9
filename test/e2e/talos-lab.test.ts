/**
 * Talos on Proxmox through the running daemon in lab mode (issue 5): kubectl applies a Cluster, a
 * ProxmoxCluster, a ProxmoxMachineTemplate of the lab's Talos template (9000) and a
 * TalosControlPlane with 3 replicas; the Proxmox provider clones and boots the VMs, the lab Talos
 * nodes come up from their cidata, the TalosControlPlane bootstraps etcd once and the kubelets
 * register Nodes in the lab workload cluster. The workload kubeconfig (through the lab proxy)
 * lists the nodes; the lab etcd timeline (DATA_DIR/lab/talos/<cluster>/etcd.json) proves quorum
 * through scaling 3 → 5 → 3, a daemon restart, a rolling upgrade and a deleted Machine.
 * TALOS_LAB_DAEMON_LOG=<file>: the daemon logs at debug level and its output is written there
 * (<file>.1 for the life before the restart).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { KObject } from "../../src/lib/kobject.ts";
import { startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("talos lab");
const NS = "default";
const NAME = "tl";
const ARGS = ["--lab", "--lab-latencies", "instant", "--lab-pve-listen", "127.0.0.1:0"];
const CONFIG = `storage:\n  synchronous: NORMAL\n${process.env.TALOS_LAB_DAEMON_LOG ? "logLevel: debug\n" : ""}`;

const manifest = (objs: KObject[]) => objs.map((o) => stringify(o)).join("---\n");

function objects(): KObject[] {
  return [
    {
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "Cluster",
      metadata: { name: NAME, namespace: NS },
      spec: {
        clusterNetwork: { pods: { cidrBlocks: ["10.244.0.0/16"] }, services: { cidrBlocks: ["10.96.0.0/12"] } },
        controlPlaneRef: { apiGroup: "controlplane.cluster.x-k8s.io", kind: "TalosControlPlane", name: NAME },
        infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxCluster", name: NAME },
      },
    },
    {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
      kind: "ProxmoxCluster",
      metadata: { name: NAME, namespace: NS },
      spec: {
        controlPlaneEndpoint: { host: "10.10.0.10", port: 6443 },
        ipv4Config: { addresses: ["10.10.0.100-10.10.0.150"], prefix: 24, gateway: "10.10.0.1" },
        dnsServers: ["10.10.0.1"],
        allowedNodes: ["pve1", "pve2", "pve3"],
      },
    },
    {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
      kind: "ProxmoxMachineTemplate",
      metadata: { name: `${NAME}-cp`, namespace: NS },
      spec: {
        template: {
          spec: {
            sourceNode: "pve1",
            templateID: 9000,
            format: "qcow2",
            full: true,
            numSockets: 1,
            numCores: 2,
            memoryMiB: 2048,
            disks: { bootVolume: { disk: "scsi0", sizeGb: 12 } },
            network: { networkDevices: [{ name: "net0", bridge: "vmbr0", defaultIPv4: true }] },
            // Talos runs no cloud-init; the lab template carries the qemu-guest-agent extension.
            checks: { skipCloudInitStatus: true },
          },
        },
      },
    },
    {
      apiVersion: "controlplane.cluster.x-k8s.io/v1alpha3",
      kind: "TalosControlPlane",
      metadata: { name: NAME, namespace: NS },
      spec: {
        replicas: 3,
        version: "v1.32.4",
        infrastructureTemplate: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxMachineTemplate", name: `${NAME}-cp` },
        controlPlaneConfig: { controlplane: { generateType: "controlplane", talosVersion: "v1.13" } },
      },
    },
  ];
}

interface Timeline {
  bootstrapped: boolean;
  members: { hostname: string }[];
  timeline: { event: string; hostname: string; members: number }[];
}

function etcd(d: TestDaemon): Timeline {
  const root = join(d.dataDir, "lab", "talos");
  const dirs = readdirSync(root);
  expect(dirs).toHaveLength(1);
  return JSON.parse(readFileSync(join(root, dirs[0]!, "etcd.json"), "utf8")) as Timeline;
}

describe.skipIf(!binary)("Talos control plane on lab Proxmox", () => {
  let d: TestDaemon;
  let k: Kubectl;
  const kcDir = tempDir("capx-talos-kc-");

  beforeAll(async () => {
    d = await startTestDaemon({ extraArgs: ARGS, config: CONFIG });
    k = new Kubectl(binary!, d.kubeconfig);
  });
  afterAll(async () => {
    if (process.env.TALOS_LAB_DAEMON_LOG) writeFileSync(process.env.TALOS_LAB_DAEMON_LOG, d.logs());
    await d?.stop();
    d?.cleanup();
    rmSync(kcDir, { recursive: true, force: true });
  });

  /** The `<cluster>-kubeconfig` secret's kubeconfig. */
  const kubeconfig = async () => Buffer.from(await k.ok(["get", "secret", `${NAME}-kubeconfig`, "-o", "jsonpath={.data.value}"]), "base64").toString();
  /** kubectl against the workload cluster (through the lab proxy the kubeconfig names). */
  const workload = (kc: string) => {
    const file = join(kcDir, "workload.kubeconfig");
    writeFileSync(file, kc);
    return new Kubectl(binary!, file);
  };

  const debug = async () => {
    console.log(await k.ok(["get", "machines,proxmoxmachines,taloscontrolplanes,talosconfigs", "-o", "wide"]).catch((e) => String(e)));
    console.log(d.logs().split("\n").filter((l) => /"level":(40|50)|error|warn/i.test(l)).slice(-40).join("\n"));
  };

  it("brings up 3 control-plane nodes, bootstraps etcd once and registers 3 Ready Nodes", async () => {
    // The Cluster goes last: a Cluster whose references do not exist yet is looked at again only
    // after 30 s (as upstream CAPI's Cluster controller does: its watches on provider objects
    // follow owner references, which an object not adopted yet does not have).
    const objs = objects();
    await k.ok(["apply", "-f", "-"], { input: manifest([...objs.slice(1), objs[0]!]) });
    const waited = await k.run(["wait", "--for=jsonpath={.status.readyReplicas}=3", `taloscontrolplane/${NAME}`, "--timeout=80s"], { timeoutMs: 90_000 });
    if (waited.code !== 0) await debug();
    expect(waited.code).toBe(0);
    const tcp = JSON.parse(await k.ok(["get", "taloscontrolplane", NAME, "-o", "json"])) as KObject;
    expect(tcp.status).toMatchObject({ initialized: true, ready: true, readyReplicas: 3 });

    const ms = await k.run(["wait", "--for=jsonpath={.status.phase}=Running", "machines", "-l", `cluster.x-k8s.io/cluster-name=${NAME}`, "--timeout=60s"], { timeoutMs: 70_000 });
    if (ms.code !== 0) await debug();
    expect(ms.code).toBe(0);
    const machines = (JSON.parse(await k.ok(["get", "machines", "-o", "json"])) as { items: KObject[] }).items;
    expect(machines).toHaveLength(3);
    // each Machine's nodeRef names the Node whose providerID is the Machine's (the VM's SMBIOS uuid)
    const providerIDs = new Map<string, string>();
    for (const m of machines) {
      const nodeRef = (m.status as { nodeRef?: { name?: string } }).nodeRef?.name;
      expect(nodeRef).toBe(m.metadata.name!);
      providerIDs.set(nodeRef!, (m.spec as { providerID?: string }).providerID ?? "");
    }

    const kc = await kubeconfig();
    expect(kc).toContain(`proxy-url: ${JSON.stringify(d.labProxy)}`);
    const w = workload(kc);
    const nodes = (JSON.parse(await w.ok(["get", "nodes", "-o", "json"])) as { items: KObject[] }).items;
    expect(nodes).toHaveLength(3);
    for (const n of nodes) {
      expect((n.spec as { providerID?: string }).providerID).toMatch(/^proxmox:\/\/[0-9a-f-]{36}$/);
      expect((n.spec as { providerID?: string }).providerID).toBe(providerIDs.get(n.metadata.name!)!);
      const ready = ((n.status as { conditions: { type: string; status: string }[] }).conditions ?? []).find((c) => c.type === "Ready");
      expect(ready?.status).toBe("True");
    }

    const e = etcd(d);
    expect(e.bootstrapped).toBe(true);
    expect(e.members).toHaveLength(3);
    expect(e.timeline.filter((t) => t.event === "bootstrap")).toHaveLength(1);
  }, 180_000);

  const quorum = (n: number) => Math.floor(n / 2) + 1;
  const cpMachines = async () => (JSON.parse(await k.ok(["get", "machines", "-l", `cluster.x-k8s.io/cluster-name=${NAME}`, "-o", "json"])) as { items: KObject[] }).items;
  const waitTcp = async (what: string, jsonpath: string, timeout = 80) => {
    const r = await k.run(["wait", `--for=jsonpath=${jsonpath}`, `taloscontrolplane/${NAME}`, `--timeout=${timeout}s`], { timeoutMs: (timeout + 10) * 1000 });
    if (r.code !== 0) {
      console.log(`waiting for ${what}: ${r.stderr}`);
      await debug();
    }
    expect(r.code).toBe(0);
  };
  /** Waits until the TCP has `n` ready, up-to-date replicas and no other Machines exist. */
  const settle = async (n: number, what: string) => {
    await waitTcp(what, `{.status.readyReplicas}=${n}`);
    await waitTcp(what, `{.status.replicas}=${n}`);
    for (let i = 0; i < 400 && ((await cpMachines()).length !== n || etcd(d).members.length !== n); i++) await Bun.sleep(100);
    expect((await cpMachines()).length).toBe(n);
    expect(etcd(d).members).toHaveLength(n);
  };

  it("scales 3 → 5 → 3 keeping etcd quorum at every step", async () => {
    const start = etcd(d).timeline.length;
    await k.ok(["scale", `taloscontrolplane/${NAME}`, "--replicas=5"]);
    await settle(5, "5 replicas");
    const up = etcd(d).timeline.length;
    const atFive = (await cpMachines()).map((m) => m.metadata.name!);
    await k.ok(["scale", `taloscontrolplane/${NAME}`, "--replicas=3"]);
    await settle(3, "3 replicas again");
    const tl = etcd(d).timeline;
    // on the way up the cluster never fell below the quorum of 3, on the way down below that of 5
    expect(Math.min(...tl.slice(start, up).map((t) => t.members))).toBeGreaterThanOrEqual(quorum(3));
    expect(tl.slice(start, up).map((t) => t.event)).toEqual(["join", "join"]);
    expect(Math.min(...tl.slice(up).map((t) => t.members))).toBeGreaterThanOrEqual(quorum(5));
    expect(tl.slice(up).filter((t) => t.event === "join")).toHaveLength(0);
    expect(tl.slice(up).length).toBe(2);
    // the members removed are those of the Machines scaled away; the rest are the Machines left
    const left = (await cpMachines()).map((m) => m.metadata.name!);
    expect(etcd(d).members.map((m) => m.hostname).sort()).toEqual([...left].sort());
    expect(tl.slice(up).map((t) => t.hostname).sort()).toEqual(atFive.filter((n) => !left.includes(n)).sort());
    expect(tl.filter((t) => t.event === "bootstrap")).toHaveLength(1);
  }, 180_000);

  it("bootstraps etcd exactly once across a daemon restart", async () => {
    if (process.env.TALOS_LAB_DAEMON_LOG) writeFileSync(`${process.env.TALOS_LAB_DAEMON_LOG}.1`, d.logs());
    await d.stop();
    d = await startTestDaemon({ dataDir: d.dataDir, extraArgs: ARGS, config: CONFIG });
    k = new Kubectl(binary!, d.kubeconfig);
    // make the control plane reconcile again after the restart
    await k.ok(["annotate", "--overwrite", `taloscontrolplane/${NAME}`, `e2e.capx.dev/poke=${Date.now()}`]);
    await settle(3, "3 replicas after the restart");
    // the control plane reconciled in this life: its kubeconfig names this life's lab proxy
    let kc = "";
    for (let i = 0; i < 200 && !(kc = await kubeconfig()).includes(`proxy-url: ${JSON.stringify(d.labProxy)}`); i++) await Bun.sleep(100);
    expect(kc).toContain(`proxy-url: ${JSON.stringify(d.labProxy)}`);
    const nodes = (JSON.parse(await workload(kc).ok(["get", "nodes", "-o", "json"])) as { items: KObject[] }).items;
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual((await cpMachines()).map((m) => m.metadata.name).sort());
    const tcp = JSON.parse(await k.ok(["get", "taloscontrolplane", NAME, "-o", "json"])) as KObject;
    expect(tcp.status).toMatchObject({ bootstrapped: true, initialized: true, ready: true });
    expect(etcd(d).timeline.filter((t) => t.event === "bootstrap")).toHaveLength(1);
  }, 180_000);

  it("upgrades Kubernetes v1.32 → v1.33 one machine at a time, keeping quorum", async () => {
    const before = new Set((await cpMachines()).map((m) => m.metadata.name));
    const start = etcd(d).timeline.length;
    await k.ok(["patch", "taloscontrolplane", NAME, "--type=merge", "-p", JSON.stringify({ spec: { version: "v1.33.1" } })]);
    await waitTcp("upgrade", "{.status.version}=v1.33.1", 85);
    await settle(3, "3 upgraded replicas");
    const machines = await cpMachines();
    expect(machines.every((m) => (m.spec as { version?: string }).version === "v1.33.1")).toBe(true);
    expect(machines.some((m) => before.has(m.metadata.name))).toBe(false);
    const tl = etcd(d).timeline.slice(start);
    // rolling with one surplus machine: a new member joins, then an old one leaves, three times
    expect(tl.map((t) => t.event)).toEqual(["join", "leave", "join", "leave", "join", "leave"]);
    expect(tl.filter((t) => t.event === "leave").every((t) => before.has(t.hostname))).toBe(true);
    expect(Math.min(...tl.map((t) => t.members))).toBeGreaterThanOrEqual(quorum(3));
    expect(Math.max(...tl.map((t) => t.members))).toBeLessThanOrEqual(4); // one surplus machine at a time
    const versions = await workload(await kubeconfig()).ok(["get", "nodes", "-o", "jsonpath={range .items[*]}{.status.nodeInfo.kubeletVersion}{\"\\n\"}{end}"]);
    // the old machines' Nodes went away with them; the new ones run the new kubelet
    expect(versions.trim().split("\n")).toEqual(["v1.33.1", "v1.33.1", "v1.33.1"]);
    expect(etcd(d).timeline.filter((t) => t.event === "bootstrap")).toHaveLength(1);
  }, 180_000);

  it("deleting a control-plane Machine removes its etcd member", async () => {
    const victim = (await cpMachines())[0]!.metadata.name!;
    expect(etcd(d).members.map((m) => m.hostname)).toContain(victim);
    const start = etcd(d).timeline.length;
    await k.ok(["delete", "machine", victim, "--wait=false"]);
    await k.ok(["wait", "--for=delete", `machine/${victim}`, "--timeout=60s"]);
    expect(etcd(d).members.map((m) => m.hostname)).not.toContain(victim);
    const tl = etcd(d).timeline.slice(start);
    expect(tl.find((t) => t.hostname === victim && (t.event === "remove" || t.event === "leave"))).toBeDefined();
    await settle(3, "3 replicas after the deletion");
    expect(Math.min(...etcd(d).timeline.slice(start).map((t) => t.members))).toBeGreaterThanOrEqual(quorum(3));
  }, 180_000);
});
