import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLabPve, INSTANT_LATENCIES, writeTokenFile, type LabPve } from "./index.ts";
import { DEFAULT_INVENTORY, normalizeInventory } from "./inventory.ts";

let lab: LabPve | undefined;
let dir: string;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const call = (method: string, path: string, params = {}) => lab!.request(method, path, params, lab!.token);

describe("inventory", () => {
  test("the default: three nodes, local/local-lvm per node, shared nfs, two bridges, templates 9000 and 9001", async () => {
    dir = mkdtempSync(join(tmpdir(), "lab-inv-"));
    lab = createLabPve({ dataDir: dir, latencies: INSTANT_LATENCIES });
    const nodes = (await call("GET", "/nodes")).body!.data as { node: string; maxmem: number; maxcpu: number }[];
    expect(nodes.map((n) => [n.node, n.maxmem, n.maxcpu])).toEqual([
      ["pve1", 64 * 1024 ** 3, 16],
      ["pve2", 64 * 1024 ** 3, 16],
      ["pve3", 64 * 1024 ** 3, 16],
    ]);
    const storages = (await call("GET", "/nodes/pve3/storage")).body!.data as { storage: string; type: string; content: string; shared: number }[];
    expect(storages.map((s) => [s.storage, s.type, s.content, s.shared])).toEqual([
      ["local", "dir", "iso,snippets,vztmpl", 0],
      ["local-lvm", "lvmthin", "images", 0],
      ["shared", "nfs", "images,iso,snippets", 1],
    ]);
    const snippets = (await call("GET", "/nodes/pve1/storage", { content: "snippets" })).body!.data as { storage: string }[];
    expect(snippets.map((s) => s.storage)).toEqual(["local", "shared"]);
    const t9000 = (await call("GET", "/nodes/pve1/qemu/9000/config")).body!.data as Record<string, string | number>;
    expect(t9000).toMatchObject({ template: 1, tags: "talos", name: "talos-nocloud", scsi0: "shared:9000/base-9000-disk-0.qcow2,size=10G", ide2: "shared:9000/vm-9000-cloudinit.qcow2,media=cdrom" });
    const t9001 = (await call("GET", "/nodes/pve1/qemu/9001/config")).body!.data as Record<string, string | number>;
    expect(t9001).toMatchObject({ template: 1, tags: "cloud-init;ubuntu" });
    expect(DEFAULT_INVENTORY.bridges).toEqual([
      { name: "vmbr0", cidr: "10.10.0.0/24", gateway: "10.10.0.1", cidr6: "fd00:10::/64" },
      { name: "vmbr1", cidr: "10.20.0.0/24" },
    ]);
  });

  test("a YAML file of the same shape replaces it; bad files are refused with a clear message", async () => {
    dir = mkdtempSync(join(tmpdir(), "lab-inv-"));
    const yaml = join(dir, "inventory.yaml");
    writeFileSync(
      yaml,
      `nodes:
  - { name: alpha, memory: 32768, cpus: 8 }
storages:
  - { id: tank, type: zfspool, content: [images], size: 2T }
  - { id: local, type: dir, content: [iso, snippets], size: 50G }
bridges:
  - { name: vmbr0, cidr: 192.168.50.0/24, gateway: 192.168.50.1 }
dns: { nameservers: [192.168.50.1], search: [home.arpa] }
templates:
  - { vmid: 8000, node: alpha, name: talos, tags: [Talos], storage: tank, disk: 20G, guest: { os: talos, agent: true, cloudInit: false } }
`,
    );
    lab = createLabPve({ dataDir: dir, inventory: yaml, latencies: INSTANT_LATENCIES });
    const resources = (await call("GET", "/cluster/resources", { type: "vm" })).body!.data as { vmid: number; node: string; tags: string }[];
    expect(resources.map((r) => [r.vmid, r.node, r.tags])).toEqual([[8000, "alpha", "talos"]]);
    const conf = (await call("GET", "/nodes/alpha/qemu/8000/config")).body!.data as Record<string, string>;
    expect(conf.scsi0).toBe("tank:base-8000-disk-0,size=20G");
    expect(() => normalizeInventory({ nodes: [{ name: "n1" }], templates: [{ vmid: 50, node: "n1", storage: "x" }] })).toThrow("lab inventory: templates[0].vmid must be a VM ID");
    expect(() => normalizeInventory({ storages: [{ id: "rbd1", type: "ceph" }] })).toThrow("lab inventory: storages[0].type must be one of dir, lvmthin, lvm, nfs, zfspool");
  });
});

describe("entry points", () => {
  test("CLI mode runs workers to the end; the token file holds USER@REALM!TOKENID=SECRET", async () => {
    dir = mkdtempSync(join(tmpdir(), "lab-inv-"));
    lab = createLabPve({ dataDir: dir, latencies: { ...INSTANT_LATENCIES, diskCopyMs: 200 } });
    const res = await lab.request("POST", "/nodes/pve1/qemu/9000/clone", { newid: 120, full: 1 }, { user: "root@pam" }, { cli: true, argv: ["qm", "clone", "9000", "120", "--full", "1"] });
    expect(res.status).toBe(200);
    expect(res.tasks).toHaveLength(1);
    expect(res.tasks![0]).toMatchObject({ status: "stopped", exitstatus: "OK", user: "root@pam", upid: res.body!.data });
    expect(res.tasks![0]!.log[0]).toBe("creating a clone of VM 9000 with ID 120");
    const path = writeTokenFile(lab);
    expect(path).toBe(join(dir, "lab", "pve-token"));
    const token = readFileSync(path, "utf8").trim();
    expect(token).toBe(lab.token);
    expect(token).toMatch(/^root@pam!capx=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((await lab.request("GET", "/version", {}, `PVEAPIToken=${token}`)).status).toBe(200);
  });
});
