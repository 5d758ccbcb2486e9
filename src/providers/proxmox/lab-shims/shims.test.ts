/**
 * The qm and pvesh shims as executables (the generated wrappers, run with Bun.spawn) against a
 * lab PVE: argv parsing, output formats and exit codes as PVE's CLI has them (notes §0, §1).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startContractLab, type ContractLabPve } from "../backend-contract.ts";
import { ARGV_HEADER, parseArgs } from "./cli.ts";
import { installShims, type InstalledShims } from "./install.ts";

let l: ContractLabPve;
let shims: InstalledShims;
let pve2: InstalledShims;

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}
const qm = (...args: string[]) => run([shims.qm, ...args]);
const pvesh = (...args: string[]) => run([shims.pvesh, ...args]);

beforeAll(async () => {
  l = await startContractLab();
  const caFile = join(l.lab.dir, "pve-root-ca.pem");
  writeFileSync(caFile, l.https.caPem);
  shims = installShims({ binDir: join(l.lab.dir, "bin"), url: l.https.url, token: l.https.token, node: "pve1", caFile });
  const tokenFile = join(l.lab.dir, "pve-token");
  writeFileSync(tokenFile, `${l.https.token}\n`);
  pve2 = installShims({ binDir: join(l.lab.dir, "bin-pve2"), url: l.https.url, tokenFile, node: "pve2", insecure: true });
});
afterAll(async () => {
  await l?.stop();
});

describe("argv parsing", () => {
  it("takes --k v, --k=v, -k v, bare boolean flags, repeated keys and `--` extras", () => {
    expect(parseArgs(["101", "--name", "m1", "--full", "--pool=p", "-cores", "2", "--tag", "a", "--tag", "b", "--", "cloud-init", "status", "--long"])).toEqual({
      positional: ["101"],
      options: { name: ["m1"], full: ["1"], pool: ["p"], cores: ["2"], tag: ["a", "b"] },
      extra: ["cloud-init", "status", "--long"],
    });
  });
});

describe("qm", () => {
  it("list: a table of this node's VMs; nothing at all on a node without VMs", async () => {
    const one = await qm("list");
    expect(one.code).toBe(0);
    const lines = one.out.trimEnd().split("\n");
    expect(lines[0]).toBe("      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       ");
    expect(lines.slice(1).map((x) => x.trim().split(/\s+/).slice(0, 3))).toEqual([
      ["9000", "talos-nocloud", "stopped"],
      ["9001", "ubuntu-cloud", "stopped"],
    ]);
    const none = await run([pve2.qm, "list"]);
    expect(none).toEqual({ code: 0, out: "", err: "" });
  });

  it("clone: the worker's log on stdout, no UPID, exit 0; then config, status and set", async () => {
    const r = await qm("clone", "9000", "150", "--name", "shim-150", "--full", "1");
    expect(r.code).toBe(0);
    expect(r.out).toContain("creating a clone of VM 9000 with ID 150");
    expect(r.out).not.toContain("UPID:");
    expect(r.out).not.toContain("TASK OK");
    const set = await qm("set", "150", "--cores", "3", "--description", "capx: owned\nsecond line");
    expect(set.code).toBe(0);
    expect(set.out).toContain("update VM 150: -cores 3");
    const cfg = await qm("config", "150");
    expect(cfg.code).toBe(0);
    const lines = cfg.out.trimEnd().split("\n");
    expect(lines).toEqual([...lines].sort());
    expect(lines).toContain("cores: 3");
    expect(lines).toContain("description: capx%3A owned%0Asecond line");
    expect(cfg.out).not.toContain("digest:");
    expect(await qm("status", "150")).toEqual({ code: 0, out: "status: stopped\n", err: "" });
  });

  it("a synchronous die: the text on stderr, exit 255", async () => {
    const taken = await qm("clone", "9000", "9001", "--name", "x");
    expect(taken).toMatchObject({ code: 255, out: "" });
    expect(taken.err).toBe("unable to create VM 9001: config file already exists\n");
    const missing = await qm("config", "8888");
    expect(missing).toEqual({ code: 255, out: "", err: "Configuration file 'nodes/pve1/qemu-server/8888.conf' does not exist\n" });
  });

  it("a failed worker with the $upid_exit hook (start): the error on stderr, exit 255", async () => {
    const r = await qm("start", "8888");
    expect(r.code).toBe(255);
    expect(r.err).toBe("Configuration file 'nodes/pve1/qemu-server/8888.conf' does not exist\n");
  });

  it("a failed worker without the hook (disk resize): the error on stderr, still exit 0", async () => {
    const r = await qm("disk", "resize", "150", "scsi0", "1G");
    expect(r).toMatchObject({ code: 0, err: "shrinking disks is not supported\n" });
    const grow = await qm("resize", "150", "scsi0", "+1G"); // the old alias
    expect(grow).toMatchObject({ code: 0, err: "" });
  });

  it("start, guest agent, exec (refused by a Talos guest), stop, destroy", async () => {
    expect((await qm("start", "150")).code).toBe(0);
    expect(await qm("status", "150")).toMatchObject({ code: 0, out: "status: running\n" });
    const ifaces = await qm("guest", "cmd", "150", "network-get-interfaces");
    expect(ifaces.code).toBe(0);
    expect(ifaces.out).toStartWith("[\n   {\n"); // Perl's pretty JSON: 3-space indent
    expect((JSON.parse(ifaces.out) as { name: string }[]).map((i) => i.name)).toContain("lo");
    // the Talos image has no cloud-init: the agent says so, qm dies with it
    const exec = await qm("guest", "exec", "150", "--", "cloud-init", "status");
    expect(exec).toMatchObject({ code: 255, out: "" });
    expect(exec.err).toContain("Failed to execute child process");
    expect((await qm("stop", "150")).code).toBe(0);
    const agent = await qm("guest", "cmd", "150", "network-get-interfaces");
    expect(agent).toEqual({ code: 255, out: "", err: "VM 150 is not running\n" });
    expect((await qm("destroy", "150", "--purge", "1")).code).toBe(0);
    expect((await qm("status", "150")).code).toBe(255);
  });

  it("usage errors: unknown command, missing arguments", async () => {
    const unknown = await qm("frobnicate", "1");
    expect(unknown.code).toBe(255);
    expect(unknown.err).toStartWith("ERROR: unknown command 'qm frobnicate 1'\n");
    const few = await qm("clone", "9000");
    expect(few).toEqual({ code: 255, out: "", err: "400 not enough arguments\nqm clone <vmid> <newid> [OPTIONS]\n" });
  });

  it("a parameter the schema does not know: 400 with the parameter, then the usage line", async () => {
    const r = await qm("clone", "9000", "151", "--bogus", "1");
    expect(r.code).toBe(255);
    expect(r.err).toBe("400 Parameter verification failed.\nbogus: property is not defined in schema and the schema does not allow additional properties\nqm clone <vmid> <newid> [OPTIONS]\n");
  });
});

describe("pvesh", () => {
  it("get … --output-format json: one line of canonical JSON", async () => {
    const r = await pvesh("get", "/cluster/nextid", "--output-format", "json");
    expect(r.code).toBe(0);
    expect(Number(JSON.parse(r.out))).toBeGreaterThanOrEqual(100);
    const res = await pvesh("get", "/cluster/resources", "--type", "node", "--output-format", "json");
    expect(res.out.trimEnd().split("\n")).toHaveLength(1);
    expect((JSON.parse(res.out) as { node: string }[]).map((n) => n.node).sort()).toEqual(["pve1", "pve2", "pve3"]);
  });

  it("a parameter exception: 400, the per-parameter line and the usage, exit 255", async () => {
    const r = await pvesh("get", "/cluster/nextid", "--vmid", "9000", "--output-format", "json");
    expect(r).toEqual({ code: 255, out: "", err: "400 Parameter verification failed.\nvmid: VM 9000 already exists\npvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]\n" });
  });

  it("a path without a handler: exit 1", async () => {
    expect(await pvesh("get", "/nope")).toEqual({ code: 1, out: "", err: "No 'get' handler defined for '/nope'\n" });
  });

  it("a task on another node: its log, then the UPID; exit 0 even when the task failed", async () => {
    const ok = await pvesh("create", "/nodes/pve1/qemu/9000/clone", "--newid", "152", "--target", "pve2", "--name", "shim-152", "--full", "1", "--output-format", "json");
    expect(ok.code).toBe(0);
    const lines = ok.out.trimEnd().split("\n");
    expect(lines[0]).toBe("creating a clone of VM 9000 with ID 152");
    expect(JSON.parse(lines[lines.length - 1]!)).toMatch(/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmclone:9000:root@pam!capx:$/);
    const bad = await pvesh("set", "/nodes/pve2/qemu/152/resize", "--disk", "scsi0", "--size", "1G", "--output-format", "json");
    expect(bad.code).toBe(0);
    expect(bad.err).toBe("shrinking disks is not supported\n");
    expect(JSON.parse(bad.out.trimEnd().split("\n").pop()!)).toMatch(/:resize:152:/);
    const del = await pvesh("delete", "/nodes/pve2/qemu/152", "--purge", "1", "--output-format", "json");
    expect(del.code).toBe(0);
  });

  it("set with a null result prints nothing", async () => {
    expect((await qm("clone", "9000", "153", "--name", "shim-153")).code).toBe(0);
    expect(await pvesh("set", "/nodes/pve1/qemu/153/config", "--cores", "2", "--output-format", "json")).toEqual({ code: 0, out: "", err: "" });
    expect((await qm("destroy", "153")).code).toBe(0);
  });
});

describe("the argv header", () => {
  it("the lab's access log records a shim call with its command line", async () => {
    expect((await qm("status", "9000")).code).toBe(0);
    l.lab.flush();
    const lines = readFileSync(join(l.lab.dir, "pve-access.log"), "utf8").trim().split("\n").map((x) => JSON.parse(x) as { argv?: string[]; path?: string });
    expect(lines.some((x) => JSON.stringify(x.argv) === JSON.stringify(["qm", "status", "9000"]))).toBe(true);
  });

  it("every request of a shim carries its command line (for the lab's access log)", async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers[ARGV_HEADER.toLowerCase()] as string | undefined);
      res.setHeader("Content-Type", "application/json;charset=UTF-8");
      res.end(JSON.stringify({ data: "123" }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const dir = mkdtempSync(join(tmpdir(), "capx-shim-"));
    try {
      const s = installShims({ binDir: dir, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: "root@pam!capx=x", node: "pve1", insecure: true });
      const r = await run([s.pvesh, "get", "/cluster/nextid", "--output-format", "json", "--vmid", "123"]);
      expect(r).toEqual({ code: 0, out: '"123"\n', err: "" });
      expect(seen.map((h) => JSON.parse(h!))).toEqual([["pvesh", "get", "/cluster/nextid", "--output-format", "json", "--vmid", "123"]]);
      expect(readFileSync(s.qm, "utf8")).toContain("CAPX_LAB_PVE_NODE='pve1'; export CAPX_LAB_PVE_NODE");
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
