import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { localContractEnv, waitTask } from "./backend-contract.ts";
import { cliError, cliErrorText, decodePveText, defaultNodeName, LocalBackend, parseQmConfig, parseQmStatusVerbose, parseStorageCfg, snippetsDir, spawnExec } from "./local.ts";
import { isMissingVm, parseUpid, PveError } from "./types.ts";

describe("PVE CLI output", () => {
  it("a die on stderr is a 500 with the verbatim text, progress lines dropped", () => {
    const e = cliError("trying to acquire lock...\nConfiguration file 'nodes/pve1/qemu-server/123.conf' does not exist\n", 255, ["qm", "config", "123"]);
    expect(e.status).toBe(500);
    expect(e.message).toBe("Configuration file 'nodes/pve1/qemu-server/123.conf' does not exist");
    expect(isMissingVm(e)).toBe(true);
  });

  it("a parameter exception keeps its per-parameter lines and drops the usage line", () => {
    const e = cliError("400 Parameter verification failed.\nvmid: VM 9000 already exists\npvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]\n", 255, []);
    expect(e).toMatchObject({ status: 400, message: "Parameter verification failed.", errors: { vmid: "VM 9000 already exists" } });
    expect(cliError("400 not enough arguments\nqm clone <vmid> <newid> [OPTIONS]\n", 255, []).errors).toBeUndefined();
  });

  it("no stderr at all names the command and exit code", () => {
    expect(cliError("", 2, ["qm", "start", "101"]).message).toBe("'qm start 101' failed: exit code 2");
  });

  it("warnings and the task warning summary are not errors", () => {
    expect(cliErrorText("WARN: could not remove disk\nTask finished with 1 warning(s)!\n")).toBe("");
  });

  it("qm config: sorted key: value lines, description percent-decoded", () => {
    expect(parseQmConfig("boot: order=scsi0\ndescription: capx%3A owned%0Aline 2 %C3%A9\nname: m1\nscsi0: shared:vm-101-disk-0,size=10G\n")).toEqual({
      boot: "order=scsi0",
      description: "capx: owned\nline 2 é",
      name: "m1",
      scsi0: "shared:vm-101-disk-0,size=10G",
    });
    expect(decodePveText("100%")).toBe("100%");
  });

  it("qm status --verbose: top-level keys only", () => {
    expect(parseQmStatusVerbose("lock: clone\nname: m1\nqmpstatus: stopped\nstatus: stopped\nha:\n\tmanaged: 0\ntemplate: 1\n")).toEqual({ lock: "clone", name: "m1", qmpstatus: "stopped", status: "stopped", template: "1" });
  });
});

describe("storage.cfg", () => {
  const cfg = `dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup,snippets

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images

nfs: shared
\texport /export/pve
\tserver 10.10.0.2
\tcontent images,iso,snippets

dir: custom
\tpath /srv/store
\tcontent snippets
\tcontent-dirs snippets=cloud/init,iso=isos
`;

  it("parses sections and finds each storage's snippets directory", () => {
    const entries = parseStorageCfg(cfg);
    expect(entries.map((e) => `${e.type}:${e.id}`)).toEqual(["dir:local", "lvmthin:local-lvm", "nfs:shared", "dir:custom"]);
    const dir = (id: string) => snippetsDir(entries.find((e) => e.id === id)!);
    expect(dir("local")).toBe("/var/lib/vz/snippets");
    expect(dir("shared")).toBe("/mnt/pve/shared/snippets");
    expect(dir("custom")).toBe("/srv/store/cloud/init");
    expect(dir("local-lvm")).toBeUndefined();
  });
});

describe("node name", () => {
  it("comes from /etc/pve/.members when there is one, else the short host name", () => {
    const dir = mkdtempSync(join(tmpdir(), "capx-members-"));
    try {
      const members = join(dir, ".members");
      writeFileSync(members, JSON.stringify({ nodename: "pve7", version: 4, cluster: { name: "c" } }));
      expect(defaultNodeName(members)).toBe("pve7");
      expect(defaultNodeName(join(dir, "absent"))).toBe(hostname().split(".")[0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("local backend on the lab PVE (qm/pvesh shims)", () => {
  let env: Awaited<ReturnType<typeof localContractEnv>>;
  let backend: LocalBackend;
  const commands: string[][] = [];
  beforeAll(async () => {
    env = await localContractEnv({ onCommand: (a) => commands.push(a) });
    backend = env.backend as LocalBackend;
  });
  afterAll(async () => {
    await env?.stop();
  });
  const files = { userData: "#cloud-config\n", metaData: "instance-id: x\n", networkConfig: "version: 1\nconfig: []\n" };

  it("snippets on a storage without snippets content: an error naming the storage and the fix", async () => {
    const err = await backend.putBootstrapData({ node: "pve1", vmid: 4100, storage: "local-lvm" }, files).catch((e) => e);
    expect(err).toBeInstanceOf(PveError);
    expect(err.message).toBe("storage 'local-lvm' does not allow 'snippets' content (content: images); enable it with 'pvesm set local-lvm --content images,snippets'");
    expect(err.errors.storage).toBe(err.message);
  });

  it("a VM on another node cannot use a node-local snippets storage; a shared one is picked", async () => {
    const err = await backend.putBootstrapData({ node: "pve2", vmid: 4101, storage: "local" }, files).catch((e) => e);
    expect(err).toBeInstanceOf(PveError);
    expect(err.message).toContain("snippets storage 'local' is local to each node");
    const att = await backend.putBootstrapData({ node: "pve2", vmid: 4101 }, files);
    expect(att.storage).toBe("shared");
    expect(att.volumes.every((v) => backend.snippetExists(v))).toBe(true);
    await backend.removeBootstrapData("pve2", att);
    expect(att.volumes.some((v) => backend.snippetExists(v))).toBe(false);
  });

  it("qm's tasks: a synthetic finished task; after a restart the real task is found by its type, id and start time", async () => {
    const vmid = await backend.nextId();
    const ref = await backend.clone({ node: "pve1", vmid: 9000, newid: vmid, name: `t-${vmid}`, full: true });
    expect(parseUpid(ref.upid)!.pstart).toBe(0);
    expect(await backend.task(ref)).toMatchObject({ ok: true, type: "qmclone", id: "9000", exitstatus: "OK" });
    const restarted = new LocalBackend({ qm: env.shims.qm, pvesh: env.shims.pvesh, nodeName: "pve1" });
    expect(await restarted.task(ref)).toMatchObject({ ok: true, running: false, type: "qmclone", id: "9000", exitstatus: "OK", upid: ref.upid });
    const gone = { upid: ref.upid.replace(/:[0-9A-F]{8}:qmclone:/, ":00000001:qmclone:"), node: "pve1" };
    expect(await restarted.task(gone).catch((e) => e)).toMatchObject({ status: 400, errors: { upid: "no such task" } });
    await waitTask(backend, await backend.destroyVm("pve1", vmid, { purge: true }));
  });

  it("sshkeys go to qm as a file, arrive percent-encoded, and the file is gone afterwards", async () => {
    const vmid = await backend.nextId();
    await waitTask(backend, await backend.clone({ node: "pve1", vmid: 9001, newid: vmid, name: `k-${vmid}`, full: true }));
    const keys = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG capx@host";
    commands.length = 0;
    await backend.setVmConfig("pve1", vmid, { sshkeys: encodeURIComponent(keys), ciuser: "capx" });
    const argv = commands.find((a) => a[1] === "set")!;
    const file = argv[argv.indexOf("--sshkeys") + 1]!;
    expect(file).toStartWith("/");
    expect(existsSync(file)).toBe(false);
    expect(decodeURIComponent((await backend.vmConfig("pve1", vmid))!.sshkeys!)).toBe(keys);
    await waitTask(backend, await backend.destroyVm("pve1", vmid, { purge: true }));
  });
});

describe("running qm/pvesh", () => {
  it("runs them under umask 022 whatever the daemon's own (PVE's task index stays readable by www-data)", async () => {
    const previous = process.umask(0o077);
    try {
      const r = await spawnExec(["sh", "-c", "umask"]);
      expect(r.stdout.trim()).toBe("0022");
      expect(process.umask()).toBe(0o077);
    } finally {
      process.umask(previous);
    }
  });
});
