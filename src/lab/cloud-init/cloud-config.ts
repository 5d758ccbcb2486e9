/**
 * One boot of cloud-init in a lab guest, NoCloud datasource, user-data a `#cloud-config`
 * (optionally `## template: jinja`): the stages as cloud-init runs them and what they print on the
 * serial console, and the modules the lab applies —
 *
 * - init: `bootcmd` (every boot, via `/bin/sh`), `write_files` (not deferred), `set_hostname`
 *   (`fqdn`/`hostname` of the cloud-config, else meta-data's `local-hostname`; /etc/hostname),
 *   `users` (recorded on the disk's cloud-init records);
 * - config: `runcmd` becomes /var/lib/cloud/instance/scripts/runcmd (`#!/bin/sh`, a string item
 *   verbatim, a list item shell-quoted);
 * - final: `scripts_user` runs that script (sh without -e: every line runs, the last one's status
 *   counts), `write_files` with `defer: true`, then /var/lib/cloud/instance/boot-finished.
 *
 * Per-instance modules (write_files, users, runcmd) run once per instance-id, as on a real disk;
 * bootcmd runs at every boot. A failing module makes the run end in `error`. Other keys are
 * accepted and not simulated.
 * @module
 */
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import type { GuestFs } from "./guest-fs.ts";
import { isJinja, renderJinja, type Vars } from "./jinja.ts";
import { Shell, type Programs } from "./shell.ts";

export const CLOUD_INIT_VERSION = "24.4.1-0ubuntu0~24.04.1";
export const RUNCMD_SCRIPT = "/var/lib/cloud/instance/scripts/runcmd";
export const BOOT_FINISHED = "/var/lib/cloud/instance/boot-finished";

export interface CloudInitRun {
  fs: GuestFs;
  vmid: number;
  programs: Programs;
  userData: string;
  metaData: string;
  /** Seconds since the VM started (the "Up N seconds" of the stage lines). */
  uptime: () => number;
  /** A line on the serial console (without newline). */
  console: (line: string) => void;
}

export interface CloudInitOutcome {
  status: "done" | "error";
  errors: string[];
}

/** True when user-data is for cloud-init's cloud-config handler (after an optional jinja header). */
export function isCloudConfig(userData: string | undefined): boolean {
  if (!userData) return false;
  const body = isJinja(userData) ? userData.replace(/^[^\n]*\n/, "") : userData;
  return body.startsWith("#cloud-config");
}

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));

/** instance-data.json as the NoCloud datasource writes it (the parts templates use). */
export function instanceData(meta: Vars): Vars {
  const id = str(meta["instance-id"]) ?? "iid-datasource-none";
  const hostname = str(meta["local-hostname"]) ?? str(meta.hostname) ?? "ubuntu";
  const v1 = {
    "availability-zone": null,
    availability_zone: null,
    "cloud-name": "nocloud",
    cloud_name: "nocloud",
    cloud_id: "nocloud",
    distro: "ubuntu",
    distro_release: "noble",
    distro_version: "24.04",
    "instance-id": id,
    instance_id: id,
    kernel_release: "6.8.0-48-generic",
    "local-hostname": hostname,
    local_hostname: hostname,
    machine: "x86_64",
    platform: "nocloud",
    public_ssh_keys: [],
    region: null,
    subplatform: "config-disk (/dev/sr0)",
    variant: "ubuntu",
  };
  return { ds: { meta_data: meta }, v1 };
}

/** The permissions of write_files (cloud-init's decode_perms: an octal string, or the YAML number). */
function perms(v: unknown, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v === "number") return v;
  const s = String(v).trim();
  return /^0?o?[0-7]+$/.test(s) ? parseInt(s.replace(/^0o/, ""), 8) : fallback;
}

/** write_files content by its encoding (b64/base64, gz/gzip, gz+b64 …, else text). */
function decode(content: unknown, encoding: unknown): Buffer {
  const text = content === undefined || content === null ? "" : String(content);
  const enc = String(encoding ?? "text/plain").toLowerCase();
  const b64 = ["b64", "base64", "gz+b64", "gzip+base64", "gz+base64", "gzip+b64"].includes(enc);
  const gz = ["gz", "gzip", "gz+b64", "gzip+base64", "gz+base64", "gzip+b64"].includes(enc);
  let data = b64 ? Buffer.from(text, "base64") : Buffer.from(text, "utf8");
  if (gz) data = gunzipSync(data);
  return data;
}

/** Shell-quotes a runcmd list item as cloud-init's shellify does. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function shellify(cmds: unknown[]): string {
  let out = "#!/bin/sh\n";
  for (const c of cmds) {
    if (Array.isArray(c)) out += c.map((w) => shellQuote(String(w))).join(" ") + "\n";
    else out += `${String(c)}\n`;
  }
  return out;
}

export async function runCloudInit(r: CloudInitRun): Promise<CloudInitOutcome> {
  const errors: string[] = [];
  const pid = 500 + (r.vmid % 400);
  const say = (text: string) => {
    for (const line of text.replace(/\n$/, "").split("\n")) r.console(`cloud-init[${pid}]: ${line}`);
  };
  const stamp = () => new Date().toISOString().replace("T", " ").replace("Z", "").replace(".", ",");
  const warn = (file: string, msg: string) => say(`${stamp()} - ${file}[WARNING]: ${msg}`);
  const when = () => new Date().toUTCString().replace("GMT", "+0000");
  const stage = (name: string) => say(`Cloud-init v. ${CLOUD_INIT_VERSION} running '${name}' at ${when()}. Up ${r.uptime().toFixed(2)} seconds.`);
  const moduleFailed = (mod: string, why: string) => {
    errors.push(`${mod}: ${why}`);
    warn("util.py", `Running module ${mod} (<module 'cloudinit.config.cc_${mod}' from '/usr/lib/python3/dist-packages/cloudinit/config/cc_${mod}.py'>) failed`);
  };
  const fs = r.fs;
  const shell = new Shell({ fs, vmid: r.vmid, programs: r.programs, onOutput: (t) => say(t) });

  stage("init-local");
  let meta: Vars = {};
  try {
    meta = (parse(r.metaData, { version: "1.1" }) as Vars | null) ?? {};
  } catch (e) {
    warn("DataSourceNoCloud.py", `meta-data is not YAML: ${(e as Error).message}`);
  }
  stage("init");
  let payload = r.userData;
  if (isJinja(payload)) {
    const rendered = renderJinja(payload, instanceData(meta));
    for (const w of rendered.warnings) warn("jinja_template.py", w);
    payload = rendered.text ?? "";
  }
  let cfg: Record<string, unknown> = {};
  try {
    const doc = parse(payload, { version: "1.1" }) as unknown;
    if (doc && typeof doc === "object" && !Array.isArray(doc)) cfg = doc as Record<string, unknown>;
  } catch (e) {
    warn("util.py", `Failed loading yaml blob. ${(e as Error).message}`);
  }
  const instanceId = str(meta["instance-id"]) ?? "iid-datasource-none";
  const newInstance = fs.meta.instanceId !== instanceId;
  fs.meta.instanceId = instanceId;
  fs.write("/run/cloud-init/instance-data.json", JSON.stringify(instanceData(meta), null, 1), { parents: true, mode: 0o644 });

  // init modules
  if (Array.isArray(cfg.bootcmd) && cfg.bootcmd.length) {
    const res = await shell.run(shellify(cfg.bootcmd), `/var/lib/cloud/instance/boothooks/bootcmd`);
    if (res.code !== 0) moduleFailed("bootcmd", `Failed to run bootcmd module bootcmd [${res.code}]`);
  }
  const files = Array.isArray(cfg.write_files) ? (cfg.write_files as Record<string, unknown>[]) : [];
  const writeFiles = (deferred: boolean) => {
    for (const f of files) {
      if (!f || typeof f !== "object" || Boolean(f.defer) !== deferred) continue;
      if (!f.path) {
        warn("cc_write_files.py", `No path provided to write for entry ${JSON.stringify(f)}`);
        continue;
      }
      try {
        fs.write(String(f.path), decode(f.content, f.encoding), { mode: perms(f.permissions, 0o644), owner: String(f.owner ?? "root:root"), append: Boolean(f.append), parents: true });
      } catch (e) {
        moduleFailed(deferred ? "write_files_deferred" : "write_files", (e as Error).message);
        return;
      }
    }
  };
  if (newInstance) writeFiles(false);
  const hostname = str(cfg.fqdn) && cfg.prefer_fqdn_over_hostname ? str(cfg.fqdn)! : (str(cfg.hostname) ?? str(cfg.fqdn)?.split(".")[0] ?? str(meta["local-hostname"]) ?? str(meta.hostname));
  if (hostname && cfg.preserve_hostname !== true) {
    fs.meta.hostname = hostname;
    fs.write("/etc/hostname", `${hostname}\n`, { mode: 0o644 });
  }
  if (newInstance) {
    const users = Array.isArray(cfg.users) ? cfg.users : cfg.user !== undefined ? ["default", cfg.user] : ["default"];
    fs.meta.users = users.map((u) => (typeof u === "string" ? { name: u } : u));
  }
  fs.save();

  stage("modules:config");
  if (newInstance && Array.isArray(cfg.runcmd)) fs.write(RUNCMD_SCRIPT, shellify(cfg.runcmd), { mode: 0o700, parents: true });
  fs.save();

  stage("modules:final");
  if (newInstance && fs.isFile(RUNCMD_SCRIPT)) {
    const res = await shell.run(fs.readText(RUNCMD_SCRIPT)!, RUNCMD_SCRIPT);
    if (res.code !== 0) {
      warn("subp.py", `Failed running ${RUNCMD_SCRIPT} [${res.code}]`);
      warn("cc_scripts_user.py", "Failed to run module scripts_user (scripts in /var/lib/cloud/instance/scripts)");
      moduleFailed("scripts_user", `Runparts: 1 failures (runcmd) in 1 attempted commands`);
    }
  }
  if (newInstance) writeFiles(true);
  const up = r.uptime().toFixed(2);
  fs.write(BOOT_FINISHED, `${up} ${up}\n`, { parents: true });
  fs.write("/run/cloud-init/result.json", JSON.stringify({ v1: { datasource: "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]", errors } }, null, 1), { parents: true });
  fs.save();
  say(`Cloud-init v. ${CLOUD_INIT_VERSION} finished at ${when()}. Datasource DataSourceNoCloud [seed=/dev/sr0][dsmode=net].  Up ${up} seconds`);
  return { status: errors.length ? "error" : "done", errors };
}
