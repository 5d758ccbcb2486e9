/**
 * The Proxmox provider through the running daemon in lab mode, once per backend: in-process,
 * http (proxmox-api to the lab PVE's HTTPS API) and local (qm/pvesh shims). kubectl applies a
 * Cluster with its ProxmoxCluster and two Machines; the VMs are cloned, configured, booted and
 * addressed from the cluster's pool; the lab PVE's own API (token from DATA_DIR/lab/pve-token)
 * shows them; deleting the Cluster destroys them and releases their addresses.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { clusterObjects, machineObjects } from "../../src/controllers/proxmox/testenv.ts";
import type { KObject } from "../../src/lib/kobject.ts";
import { startTestDaemon, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("proxmox lab");

interface Pve {
  url: string;
  token: string;
  ca: string;
}

function pveOf(d: TestDaemon): Pve {
  const line = d.logs().split("\n").find((l) => l.includes('"msg":"lab PVE API listening"'));
  if (!line) throw new Error("the daemon did not log the lab PVE API address");
  const lab = join(d.dataDir, "lab");
  return { url: (JSON.parse(line) as { url: string }).url, token: readFileSync(join(lab, "pve-token"), "utf8").trim(), ca: readFileSync(join(lab, "pve-root-ca.pem"), "utf8") };
}

async function pveGet(pve: Pve, path: string, token: string | null = pve.token): Promise<{ status: number; data: unknown }> {
  const res = await fetch(`${pve.url}/api2/json${path}`, { headers: token ? { Authorization: `PVEAPIToken=${token}` } : {}, tls: { ca: pve.ca } } as RequestInit);
  const text = await res.text();
  return { status: res.status, data: text ? (JSON.parse(text) as { data: unknown }).data : undefined };
}

const manifest = (objs: KObject[]) => objs.map((o) => stringify(o)).join("---\n");

for (const backend of ["inprocess", "http", "local"] as const) {
  describe.skipIf(!binary)(`Proxmox provider in lab mode (${backend} backend)`, () => {
    let d: TestDaemon;
    let k: Kubectl;
    let pve: Pve;

    beforeAll(async () => {
      d = await startTestDaemon({
        extraArgs: ["--lab", "--lab-latencies", "instant", "--lab-proxmox-backend", backend, "--lab-pve-listen", "127.0.0.1:0"],
        config: "storage:\n  synchronous: NORMAL\n",
      });
      k = new Kubectl(binary!, d.kubeconfig);
      pve = pveOf(d);
    });
    afterAll(async () => {
      await d?.stop();
      d?.cleanup();
    });

    it("provisions VMs for Machines, shows them in the PVE API, and removes them with the Cluster", async () => {
      expect((await pveGet(pve, "/cluster/nextid", null)).status).toBe(401);

      const objs = [...clusterObjects(), ...machineObjects("m1"), ...machineObjects("m2", { sourceNode: undefined, templateID: undefined, templateSelector: { matchTags: ["ubuntu", "cloud-init"] } })];
      expect(await k.ok(["apply", "-f", "-"], { input: manifest(objs) })).toContain("proxmoxmachine.infrastructure.cluster.x-k8s.io/m2 created");
      await k.ok(["wait", "--for=jsonpath={.status.phase}=Provisioned", "machine/m1", "machine/m2", "--timeout=90s"]);

      const pms = JSON.parse(await k.ok(["get", "proxmoxmachines", "-o", "json"])) as { items: KObject[] };
      const vms = (await pveGet(pve, "/cluster/resources?type=vm")).data as { vmid: number; name?: string; node: string; tags?: string }[];
      const ips = new Set<string>();
      for (const pm of pms.items) {
        const spec = pm.spec as { virtualMachineID: number; providerID: string };
        const status = pm.status as { addresses?: { type: string; address: string }[]; proxmoxNode: string };
        const vm = vms.find((v) => v.vmid === spec.virtualMachineID)!;
        expect(vm.name).toBe(pm.metadata.name);
        expect(vm.node).toBe(status.proxmoxNode);
        const config = (await pveGet(pve, `/nodes/${vm.node}/qemu/${vm.vmid}/config`)).data as { smbios1: string; memory: string; cores: number | string };
        expect(spec.providerID).toBe(`proxmox://${/uuid=([0-9a-f-]+)/.exec(config.smbios1)![1]}`);
        expect(String(config.memory)).toBe("2048");
        expect(String(config.cores)).toBe("2");
        const ip = status.addresses?.find((a) => a.type === "InternalIP")?.address;
        expect(ip).toMatch(/^10\.10\.0\.(1[0-4]\d|150)$/);
        ips.add(ip!);
        // The guest booted with the address from the cluster's pool.
        const ifaces = (await pveGet(pve, `/nodes/${vm.node}/qemu/${vm.vmid}/agent/network-get-interfaces`)).data as { result: { "ip-addresses"?: { "ip-address": string }[] }[] };
        expect(ifaces.result.flatMap((i) => i["ip-addresses"] ?? []).map((a) => a["ip-address"])).toContain(ip!);
      }
      expect(ips.size).toBe(2);
      expect(await k.ok(["get", "ipaddresses", "-o", "name"])).toMatch(/ipaddress.*\n.*ipaddress/);
      const table = await k.ok(["get", "proxmoxmachines"]);
      expect(table.split("\n")[0]).toMatch(/^NAME\s+CLUSTER\s+READY\s+NODE\s+PROVIDER_ID\s+MACHINE/);
      if (backend === "local") expect(readFileSync(join(d.dataDir, "lab", "pve-access.log"), "utf8")).toContain('"argv":["qm","clone"');

      await k.ok(["delete", "cluster", "c1", "--wait=false"]);
      await k.ok(["wait", "--for=delete", "cluster/c1", "--timeout=90s"]);
      const left = (await pveGet(pve, "/cluster/resources?type=vm")).data as { vmid: number; template?: number }[];
      expect(left.filter((v) => !v.template).map((v) => v.vmid)).toEqual([]);
      // The whole Cluster went: its addresses are released at once, without the pool's reuse grace.
      let claims = "?";
      for (let i = 0; i < 100 && claims !== ""; i++) {
        claims = (await k.ok(["get", "ipaddressclaims,ipaddresses", "-o", "name"])).trim();
        if (claims) await Bun.sleep(100);
      }
      expect(claims).toBe("");
    }, 180_000);
  });
}

describe.skipIf(!binary)("Proxmox provider: a crash between the clone and its record", () => {
  it("after SIGKILL right after PVE accepted the clone, the restarted daemon adopts the VM instead of cloning again", async () => {
    const args = ["--lab", "--lab-latencies", "instant", "--lab-pve-listen", "127.0.0.1:0"];
    const first = await startTestDaemon({ extraArgs: args, config: "storage:\n  synchronous: NORMAL\n", env: { CAPX_FAULTS: "crash-after-clone:1" } });
    try {
      await new Kubectl(binary!, first.kubeconfig).ok(["apply", "-f", "-"], { input: manifest([...clusterObjects(), ...machineObjects("m1")]) });
      const code = await Promise.race([first.exited(), Bun.sleep(60_000).then(() => "timeout" as const)]);
      expect(code).toBeNull(); // killed by a signal, not exited
      expect(first.process.signalCode).toBe("SIGKILL");

      const second = await startTestDaemon({ dataDir: first.dataDir, extraArgs: args, config: "storage:\n  synchronous: NORMAL\n" });
      try {
        const k = new Kubectl(binary!, second.kubeconfig);
        await k.ok(["wait", "--for=jsonpath={.status.phase}=Provisioned", "machine/m1", "--timeout=90s"]);
        const pve = pveOf(second);
        const vms = ((await pveGet(pve, "/cluster/resources?type=vm")).data as { vmid: number; name?: string; template?: number }[]).filter((v) => !v.template);
        expect(vms.map((v) => v.name)).toEqual(["m1"]);
        const vmid = JSON.parse(await k.ok(["get", "proxmoxmachine", "m1", "-o", "jsonpath={.spec.virtualMachineID}"])) as number;
        expect(vms[0]!.vmid).toBe(vmid);
        // One clone request in the lab's access log, across both lives of the daemon.
        const clones = readFileSync(join(second.dataDir, "lab", "pve-access.log"), "utf8").split("\n").filter((l) => /"path":"\/nodes\/[^/]+\/qemu\/\d+\/clone"/.test(l));
        expect(clones).toHaveLength(1);
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
      first.cleanup();
    }
  }, 180_000);
});

describe.skipIf(!binary)("Proxmox provider: faults injected through the configuration", () => {
  it("with task failures, lock timeouts and 500s from the lab PVE, three Machines converge on one VM each", async () => {
    const config = "storage:\n  synchronous: NORMAL\nlab:\n  faults: {taskFailureRate: 0.08, lockTimeoutRate: 0.04, http500Rate: 0.04, seed: 11}\n";
    const d = await startTestDaemon({ extraArgs: ["--lab", "--lab-latencies", "instant", "--lab-pve-listen", "127.0.0.1:0"], config });
    try {
      const k = new Kubectl(binary!, d.kubeconfig);
      const names = ["f1", "f2", "f3"];
      await k.ok(["apply", "-f", "-"], { input: manifest([...clusterObjects(), ...names.flatMap((n) => machineObjects(n))]) });
      const waited = await k.run(["wait", "--for=jsonpath={.status.phase}=Provisioned", ...names.map((n) => `machine/${n}`), "--timeout=240s"], { timeoutMs: 250_000 });
      if (waited.code !== 0) console.log(await k.ok(["get", "proxmoxmachines", "-o", "custom-columns=N:.metadata.name,R:.status.conditions[?(@.type==\"VirtualMachineProvisioned\")].reason,M:.status.conditions[?(@.type==\"VirtualMachineProvisioned\")].message,T:.status.retryAfter"]));
      expect(waited.code).toBe(0);
      const pve = pveOf(d);
      // The injected 500s hit this client too: ask again, as a PVE client would.
      let res = await pveGet(pve, "/cluster/resources?type=vm");
      for (let i = 0; res.status === 500 && i < 20; i++) res = await pveGet(pve, "/cluster/resources?type=vm");
      const vms = (res.data as { name?: string; template?: number }[]).filter((v) => !v.template);
      expect(vms.map((v) => v.name).sort()).toEqual(names);
      const addresses = (await k.ok(["get", "ipaddresses", "-o", "jsonpath={.items[*].spec.address}"])).split(" ");
      expect(new Set(addresses).size).toBe(3);
      const log = readFileSync(join(d.dataDir, "lab", "pve-access.log"), "utf8");
      expect(log).toMatch(/"status":500/); // the faults did happen
    } finally {
      await d.stop();
      d.cleanup();
    }
  }, 320_000);
});
