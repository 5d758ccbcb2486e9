/**
 * The contract every {@link ProxmoxBackend} keeps, as one bun:test suite run against the lab PVE
 * for each backend (in-process, http through proxmox-api over HTTPS, local through the qm/pvesh
 * shims): a VM's whole life — clone → task → config → resize → bootstrap data → start → guest
 * agent → stop → destroy — on the node that owns the template and on another node, the error
 * cases with PVE's verbatim texts (missing template, locked VM, cross-node clone from node-local
 * storage, VMID taken here and on another node), nextid and the cluster resources.
 *
 * A backend may differ only where the interface lets it: where it puts bootstrap data (snippets
 * or an ISO, {@link BootstrapAttachment.kind}) and how long things take.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpBackend, splitToken, type RecordedRequest } from "./http.ts";
import { createLabPve, INSTANT_LATENCIES, type LabHttps, type LabPve } from "./lab/index.ts";
import { installLabCli } from "./lab-shims/install.ts";
import { LocalBackend } from "./local.ts";
import { PveError, isMissingVm, parseUpid, type BootstrapAttachment, type ProxmoxBackend, type TaskRef, type TaskStatus } from "./types.ts";

/** What the suite needs from the lab besides the backend. */
export interface ContractLab {
  /** Make disk copies slow (ms per disk) so a clone can be caught in the middle; 0 restores. */
  setDiskCopyMs(ms: number): void;
}

export interface ContractEnv {
  backend: ProxmoxBackend;
  lab: ContractLab;
  /** Where bootstrap data of this backend lands (`snippets` or `iso`). */
  bootstrapKind: BootstrapAttachment["kind"];
  stop(): Promise<void>;
}

const TEMPLATE_NODE = "pve1";
const UBUNTU = 9001;
const TALOS = 9000;

export async function waitTask(b: ProxmoxBackend, ref: TaskRef, timeoutMs = 60_000): Promise<TaskStatus> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(250, delay * 2)) {
    const st = await b.task(ref);
    if (!st.running) return st;
    if (Date.now() > deadline) throw new Error(`task ${ref.upid} still running after ${timeoutMs} ms`);
    await Bun.sleep(delay);
  }
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let delay = 20; ; delay = Math.min(500, delay * 2)) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ""}`);
    await Bun.sleep(delay);
  }
}

/** Settles a promise that is expected to fail; fails the test if it does not. */
async function failure(p: Promise<unknown>): Promise<PveError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PveError);
    return err as PveError;
  }
  throw new Error("expected a PveError, the call succeeded");
}

/** A fresh VMID: nextid is not atomic, so the suite (one caller) takes it and uses it at once. */
async function freshId(b: ProxmoxBackend): Promise<number> {
  return b.nextId();
}

function macOf(net: string | undefined): string {
  const m = /(?:^|,)(?:virtio|e1000|rtl8139|vmxnet3)=([0-9A-Fa-f:]{17})/.exec(net ?? "");
  if (!m) throw new Error(`no MAC in net0 '${net}'`);
  return m[1]!;
}

export function describeBackendContract(name: string, start: () => Promise<ContractEnv>): void {
  describe(`ProxmoxBackend contract: ${name}`, () => {
    let env: ContractEnv;
    const b = () => env.backend;

    beforeAll(async () => {
      env = await start();
    });
    afterAll(async () => {
      await env?.stop();
    });

    it("names itself and where it talks to", () => {
      expect(["local", "http", "inprocess"]).toContain(b().name);
      expect(b().endpoint.length).toBeGreaterThan(0);
    });

    it("nextid: a free id of at least 100; vmidFree tells used from free ids", async () => {
      const id = await b().nextId();
      expect(Number.isInteger(id)).toBe(true);
      expect(id).toBeGreaterThanOrEqual(100);
      expect(await b().vmidFree(id)).toBe(true);
      expect(await b().vmidFree(TALOS)).toBe(false);
      expect(await b().vmidFree(UBUNTU)).toBe(false);
    });

    it("nodes: the lab's three nodes, online, 64 GiB and 16 CPUs each", async () => {
      const nodes = (await b().nodes()).sort((x, y) => x.node.localeCompare(y.node));
      expect(nodes.map((n) => n.node)).toEqual(["pve1", "pve2", "pve3"]);
      for (const n of nodes) {
        expect(n.online).toBe(true);
        expect(n.maxmem).toBe(64 * 1024 ** 3);
        expect(n.maxcpu).toBe(16);
        expect(n.mem).toBeGreaterThanOrEqual(0);
      }
    });

    it("resources: the templates with their tags, on the node that owns them", async () => {
      const vms = await b().vms();
      const talos = vms.find((v) => v.vmid === TALOS)!;
      const ubuntu = vms.find((v) => v.vmid === UBUNTU)!;
      expect(talos).toMatchObject({ node: TEMPLATE_NODE, template: true, type: "qemu", tags: ["talos"] });
      expect(ubuntu).toMatchObject({ node: TEMPLATE_NODE, template: true, type: "qemu", tags: ["cloud-init", "ubuntu"] });
      expect(talos.maxmem).toBe(2048 * 1024 ** 2);
    });

    it("storages: content types and the shared flag, per node", async () => {
      for (const node of ["pve1", "pve2"]) {
        const list = await b().storages(node);
        const by = new Map(list.map((s) => [s.storage, s]));
        expect(by.get("local")).toMatchObject({ node, type: "dir", shared: false, enabled: true, active: true });
        expect(by.get("local")!.content.sort()).toEqual(["iso", "snippets", "vztmpl"]);
        expect(by.get("local-lvm")).toMatchObject({ type: "lvmthin", shared: false, content: ["images"] });
        expect(by.get("shared")).toMatchObject({ type: "nfs", shared: true });
        expect(by.get("shared")!.content.sort()).toEqual(["images", "iso", "snippets"]);
      }
    });

    for (const target of [undefined, "pve2"] as const) {
      describe(`a VM's life${target ? ` on another node (${target})` : " on the template's node"}`, () => {
        const node = target ?? TEMPLATE_NODE;
        let vmid = 0;
        let attachment: BootstrapAttachment;
        let mac = "";
        const ip = target ? "10.10.0.78" : "10.10.0.77";

        it("clone: a qmclone task whose id is the source; then the new VM's config", async () => {
          vmid = await freshId(b());
          const ref = await b().clone({ node: TEMPLATE_NODE, vmid: UBUNTU, newid: vmid, name: `contract-${vmid}`, full: true, ...(target ? { target } : {}), description: "capx contract test" });
          expect(parseUpid(ref.upid)).toBeDefined();
          expect(ref.node).toBe(TEMPLATE_NODE);
          const st = await waitTask(b(), ref);
          expect(st).toMatchObject({ type: "qmclone", id: String(UBUNTU), running: false, ok: true, exitstatus: "OK" });
          const cfg = (await b().vmConfig(node, vmid))!;
          expect(cfg.name).toBe(`contract-${vmid}`);
          expect(cfg.lock).toBeUndefined();
          expect(cfg.template).toBeUndefined();
          expect(cfg.description).toContain("capx contract test");
          expect(cfg.smbios1).toMatch(/uuid=[0-9a-f-]{36}/);
          mac = macOf(cfg.net0);
          expect(mac.startsWith("BC:24:11:")).toBe(true);
          if (target) expect(await b().vmConfig(TEMPLATE_NODE, vmid)).toBeUndefined();
          expect(await b().vmidFree(vmid)).toBe(false);
        });

        it("config: a synchronous set reads back (tags lower-cased and sorted), keys deleted", async () => {
          await b().setVmConfig(node, vmid, { cores: 4, memory: 4096, tags: "capx;Cluster-A", onboot: 1 });
          let cfg = (await b().vmConfig(node, vmid))!;
          expect(cfg).toMatchObject({ cores: "4", memory: "4096", tags: "capx;cluster-a", onboot: "1" });
          await b().setVmConfig(node, vmid, {}, ["onboot"]);
          cfg = (await b().vmConfig(node, vmid))!;
          expect(cfg.onboot).toBeUndefined();
          const st = (await b().vmStatus(node, vmid))!;
          expect(st).toMatchObject({ status: "stopped", template: false, name: `contract-${vmid}` });
        });

        it("resize: grows the boot disk in a task; shrinking fails inside the task", async () => {
          const before = (await b().vmConfig(node, vmid))!.scsi0!;
          expect(before).toContain("size=4G");
          const grow = await waitTask(b(), await b().resizeDisk(node, vmid, "scsi0", "+6G"));
          expect(grow).toMatchObject({ type: "resize", id: String(vmid), ok: true });
          expect((await b().vmConfig(node, vmid))!.scsi0).toContain("size=10G");
          const shrink = await waitTask(b(), await b().resizeDisk(node, vmid, "scsi0", "2G"));
          expect(shrink.ok).toBe(false);
          expect(shrink.exitstatus).toBe("shrinking disks is not supported");
        });

        it("bootstrap data: put, attach, and the VM boots with it", async () => {
          const networkConfig = `network:\n  version: 2\n  ethernets:\n    eth0:\n      match:\n        macaddress: '${mac.toLowerCase()}'\n      set-name: eth0\n      addresses:\n        - ${ip}/24\n      routes:\n        - to: default\n          via: 10.10.0.1\n`;
          // On the second VM the template's cloud-init drive is gone: snippets are only read
          // through one, so the backend must bring its own.
          if (target && env.bootstrapKind === "snippets") await b().setVmConfig(node, vmid, {}, ["ide2"]);
          attachment = await b().putBootstrapData({ node, vmid }, { userData: `#cloud-config\nhostname: contract-${vmid}\n`, metaData: `instance-id: contract-${vmid}\nlocal-hostname: contract-${vmid}\n`, networkConfig });
          expect(attachment.kind).toBe(env.bootstrapKind);
          expect(attachment.volumes.length).toBeGreaterThan(0);
          if (attachment.kind === "snippets") {
            expect(attachment.config.cicustom).toMatch(/^user=[^,]+:snippets\/[^,]+,network=[^,]+:snippets\/[^,]+,meta=[^,]+:snippets\/[^,]+$/);
            if (target) expect(attachment.storage).toBe("shared"); // a node-local storage is not reachable from here
            if (target) expect(attachment.config.ide2).toBe("shared:cloudinit");
            else expect(attachment.config.ide2).toBeUndefined();
          } else {
            expect(attachment.config.ide0).toBe(`${attachment.storage}:iso/user-data-${vmid}.iso,media=cdrom`);
          }
          await b().setVmConfig(node, vmid, attachment.config);
          const { ide2, ...rest } = attachment.config;
          const config = (await b().vmConfig(node, vmid))!;
          expect(config).toMatchObject(rest);
          if (ide2) expect(config.ide2).toMatch(/^shared:(\d+\/)?vm-\d+-cloudinit/);
        });

        it("start: a qmstart task; the VM runs and the resources show it", async () => {
          const st = await waitTask(b(), await b().startVm(node, vmid));
          expect(st).toMatchObject({ type: "qmstart", id: String(vmid), ok: true });
          expect((await b().vmStatus(node, vmid))!.status).toBe("running");
          const entry = await eventually("running in /cluster/resources", async () => (await b().vms()).find((v) => v.vmid === vmid && v.status === "running"));
          expect(entry).toMatchObject({ node, template: false, tags: ["capx", "cluster-a"] });
        });

        it("guest agent: the VM's MAC with the address from the bootstrap network-config; exec runs", async () => {
          const ifaces = await eventually("agent interfaces", async () => {
            const list = await b().agentNetworkInterfaces(node, vmid);
            return list.some((i) => i.addresses.some((a) => a.ip === ip)) ? list : undefined;
          });
          const eth0 = ifaces.find((i) => i.mac === mac.toLowerCase())!;
          expect(eth0).toBeDefined();
          expect(eth0.addresses).toContainEqual({ ip, family: "ipv4", prefix: 24 });
          expect(ifaces.some((i) => i.name === "lo")).toBe(true);
          const res = await eventually("cloud-init done", async () => {
            const r = await b().agentExec(node, vmid, ["cloud-init", "status"]);
            return /status: done/.test(r.stdout) ? r : undefined;
          });
          expect(res.exitcode).toBe(0);
        });

        it("stop: a qmstop task; the VM is stopped; the agent then refuses", async () => {
          const st = await waitTask(b(), await b().stopVm(node, vmid));
          expect(st).toMatchObject({ type: "qmstop", id: String(vmid), ok: true });
          expect((await b().vmStatus(node, vmid))!.status).toBe("stopped");
          const err = await failure(b().agentNetworkInterfaces(node, vmid));
          expect(err.message).toBe(`VM ${vmid} is not running`);
        });

        it("destroy with purge: a qmdestroy task; the VM is gone; its bootstrap data removed", async () => {
          const st = await waitTask(b(), await b().destroyVm(node, vmid, { purge: true }));
          expect(st).toMatchObject({ type: "qmdestroy", id: String(vmid), ok: true });
          expect(await b().vmConfig(node, vmid)).toBeUndefined();
          expect(await b().vmStatus(node, vmid)).toBeUndefined();
          expect(await b().vmidFree(vmid)).toBe(true);
          await b().removeBootstrapData(node, attachment);
          await b().removeBootstrapData(node, attachment); // idempotent
        });
      });
    }

    describe("errors", () => {
      it("a missing template: the clone is refused synchronously with PVE's text", async () => {
        const newid = await freshId(b());
        const err = await failure(b().clone({ node: TEMPLATE_NODE, vmid: 8999, newid, name: "nope", full: true }));
        expect(err.status).toBe(500);
        expect(err.message).toBe(`unable to find configuration file for VM 8999 on node '${TEMPLATE_NODE}'`);
      });

      it("a VMID taken on the same node: `config file already exists`, synchronously", async () => {
        const err = await failure(b().clone({ node: TEMPLATE_NODE, vmid: TALOS, newid: UBUNTU, name: "taken", full: true }));
        expect(err).toMatchObject({ status: 500, message: `unable to create VM ${UBUNTU}: config file already exists` });
      });

      it("a VMID taken on another node: the clone task fails with `File exists`", async () => {
        const other = await freshId(b());
        expect((await waitTask(b(), await b().clone({ node: TEMPLATE_NODE, vmid: TALOS, newid: other, name: `other-${other}`, full: true, target: "pve2" })))).toMatchObject({ ok: true });
        const st = await waitTask(b(), await b().clone({ node: TEMPLATE_NODE, vmid: TALOS, newid: other, name: "dup", full: true }));
        expect(st).toMatchObject({ ok: false, type: "qmclone", id: String(TALOS) });
        expect(st.exitstatus).toBe(`close (rename) atomic file '/etc/pve/nodes/${TEMPLATE_NODE}/qemu-server/${other}.conf' failed: File exists`);
        expect((await b().vmConfig("pve2", other))!.name).toBe(`other-${other}`);
        expect(await waitTask(b(), await b().destroyVm("pve2", other, { purge: true }))).toMatchObject({ ok: true });
      });

      it("cross-node clones from node-local storage are refused with PVE's texts", async () => {
        const local = await freshId(b());
        expect(await waitTask(b(), await b().clone({ node: TEMPLATE_NODE, vmid: TALOS, newid: local, name: `local-${local}`, full: true, storage: "local-lvm" }))).toMatchObject({ ok: true });
        expect((await b().vmConfig(TEMPLATE_NODE, local))!.scsi0).toStartWith(`local-lvm:vm-${local}-disk-`);
        const newid = local + 1;
        const a = await failure(b().clone({ node: TEMPLATE_NODE, vmid: local, newid, name: "x", full: true, target: "pve2" }));
        expect(a).toMatchObject({ status: 500, message: "can't clone VM to node 'pve2' (VM uses local storage)" });
        const c = await failure(b().clone({ node: TEMPLATE_NODE, vmid: TALOS, newid, name: "x", full: true, target: "pve2", storage: "local-lvm" }));
        expect(c).toMatchObject({ status: 500, message: "can't clone to non-shared storage 'local-lvm'" });
        expect(await waitTask(b(), await b().destroyVm(TEMPLATE_NODE, local, { purge: true }))).toMatchObject({ ok: true });
      });

      it("a locked VM: while a clone copies, its target is `lock: clone` and refuses changes", async () => {
        const newid = await freshId(b());
        env.lab.setDiskCopyMs(3000);
        try {
          // a CLI backend returns only when the clone is done: do not wait for it here
          const cloning = b().clone({ node: TEMPLATE_NODE, vmid: TALOS, newid, name: `locked-${newid}`, full: true });
          cloning.catch(() => undefined);
          const cfg = await eventually("the clone's target config", async () => {
            const c = await b().vmConfig(TEMPLATE_NODE, newid);
            return c?.lock === "clone" ? c : undefined;
          });
          expect(cfg.lock).toBe("clone");
          expect((await b().vmStatus(TEMPLATE_NODE, newid))!.lock).toBe("clone");
          const err = await failure(b().setVmConfig(TEMPLATE_NODE, newid, { cores: 8 }));
          expect(err).toMatchObject({ status: 500, message: "VM is locked (clone)" });
          expect(await waitTask(b(), await cloning)).toMatchObject({ ok: true });
        } finally {
          env.lab.setDiskCopyMs(0);
        }
        expect((await b().vmConfig(TEMPLATE_NODE, newid))!.lock).toBeUndefined();
        expect(await waitTask(b(), await b().destroyVm(TEMPLATE_NODE, newid, { purge: true }))).toMatchObject({ ok: true });
      });

      it("a missing VM: config and status are undefined; start fails with PVE's text", async () => {
        expect(await b().vmConfig(TEMPLATE_NODE, 8998)).toBeUndefined();
        expect(await b().vmStatus(TEMPLATE_NODE, 8998)).toBeUndefined();
        let outcome: PveError | TaskStatus;
        try {
          outcome = await waitTask(b(), await b().startVm(TEMPLATE_NODE, 8998));
        } catch (err) {
          outcome = err as PveError;
        }
        const text = outcome instanceof PveError ? outcome.message : outcome.exitstatus;
        expect(text).toBe(`Configuration file 'nodes/${TEMPLATE_NODE}/qemu-server/8998.conf' does not exist`);
        if (outcome instanceof PveError) expect(isMissingVm(outcome)).toBe(true);
        else expect(outcome.ok).toBe(false);
      });

      it("an unknown task: a 400 from the task endpoint", async () => {
        const err = await failure(b().task({ upid: `UPID:${TEMPLATE_NODE}:00001234:00ABCDEF:6650A1B2:qmstart:8997:root@pam:`, node: TEMPLATE_NODE }));
        expect(err.status).toBe(400);
        expect(err.errors?.upid).toBe("no such task");
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The lab PVE and each backend over it
// ---------------------------------------------------------------------------------------------

export interface ContractLabPve {
  lab: LabPve;
  https: LabHttps;
  dataDir: string;
  /** Stops the lab and removes its data directory. */
  stop(): Promise<void>;
}

/** A fresh lab PVE (default inventory, instant latencies) serving its HTTPS API on 127.0.0.1. */
export async function startContractLab(): Promise<ContractLabPve> {
  const dataDir = mkdtempSync(join(tmpdir(), "capx-contract-"));
  const lab = createLabPve({ dataDir, latencies: INSTANT_LATENCIES });
  const https = await lab.serveHttps({ host: "127.0.0.1", port: 0 });
  return {
    lab,
    https,
    dataDir,
    async stop() {
      await lab.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function contractLab(l: ContractLabPve): ContractLab {
  return { setDiskCopyMs: (ms) => l.lab.setLatencies({ diskCopyMs: ms }) };
}


/** The http backend: proxmox-api over HTTPS, verifying the lab's certificate with its CA. */
export async function httpContractEnv(opts: { onRequest?: (r: RecordedRequest) => void } = {}): Promise<ContractEnv> {
  const l = await startContractLab();
  const backend = new HttpBackend({ url: l.https.url, ...splitToken(l.https.token), rootCa: l.https.caPem, pollMs: 20, ...(opts.onRequest ? { onRequest: opts.onRequest } : {}) });
  return { backend, lab: contractLab(l), bootstrapKind: "iso", stop: l.stop };
}

/**
 * The local backend on node pve1: qm and pvesh are the lab shims (wrappers in DATA_DIR/lab/bin),
 * storage.cfg names the lab's storage directories as seen from pve1.
 */
export async function localContractEnv(opts: { onCommand?: (argv: string[]) => void } = {}): Promise<ContractEnv & { node: string; shims: { qm: string; pvesh: string } }> {
  const l = await startContractLab();
  const cli = installLabCli(l.lab, l.https, { node: "pve1" });
  const backend = new LocalBackend({ qm: cli.qm, pvesh: cli.pvesh, nodeName: cli.node, storageCfg: cli.storageCfg, ...(opts.onCommand ? { onCommand: opts.onCommand } : {}) });
  return { backend, lab: contractLab(l), bootstrapKind: "snippets", stop: l.stop, node: cli.node, shims: { qm: cli.qm, pvesh: cli.pvesh } };
}
