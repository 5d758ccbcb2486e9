/**
 * The HA example end to end in lab mode, the way a user runs it (issue 6): real kubectl applies
 * `examples/talos-ha.yaml` unmodified to a daemon started with `--lab`; the Cluster becomes
 * Available (and Ready as v1beta1); `<name>-kubeconfig` lists every node Ready in the lab workload
 * cluster; the workers scale 3 → 5 → 2; the Kubernetes version of control plane and workers goes
 * v1.32.4 → v1.33.1 with etcd quorum kept; deleting the Cluster destroys every lab VM, releases
 * every IP and removes every Secret: the namespace holds nothing but Events afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KObject } from "../../src/lib/kobject.ts";
import { REPO, startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("lab HA example");
const EXAMPLE = join(REPO, "examples", "talos-ha.yaml");
const NAME = "ha";

interface Timeline {
  members: { hostname: string }[];
  timeline: { event: string; hostname: string; members: number }[];
}

describe.skipIf(!binary)("examples/talos-ha.yaml in lab mode", () => {
  let d: TestDaemon;
  let k: Kubectl;
  let w: Kubectl;
  const kcDir = tempDir("capx-ha-kc-");

  beforeAll(async () => {
    d = await startTestDaemon({ extraArgs: ["--lab", "--lab-latencies", "instant", "--lab-pve-listen", "127.0.0.1:0"], config: "storage:\n  synchronous: NORMAL\n" });
    k = new Kubectl(binary!, d.kubeconfig);
  });
  afterAll(async () => {
    await d?.stop();
    d?.cleanup();
    rmSync(kcDir, { recursive: true, force: true });
  });

  const items = async (kind: string, ...args: string[]) => (JSON.parse(await k.ok(["get", kind, "-o", "json", ...args])) as { items: KObject[] }).items;
  const nodes = async () => (JSON.parse(await w.ok(["get", "nodes", "-o", "json"])) as { items: KObject[] }).items;
  const readyNodes = async () => (await nodes()).filter((n) => (n.status as { conditions?: { type: string; status: string }[] }).conditions?.some((c) => c.type === "Ready" && c.status === "True"));
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 90_000) => {
    const end = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > end) {
        console.log(await k.ok(["get", "clusters,taloscontrolplanes,machinedeployments,machines", "-o", "wide"]).catch(String));
        throw new Error(`timed out waiting for ${what}`);
      }
      await Bun.sleep(250);
    }
  };
  /** The reasons `kubectl events --for KIND/NAME` shows, as a user would look them up. */
  const reasonsFor = async (ref: string) => new Set((JSON.parse(await k.ok(["events", "--for", ref, "-o", "json"])) as { items: { reason: string }[] }).items.map((e) => e.reason));
  const etcd = (): Timeline => {
    const root = join(d.dataDir, "lab", "talos");
    const [dir] = readdirSync(root);
    return JSON.parse(readFileSync(join(root, dir!, "etcd.json"), "utf8")) as Timeline;
  };
  /** The lab PVE's VMs, through its HTTPS API with the token it wrote (as any PVE client would). */
  const labVms = async () => {
    const url = /"url":"(https:\/\/127\.0\.0\.1:\d+)"/.exec(d.logs())![1]!;
    const token = readFileSync(join(d.dataDir, "lab", "pve-token"), "utf8").trim();
    const res = await fetch(`${url}/api2/json/cluster/resources?type=vm`, { headers: { Authorization: `PVEAPIToken=${token}` }, tls: { ca: readFileSync(join(d.dataDir, "lab", "pve-root-ca.pem"), "utf8") } } as RequestInit);
    return ((await res.json()) as { data: { vmid: number; template: number }[] }).data;
  };

  it("comes up Available from the example as is; every node Ready in the workload cluster", async () => {
    await k.ok(["apply", "-f", EXAMPLE]);
    const available = await k.run(["wait", "--for=condition=Available", `cluster/${NAME}`, "--timeout=90s"], { timeoutMs: 100_000 });
    expect(available.code).toBe(0);
    const ready = await k.run(["wait", "--for=condition=Ready", `clusters.v1beta1.cluster.x-k8s.io/${NAME}`, "--timeout=90s"], { timeoutMs: 100_000 });
    expect(ready.code).toBe(0);

    const kc = Buffer.from(await k.ok(["get", "secret", `${NAME}-kubeconfig`, "-o", "jsonpath={.data.value}"]), "base64").toString();
    const file = join(kcDir, "ha.kubeconfig");
    writeFileSync(file, kc);
    w = new Kubectl(binary!, file);
    await until("6 Ready nodes", async () => (await readyNodes()).length === 6);
    const ns = await nodes();
    expect(ns.filter((n) => n.metadata.labels?.["node-role.kubernetes.io/control-plane"] !== undefined)).toHaveLength(3);
    for (const n of ns) expect((n.spec as { providerID?: string }).providerID).toMatch(/^proxmox:\/\/[0-9a-f-]{36}$/);
    expect(etcd().members).toHaveLength(3);
    expect(etcd().timeline.filter((t) => t.event === "bootstrap")).toHaveLength(1);
    // the events a user looks for
    expect(await reasonsFor(`cluster/${NAME}`)).toContain("KubeconfigGenerated");
    expect(await reasonsFor(`taloscontrolplane/${NAME}-control-plane`)).toContain("EtcdBootstrapped");
    const [ms] = await items("machinesets");
    expect(await reasonsFor(`machineset/${ms!.metadata.name}`)).toContain("SuccessfulCreate");
    const [md] = await items("machinedeployments");
    expect(await reasonsFor(`machinedeployment/${md!.metadata.name}`)).toContain("SuccessfulCreate");
    const pm = (await items("proxmoxmachines"))[0]!.metadata.name!;
    const pmReasons = await reasonsFor(`proxmoxmachine/${pm}`);
    for (const r of ["VMCloned", "VMStarted"]) expect(pmReasons).toContain(r);
    expect(await reasonsFor(`talosconfig/${(await items("talosconfigs"))[0]!.metadata.name}`)).toContain("BootstrapDataGenerated");
    expect(await reasonsFor(`ipaddressclaim/${(await items("ipaddressclaims"))[0]!.metadata.name}`)).toContain("IPAddressAllocated");
    // the MachineHealthCheck watches the workers
    await until("the MachineHealthCheck counting 3 healthy workers", async () => {
      const [mhc] = await items("machinehealthchecks");
      return (mhc?.status as { currentHealthy?: number } | undefined)?.currentHealthy === 3;
    });
  }, 240_000);

  it("scales the workers 3 → 5 → 2", async () => {
    await k.ok(["scale", "machinedeployment", `${NAME}-workers`, "--replicas=5"]);
    await until("8 Ready nodes", async () => (await readyNodes()).length === 8);
    const before = new Set((await items("machines")).map((m) => m.metadata.name!));
    await k.ok(["scale", "machinedeployment", `${NAME}-workers`, "--replicas=2"]);
    await until("5 nodes", async () => (await nodes()).length === 5 && (await items("machines")).length === 5);
    const left = new Set((await items("machines")).map((m) => m.metadata.name!));
    const deleted = [...before].filter((n) => !left.has(n));
    expect(deleted).toHaveLength(3);
    const [ms] = await items("machinesets");
    expect(await reasonsFor(`machineset/${ms!.metadata.name}`)).toContain("SuccessfulDelete");
    await until("the drain and VM deletion events of the machines scaled away", async () => {
      const m = await reasonsFor(`machine/${deleted[0]}`);
      const p = await reasonsFor(`proxmoxmachine/${deleted[0]}`);
      return m.has("NodeDrained") && p.has("VMDeleted");
    }, 20_000);
    const md = (await items("machinedeployments"))[0]!;
    expect(md.status).toMatchObject({ replicas: 2, readyReplicas: 2 });
  }, 180_000);

  it("upgrades control plane and workers v1.32.4 → v1.33.1, one control plane at a time", async () => {
    const start = etcd().timeline.length;
    await k.ok(["patch", "taloscontrolplane", `${NAME}-control-plane`, "--type=merge", "-p", '{"spec":{"version":"v1.33.1"}}']);
    await k.ok(["patch", "machinedeployment", `${NAME}-workers`, "--type=merge", "-p", '{"spec":{"template":{"spec":{"version":"v1.33.1"}}}}']);
    await until("every node on v1.33.1", async () => {
      const ns = await readyNodes();
      return ns.length === 5 && (await nodes()).length === 5 && ns.every((n) => (n.status as { nodeInfo?: { kubeletVersion?: string } }).nodeInfo?.kubeletVersion === "v1.33.1");
    }, 150_000);
    const tl = etcd().timeline.slice(start);
    expect(tl.filter((t) => t.event === "remove" || t.event === "leave").length).toBeGreaterThanOrEqual(3);
    expect(await reasonsFor(`taloscontrolplane/${NAME}-control-plane`)).toContain("EtcdMemberRemoved");
    expect(Math.min(...tl.map((t) => t.members))).toBeGreaterThanOrEqual(2); // quorum of 3
    expect(Math.max(...tl.map((t) => t.members))).toBeLessThanOrEqual(4); // maxSurge 1
    expect(etcd().members).toHaveLength(3);
  }, 240_000);

  it("deleting the Cluster leaves no VM, no IP, no Secret: nothing but Events", async () => {
    expect((await labVms()).filter((v) => !v.template)).toHaveLength(5);
    await k.ok(["delete", "cluster", NAME, "--timeout=120s"]);
    await until("every lab VM destroyed", async () => (await labVms()).every((v) => v.template === 1), 60_000);
    const kinds = (await k.ok(["api-resources", "--namespaced=true", "--verbs=list", "-o", "name"])).split("\n").filter((r) => r && !r.startsWith("events"));
    let left: string[] = [];
    await until("an empty namespace", async () => {
      const all = JSON.parse(await k.ok(["get", kinds.join(","), "-n", "default", "-o", "json"])) as { items: KObject[] };
      left = all.items.map((o) => `${o.kind}/${o.metadata.name}`);
      return left.length === 0;
    }, 30_000).catch((e) => {
      throw new Error(`${(e as Error).message}: ${left.join(", ")}`);
    });
    expect((await items("ipaddresses", "-A")).length).toBe(0);
    expect((await items("events")).length).toBeGreaterThan(0);
  }, 180_000);
});
