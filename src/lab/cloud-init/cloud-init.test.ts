import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { nodeCloudConfig } from "../../providers/kubeadm/cloud-init.ts";
import { BOOT_FINISHED, instanceData, runCloudInit } from "./cloud-config.ts";
import { GuestFs } from "./guest-fs.ts";
import { renderJinja } from "./jinja.ts";
import { Programs, type ProgramContext } from "./shell.ts";

const dataDir = mkdtempSync(join(tmpdir(), "lab-cloud-init-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const META = "instance-id: 8d2b1a6e-0d6c-4b1e-9f00-1c2d3e4f5a6b\nlocal-hostname: c1-cp-0\n";

async function boot(userData: string, o: { fs?: GuestFs; programs?: Programs; meta?: string } = {}) {
  const fs = o.fs ?? new GuestFs();
  const lines: string[] = [];
  const outcome = await runCloudInit({ fs, vmid: 301, programs: o.programs ?? new Programs(), userData, metaData: o.meta ?? META, uptime: () => 3, console: (l) => lines.push(l) });
  return { fs, outcome, console: lines.join("\n") };
}

describe("jinja rendering", () => {
  test("ds.meta_data and v1 keys with underscore aliases; undefined renders as cloud-init's marker; header and final newline dropped", () => {
    const data = instanceData({ "instance-id": "abc", "local-hostname": "n1" });
    const r = renderJinja("## template: jinja\n#cloud-config\nid: proxmox://{{ ds.meta_data.instance_id }}\nh: {{ v1.local_hostname }} {{ local_hostname }}\nr: {{ v1.region }}\nm: {{ ds.meta_data.nope }}\n", data);
    expect(r.text).toBe("#cloud-config\nid: proxmox://abc\nh: n1 n1\nr: None\nm: CI_MISSING_JINJA_VAR/nope");
    expect(r.warnings).toEqual(["Could not render jinja template variables in file 'part-001': 'nope'"]);
  });

  test("an attribute of an undefined variable makes cloud-init ignore the part", () => {
    const r = renderJinja("## template: jinja\n#cloud-config\nx: {{ nothing.here }}\n", instanceData({}));
    expect(r.text).toBeUndefined();
    expect(r.warnings[0]).toBe("Ignoring jinja template for part-001: 'nothing' is undefined");
  });
});

describe("a cloud-config boot", () => {
  test("write_files: permissions, owner, b64 and gzip, append, defer; hostname from meta-data", async () => {
    const gz = gzipSync(Buffer.from("zipped\n")).toString("base64");
    const { fs, outcome } = await boot(
      [
        "#cloud-config",
        "write_files:",
        "- path: /etc/a/secret.key",
        "  permissions: '0600'",
        "  owner: root:kube",
        "  content: top secret",
        "- path: /etc/a/other.key",
        "  permissions: '0600'",
        "  owner: root:kube",
        "- path: /etc/b64",
        "  encoding: b64",
        `  content: ${Buffer.from("hello").toString("base64")}`,
        "- path: /etc/gz",
        "  encoding: gz+b64",
        `  content: ${gz}`,
        "- path: /etc/a/secret.key",
        "  append: true",
        "  content: ' more'",
        "- path: /home/late",
        "  defer: true",
        "  content: after runcmd",
        "runcmd:",
        "- test -f /home/late || echo early > /tmp/order",
      ].join("\n"),
    );
    expect(outcome).toEqual({ status: "done", errors: [] });
    expect(fs.readText("/etc/a/secret.key")).toBe("top secret more");
    // each entry applies its own (default) permissions and owner, the appending one too
    expect(fs.stat("/etc/a/secret.key")).toMatchObject({ mode: 0o644, owner: "root:root" });
    expect(fs.stat("/etc/b64")).toMatchObject({ mode: 0o644, owner: "root:root" });
    expect(fs.stat("/etc/a/other.key")).toMatchObject({ mode: 0o600, owner: "root:kube", size: 0 });
    expect(fs.readText("/etc/b64")).toBe("hello");
    expect(fs.readText("/etc/gz")).toBe("zipped\n");
    expect(fs.readText("/home/late")).toBe("after runcmd");
    expect(fs.readText("/tmp/order")).toBe("early\n");
    expect(fs.readText("/etc/hostname")).toBe("c1-cp-0\n");
    expect(fs.isFile(BOOT_FINISHED)).toBe(true);
  });

  test("CABPK's bootstrap data: jinja provider-id, runcmd chain with a registered kubeadm, the sentinel", async () => {
    const programs = new Programs();
    const calls: { argv: string[]; config?: string }[] = [];
    programs.register("kubeadm", (ctx: ProgramContext) => {
      calls.push({ argv: ctx.argv, config: ctx.fs.readText("/run/kubeadm/kubeadm-join-config.yaml") });
      return { stdout: "This node has joined the cluster\n" };
    });
    const userData = nodeCloudConfig({
      joinConfiguration: "kind: JoinConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    provider-id: proxmox://'{{ ds.meta_data.instance_id }}'",
      preKubeadmCommands: ["mkdir -p /run/cluster-api && echo success > /run/cluster-api/pre"],
    });
    const { fs, outcome, console } = await boot(userData, { programs });
    expect(outcome.status).toBe("done");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.argv).toEqual(["kubeadm", "join", "--config", "/run/kubeadm/kubeadm-join-config.yaml"]);
    expect(calls[0]!.config).toContain("provider-id: proxmox://'8d2b1a6e-0d6c-4b1e-9f00-1c2d3e4f5a6b'");
    expect(fs.readText("/run/cluster-api/bootstrap-success.complete")).toBe("success\n");
    expect(fs.readText("/run/cluster-api/pre")).toBe("success\n");
    expect(console).toContain("This node has joined the cluster");
    expect(console).toMatch(/running 'modules:final' at .*\n.*finished at/s);
  });

  test("an unknown program fails as sh does (127), later lines still run, cloud-init ends in error", async () => {
    const { fs, outcome, console } = await boot("#cloud-config\nruncmd:\n  - 'kubeadm init --config /run/kubeadm/kubeadm.yaml  && echo success > /run/cluster-api/bootstrap-success.complete'\n  - [ sh, -c, 'nosuch; exit_is_last' ]\n  - mkdir -p /run/cluster-api && echo after > /run/cluster-api/after\n  - false\n");
    expect(outcome.status).toBe("error");
    expect(console).toContain("/var/lib/cloud/instance/scripts/runcmd: 2: kubeadm: not found");
    expect(console).toContain("sh: 1: nosuch: not found");
    expect(console).toContain("Failed running /var/lib/cloud/instance/scripts/runcmd [1]");
    expect(console).toContain("Failed to run module scripts_user");
    expect(fs.exists("/run/cluster-api/bootstrap-success.complete")).toBe(false);
    expect(fs.readText("/run/cluster-api/after")).toBe("after\n");
  });

  test("the disk persists; per-instance modules run once per instance-id; /run is a tmpfs; wipe removes it", async () => {
    const dir = GuestFs.dirOf(dataDir, 301);
    const ud = "#cloud-config\nbootcmd:\n  - echo boot >> /var/log/boots\nwrite_files:\n  - path: /etc/once\n    content: x\n    append: true\nruncmd:\n  - mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete\n";
    await boot(ud, { fs: new GuestFs(dir) });
    const again = new GuestFs(dir); // a daemon restart reads the same disk
    expect(again.readText("/run/cluster-api/bootstrap-success.complete")).toBe("success\n");
    again.clearRun(); // reboot
    const second = await boot(ud, { fs: again });
    expect(second.outcome.status).toBe("done");
    expect(again.readText("/var/log/boots")).toBe("boot\nboot\n");
    expect(again.readText("/etc/once")).toBe("x");
    expect(again.exists("/run/cluster-api/bootstrap-success.complete")).toBe(false);
    again.wipe();
    expect(existsSync(dir)).toBe(false);
    expect(new GuestFs(dir).exists("/etc/once")).toBe(false);
  });
});
