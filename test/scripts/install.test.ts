/**
 * scripts/install.sh, run as a user would but under `--root <tmp>` with a fake binary: what it
 * installs where, that a second run changes nothing (and keeps an edited config.yaml), that
 * uninstall keeps the state unless --purge, and that bad flags are one-line usage errors.
 * The script runs with a PATH without Bun, and a `systemctl` on that PATH records any call
 * (there must be none under --root).
 */
import { afterAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { defaultConfig, loadConfigFile } from "../../src/config/config.ts";
import { REPO, tempDir } from "../harness/daemon.ts";

const SCRIPT = join(REPO, "scripts/install.sh");
const work = tempDir("capx-install-");
const root = join(work, "root");
const fakeBin = join(work, "bin");
const systemctlLog = join(work, "systemctl.log");
const at = (path: string) => join(root, path);

function fakeBinary(text: string): string {
  const path = join(work, "capx-appliance-fake");
  writeFileSync(path, `#!/bin/sh\necho ${text}\n`);
  return path;
}

// A PATH without Bun; its systemctl only records that it was called.
mkdirSync(fakeBin, { recursive: true });
writeFileSync(join(fakeBin, "systemctl"), `#!/bin/sh\necho "$@" >> ${systemctlLog}\n`);
chmodSync(join(fakeBin, "systemctl"), 0o755);
const ENV = { PATH: `${fakeBin}:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: work, LANG: "C" };

/** Runs the script; every run passes --root (the tests may run as root: never touch /). */
function install(...args: string[]) {
  const r = spawnSync("bash", [SCRIPT, "--root", root, ...args], { encoding: "utf8", env: ENV, cwd: work });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function mode(path: string): string {
  return (statSync(path).mode & 0o7777).toString(8).padStart(4, "0");
}

/** The config with every key line (a '#' in column 0, not followed by one space and text) uncommented. */
function uncommented(text: string): string {
  return text
    .split("\n")
    .map((l) => (/^#(?! \S|$)/.test(l) ? l.slice(1) : l))
    .join("\n");
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("scripts/install.sh --root", () => {
  const binary = fakeBinary("one");

  it("installs the binary, unit, config, state directory and link, and prints the systemctl calls it would make", () => {
    const r = install("--binary", binary);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readFileSync(at("usr/local/bin/capx-appliance"), "utf8")).toBe(readFileSync(binary, "utf8"));
    expect(mode(at("usr/local/bin/capx-appliance"))).toBe("0755");
    expect(readFileSync(at("etc/systemd/system/capx-appliance.service"), "utf8")).toBe(readFileSync(join(REPO, "systemd/capx-appliance.service"), "utf8"));
    expect(mode(at("etc/systemd/system/capx-appliance.service"))).toBe("0644");
    expect(readFileSync(at("etc/capx-appliance/config.yaml"), "utf8")).toBe(readFileSync(join(REPO, "systemd/config.yaml"), "utf8"));
    expect(mode(at("etc/capx-appliance/config.yaml"))).toBe("0600");
    expect(mode(at("etc/capx-appliance"))).toBe("0755");
    expect(statSync(at("var/lib/capx-appliance")).isDirectory()).toBe(true);
    expect(mode(at("var/lib/capx-appliance"))).toBe("0700");
    expect(lstatSync(at("etc/capx-appliance/admin.kubeconfig")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(at("etc/capx-appliance/admin.kubeconfig"))).toBe("/var/lib/capx-appliance/admin.kubeconfig");
    expect(r.stdout).toContain("capx-appliance: would run: systemctl daemon-reload\n");
    expect(r.stdout).toContain("capx-appliance: would run: systemctl enable --now capx-appliance\n");
    expect(existsSync(systemctlLog)).toBe(false);
  });

  it("installs a config.yaml that changes nothing and lists every key with its default", () => {
    const path = at("etc/capx-appliance/config.yaml");
    expect(loadConfigFile(path, true)).toEqual(defaultConfig());
    const keys = parse(uncommented(readFileSync(path, "utf8")));
    expect(keys).toEqual(JSON.parse(JSON.stringify(defaultConfig())));
  });

  it("changes nothing on a second run and keeps an edited config.yaml", () => {
    const config = at("etc/capx-appliance/config.yaml");
    const edited = `${readFileSync(config, "utf8")}logLevel: debug\n`;
    writeFileSync(config, edited);
    const binIno = statSync(at("usr/local/bin/capx-appliance")).ino;
    const r = install("--binary", binary);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("capx-appliance: nothing changed: already installed\n");
    expect(r.stdout).not.toMatch(/installed \/|updated \/|created \/|linked \//);
    expect(r.stdout).not.toContain("daemon-reload");
    expect(r.stdout).toContain("capx-appliance: kept /etc/capx-appliance/config.yaml");
    expect(readFileSync(config, "utf8")).toBe(edited);
    expect(statSync(at("usr/local/bin/capx-appliance")).ino).toBe(binIno);
    expect(existsSync(systemctlLog)).toBe(false);
  });

  it("replaces a binary that differs and says it would restart the service", () => {
    const newer = fakeBinary("two");
    const r = install("--binary", newer);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("capx-appliance: updated /usr/local/bin/capx-appliance\n");
    expect(r.stdout).toContain("capx-appliance: unchanged /etc/systemd/system/capx-appliance.service\n");
    expect(r.stdout).toContain("capx-appliance: would run: systemctl try-restart capx-appliance\n");
    expect(readFileSync(at("usr/local/bin/capx-appliance"), "utf8")).toBe("#!/bin/sh\necho two\n");
    expect(mode(at("usr/local/bin/capx-appliance"))).toBe("0755");
    expect(install("--binary", newer).stdout).toContain("nothing changed");
  });

  const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
  it.skipIf(!analyze)(`systemd-analyze verify accepts the installed unit${analyze ? "" : " (SKIPPED: systemd-analyze is not installed here)"}`, () => {
    const r = spawnSync("systemd-analyze", ["verify", "--man=no", "--recursive-errors=no", `--root=${root}`, "capx-appliance.service"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("keeps the unit's hardening compatible with qm (no option that blocks qm or pvesh)", () => {
    const unit = readFileSync(at("etc/systemd/system/capx-appliance.service"), "utf8");
    const set = unit.split("\n").filter((l) => !l.startsWith("#"));
    for (const option of ["ProtectSystem", "ProtectHome", "ProtectKernelTunables", "ProtectControlGroups", "ProtectKernelModules", "ReadOnlyPaths", "InaccessiblePaths"]) {
      expect(set.filter((l) => l.startsWith(`${option}=`))).toEqual([]);
    }
    expect(set).toContain("After=network-online.target pve-cluster.service");
  });

  it("--uninstall removes the binary, unit and link and keeps the state directory and config", () => {
    const r = install("--uninstall");
    expect(r.status).toBe(0);
    expect(existsSync(at("usr/local/bin/capx-appliance"))).toBe(false);
    expect(existsSync(at("etc/systemd/system/capx-appliance.service"))).toBe(false);
    expect(() => lstatSync(at("etc/capx-appliance/admin.kubeconfig"))).toThrow();
    expect(mode(at("var/lib/capx-appliance"))).toBe("0700");
    expect(readFileSync(at("etc/capx-appliance/config.yaml"), "utf8")).toContain("logLevel: debug\n");
    expect(r.stdout).toContain("capx-appliance: would run: systemctl disable --now capx-appliance\n");
    expect(r.stdout).toContain("capx-appliance: kept /var/lib/capx-appliance");
    expect(existsSync(systemctlLog)).toBe(false);
  });

  it("--uninstall --purge also removes the state directory and /etc/capx-appliance", () => {
    const r = install("--uninstall", "--purge");
    expect(r.status).toBe(0);
    expect(existsSync(at("var/lib/capx-appliance"))).toBe(false);
    expect(existsSync(at("etc/capx-appliance"))).toBe(false);
    expect(install("--uninstall", "--purge").stdout).toContain("capx-appliance: nothing changed: not installed\n");
  });

  it("rejects bad flags with exit 2 and one line", () => {
    for (const args of [["--bogus"], ["--purge"], ["--binary"]]) {
      const r = install(...args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^capx-appliance: [^\n]+\n$/);
    }
    expect(install("--bogus").stderr).toBe("capx-appliance: unknown option '--bogus' (see --help)\n");
  });

  it("fails with one line when the binary is missing, and --help shows the usage", () => {
    const r = install("--binary", join(work, "nope"));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`capx-appliance: no binary at ${join(work, "nope")}: run ./scripts/build.sh first, or pass --binary FILE\n`);
    const help = install("--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--uninstall");
    expect(help.stdout).toContain("/etc/capx-appliance/admin.kubeconfig");
  });
});
