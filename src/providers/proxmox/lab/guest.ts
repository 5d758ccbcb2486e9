/**
 * The guest side of a simulated VM: what it finds at boot (NICs, the OS image on its boot disk,
 * NoCloud data on a cdrom labelled cidata — PVE's cloud-init drive or an uploaded ISO), and what its
 * QEMU guest agent answers: network interfaces with the addresses its network-config gives (v1 or
 * v2; DHCP addresses leased from the bridge's subnet), hostname, and `cloud-init status` via exec.
 * @module
 */
import { readFileSync, existsSync } from "node:fs";
import { parse } from "yaml";
import { die } from "./errors.ts";
import type { LabHost } from "./host.ts";
import { readIso9660 } from "./iso9660.ts";
import { agentEnabled, bootOrder, isCdrom, isDriveKey, parseDrive, parseNet } from "./property-string.ts";
import type { BootRecord, VmRecord } from "./state.ts";
import { contentFilePath, findVolume, parseVolid } from "./volumes.ts";

const CDROM_ORDER = ["ide", "sata", "scsi", "virtio"];

function driveKeysInOrder(conf: Record<string, string>): string[] {
  return Object.keys(conf)
    .filter(isDriveKey)
    .sort((a, b) => {
      const [, ba, na] = /^([a-z]+)(\d+)$/.exec(a)!;
      const [, bb, nb] = /^([a-z]+)(\d+)$/.exec(b)!;
      return CDROM_ORDER.indexOf(ba!) - CDROM_ORDER.indexOf(bb!) || Number(na) - Number(nb);
    });
}

/** NoCloud/config-drive data on the VM's cdroms, first labelled one wins. */
function findCidata(host: LabHost, vm: VmRecord): BootRecord["cidata"] {
  for (const key of driveKeysInOrder(vm.config)) {
    const d = parseDrive(vm.config[key]!);
    if (!isCdrom(d) || d.file === "none" || d.file === "cdrom") continue;
    const vol = findVolume(host, vm.node, d.file);
    if (vol?.record.iso) {
      if (/^(cidata|config-2)$/i.test(vol.record.iso.label)) return { source: d.file, files: vol.record.iso.files };
      continue;
    }
    const id = parseVolid(d.file);
    const storage = id && host.inv.storages.find((s) => s.id === id.storage);
    const file = storage && contentFilePath(host, storage, vm.node, id.volname);
    if (!file || file.type !== "iso" || !existsSync(file.path)) continue;
    try {
      const iso = readIso9660(readFileSync(file.path));
      if (/^(cidata|config-2)$/i.test(iso.label)) return { source: d.file, files: iso.files };
    } catch {
      // not an ISO the guest can read: it ignores the cdrom
    }
  }
  return undefined;
}

function bootDiskGuest(host: LabHost, vm: VmRecord): BootRecord["guest"] {
  const order = bootOrder(vm.config.boot);
  const keys = [...order.filter(isDriveKey), ...driveKeysInOrder(vm.config)];
  for (const key of keys) {
    const v = vm.config[key];
    if (!v) continue;
    const d = parseDrive(v);
    if (isCdrom(d)) continue;
    const vol = findVolume(host, vm.node, d.file);
    if (vol?.record.guest) return vol.record.guest;
  }
  return undefined;
}

/** Powers the guest on: records what it boots with. */
export function bootGuest(host: LabHost, vm: VmRecord, pid: number): BootRecord {
  const now = host.now();
  const nics: BootRecord["nics"] = {};
  for (const k of Object.keys(vm.config).filter((k) => /^net\d+$/.test(k))) {
    const n = parseNet(vm.config[k]!);
    nics[k] = { mac: (n.macaddr ?? "").toLowerCase(), ...(n.bridge ? { bridge: n.bridge } : {}) };
  }
  const guest = bootDiskGuest(host, vm);
  const agentReadyAt = now + host.lat.bootMs;
  const cidata = findCidata(host, vm);
  return { startedAt: now, pid, agentReadyAt, cloudInitDoneAt: agentReadyAt + host.lat.cloudInitMs, ...(guest ? { guest } : {}), nics, ...(cidata ? { cidata } : {}) };
}

// ---- network-config --------------------------------------------------------------------------

interface NicPlan {
  name?: string;
  addresses: { ip: string; prefix: number; family: "ipv4" | "ipv6" }[];
  dhcp4: boolean;
}

function prefixOf(netmask: string): number {
  return netmask.split(".").reduce((n, o) => n + (Number(o) >>> 0).toString(2).replace(/0/g, "").length, 0);
}

function address(cidrOrIp: string, netmask?: string): NicPlan["addresses"][number] | undefined {
  const [ip, p] = String(cidrOrIp).split("/");
  if (!ip) return undefined;
  const family = ip.includes(":") ? "ipv6" : "ipv4";
  const prefix = p !== undefined ? Number(p) : netmask ? prefixOf(netmask) : family === "ipv4" ? 24 : 64;
  return { ip, prefix, family };
}

const truthy = (v: unknown) => v === true || v === "true" || v === "yes" || v === "on" || v === 1;

/** NoCloud network-config (v1 or v2, bare or under `network:`) → per-MAC plan. */
export function parseNetworkConfig(text: string): Map<string, NicPlan> | undefined {
  let doc: Record<string, unknown>;
  try {
    doc = (parse(text) ?? {}) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (doc.network && typeof doc.network === "object") doc = doc.network as Record<string, unknown>;
  const plans = new Map<string, NicPlan>();
  if (Number(doc.version) === 1 && Array.isArray(doc.config)) {
    for (const entry of doc.config as Record<string, unknown>[]) {
      if (entry.type !== "physical" || !entry.mac_address) continue;
      const plan: NicPlan = { ...(entry.name ? { name: String(entry.name) } : {}), addresses: [], dhcp4: false };
      for (const s of (entry.subnets ?? []) as Record<string, unknown>[]) {
        const t = String(s.type);
        if (t === "dhcp" || t === "dhcp4") plan.dhcp4 = true;
        else if ((t === "static" || t === "static6") && s.address) {
          const a = address(String(s.address), s.netmask ? String(s.netmask) : undefined);
          if (a) plan.addresses.push(a);
        }
      }
      plans.set(String(entry.mac_address).toLowerCase(), plan);
    }
    return plans;
  }
  if (Number(doc.version) === 2 && doc.ethernets && typeof doc.ethernets === "object") {
    for (const [key, e] of Object.entries(doc.ethernets as Record<string, Record<string, unknown>>)) {
      const mac = (e.match as Record<string, unknown> | undefined)?.macaddress;
      if (!mac) continue;
      const plan: NicPlan = { name: String(e["set-name"] ?? key), addresses: [], dhcp4: truthy(e.dhcp4) };
      for (const a of (e.addresses ?? []) as unknown[]) {
        const parsed = typeof a === "string" ? address(a) : undefined;
        if (parsed) plan.addresses.push(parsed);
      }
      plans.set(String(mac).toLowerCase(), plan);
    }
    return plans;
  }
  return undefined;
}

/** configdrive2's ENI network data: interfaces are named eth<N> in NIC order. */
function parseEni(text: string, macsInOrder: string[]): Map<string, NicPlan> {
  const plans = new Map<string, NicPlan>();
  let current: NicPlan | undefined;
  let pendingAddr: string | undefined;
  for (const line of text.split("\n")) {
    const iface = /^iface (eth(\d+)) inet6? (\w+)/.exec(line);
    if (iface) {
      const mac = macsInOrder[Number(iface[2])];
      current = mac ? (plans.get(mac) ?? { name: iface[1]!, addresses: [], dhcp4: false }) : undefined;
      if (current && mac) plans.set(mac, current);
      if (current && iface[3] === "dhcp" && !line.includes("inet6")) current.dhcp4 = true;
      continue;
    }
    const addr = /^\s+address (\S+)/.exec(line);
    if (addr) pendingAddr = addr[1];
    const mask = /^\s+netmask (\S+)/.exec(line);
    if (mask && pendingAddr && current) {
      const a = mask[1]!.includes(".") ? address(pendingAddr, mask[1]) : address(`${pendingAddr}/${mask[1]}`);
      if (a) current.addresses.push(a);
      pendingAddr = undefined;
    }
  }
  return plans;
}

// ---- DHCP -------------------------------------------------------------------------------------

const ipToInt = (ip: string) => ip.split(".").reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
const intToIp = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");

function staticAddressesInUse(host: LabHost): Set<string> {
  const used = new Set<string>();
  for (const vm of Object.values(host.plain.vms)) {
    const files = vm.boot?.cidata?.files;
    const text = files?.["/network-config"];
    if (!text) continue;
    for (const plan of parseNetworkConfig(text)?.values() ?? []) for (const a of plan.addresses) used.add(a.ip);
  }
  return used;
}

/** The bridge's DHCP server: a stable lease per MAC from the upper part of the subnet. */
export function dhcpLease(host: LabHost, bridgeName: string | undefined, mac: string): { ip: string; prefix: number } | undefined {
  const bridge = host.inv.bridges.find((b) => b.name === bridgeName);
  if (!bridge) return undefined;
  const [net, p] = bridge.cidr.split("/");
  const prefix = Number(p);
  const leases = (host.state.leases[bridge.name] ??= {});
  if (leases[mac]) return { ip: leases[mac], prefix };
  const base = ipToInt(net!);
  const size = 2 ** (32 - prefix);
  const taken = new Set([...Object.values(leases), ...staticAddressesInUse(host), bridge.gateway ?? ""]);
  const start = Math.min(100, Math.floor(size / 2));
  for (let i = start; i < size - 1; i++) {
    const ip = intToIp(base + i);
    if (taken.has(ip)) continue;
    leases[mac] = ip;
    host.changed();
    return { ip, prefix };
  }
  return undefined;
}

// ---- the agent -----------------------------------------------------------------------------

/** PVE's assert_agent_available, against the simulated guest. */
export function assertAgent(host: LabHost, vm: VmRecord): BootRecord {
  if (vm.config.agent === undefined) die("No QEMU guest agent configured");
  if (vm.status !== "running" || !vm.boot) die(`VM ${vm.vmid} is not running`);
  const b = vm.boot;
  if (!agentEnabled(vm.config.agent) || !b.guest?.agent || host.now() < b.agentReadyAt) die("QEMU guest agent is not running");
  return b;
}

function linkLocal(mac: string): string {
  const b = mac.split(":").map((x) => parseInt(x, 16));
  b[0]! ^= 2;
  const words = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | 0xff, (0xfe << 8) | b[3]!, (b[4]! << 8) | b[5]!];
  return `fe80::${words.map((w) => w.toString(16)).join(":")}`;
}

function counters(seed: number) {
  return { "rx-bytes": 1024 * seed, "rx-dropped": 0, "rx-errs": 0, "rx-packets": 12 * seed, "tx-bytes": 512 * seed, "tx-dropped": 0, "tx-errs": 0, "tx-packets": 8 * seed };
}

export function networkInterfaces(host: LabHost, vm: VmRecord): unknown[] {
  const b = assertAgent(host, vm);
  const nicKeys = Object.keys(b.nics).sort((x, y) => Number(x.slice(3)) - Number(y.slice(3)));
  const files = b.cidata?.files ?? {};
  let plans: Map<string, NicPlan> | undefined;
  if (files["/network-config"] !== undefined) plans = parseNetworkConfig(files["/network-config"]);
  else if (files["/openstack/content/0000"] !== undefined) plans = parseEni(files["/openstack/content/0000"], nicKeys.map((k) => b.nics[k]!.mac));
  const uptime = Math.max(1, Math.floor((host.now() - b.startedAt) / 1000));
  const result: unknown[] = [
    {
      name: "lo",
      "hardware-address": "00:00:00:00:00:00",
      "ip-addresses": [
        { "ip-address": "127.0.0.1", "ip-address-type": "ipv4", prefix: 8 },
        { "ip-address": "::1", "ip-address-type": "ipv6", prefix: 128 },
      ],
      statistics: counters(uptime),
    },
  ];
  nicKeys.forEach((key, index) => {
    const nic = b.nics[key]!;
    // No network-config at all: the image falls back to DHCP on its NICs.
    const plan = plans ? plans.get(nic.mac) : { addresses: [], dhcp4: true };
    const addrs: { "ip-address": string; "ip-address-type": string; prefix: number }[] = [];
    for (const a of plan?.addresses ?? []) if (a.family === "ipv4") addrs.push({ "ip-address": a.ip, "ip-address-type": "ipv4", prefix: a.prefix });
    if (plan?.dhcp4) {
      const lease = dhcpLease(host, nic.bridge, nic.mac);
      if (lease) addrs.push({ "ip-address": lease.ip, "ip-address-type": "ipv4", prefix: lease.prefix });
    }
    for (const a of plan?.addresses ?? []) if (a.family === "ipv6") addrs.push({ "ip-address": a.ip, "ip-address-type": "ipv6", prefix: a.prefix });
    if (nic.mac) addrs.push({ "ip-address": linkLocal(nic.mac), "ip-address-type": "ipv6", prefix: 64 });
    result.push({ name: plan?.name ?? `eth${index}`, "hardware-address": nic.mac, "ip-addresses": addrs, statistics: counters(uptime) });
  });
  return result;
}

/** The guest's hostname: meta-data / user-data as cloud-init applies them, else the VM name. */
export function guestHostname(vm: VmRecord): string {
  const files = vm.boot?.cidata?.files ?? {};
  for (const f of ["/meta-data", "/user-data"]) {
    const text = files[f];
    if (!text) continue;
    try {
      const doc = parse(text.replace(/^#cloud-config\n/, "")) as Record<string, unknown> | null;
      const name = doc?.["local-hostname"] ?? doc?.hostname;
      if (typeof name === "string" && name) return name;
    } catch {
      // not YAML (a Talos machine config is, but may carry no hostname)
    }
  }
  return vm.config.name ?? `VM${vm.vmid}`;
}

/** What a simulated cloud-init in the guest reports (src/lab/cloud-init), for VMs it runs in. */
export interface CloudInitReport {
  status: "running" | "done" | "error";
  hostname?: string;
}

const cloudInitReporters = new WeakMap<LabHost, (vm: VmRecord) => CloudInitReport | undefined>();

/** Lets the guests' cloud-init answer `cloud-init status` (undefined: the image's default, done after cloudInitMs). */
export function setCloudInitReporter(host: LabHost, reporter: ((vm: VmRecord) => CloudInitReport | undefined) | undefined): void {
  if (reporter) cloudInitReporters.set(host, reporter);
  else cloudInitReporters.delete(host);
}

/** `cloud-init status --wait` whose answer comes when the simulated run ends. */
const WAITING = Number.MAX_SAFE_INTEGER;

function simulatedStatus(host: LabHost, vm: VmRecord, b: BootRecord): CloudInitReport | undefined {
  const report = cloudInitReporters.get(host)?.(vm);
  if (!report) return undefined;
  return host.now() < b.cloudInitDoneAt ? { ...report, status: "running" } : report;
}

/** guest-exec: the commands the simulated images know. */
export function startExec(host: LabHost, vm: VmRecord, command: string[]): number {
  const b = assertAgent(host, vm);
  const [path, ...args] = command;
  if (!path) die("command or input-data (or both) required");
  const now = host.now();
  const known = (name: string, present: boolean) => {
    if (!present) die(`Agent error: Failed to execute child process “${name}” (No such file or directory)`);
  };
  let exitcode = 0;
  let out = "";
  let err = "";
  let finishAt = now;
  const base = path.split("/").pop()!;
  if (base === "cloud-init") {
    known(path, Boolean(b.guest?.cloudInit));
    if (args[0] !== "status") {
      exitcode = 2;
      err = `usage: cloud-init [-h] [--version] [--debug] [--force] [--all-stages] {init,modules,single,query,features,analyze,devel,collect-logs,clean,status,schema} ...\ncloud-init: error: invalid choice: '${args[0] ?? ""}'\n`;
    } else if (simulatedStatus(host, vm, b)) {
      const report = simulatedStatus(host, vm, b)!;
      if (report.status === "running" && args.includes("--wait")) finishAt = WAITING;
      else {
        out = `status: ${report.status}\n`;
        exitcode = report.status === "error" ? 1 : 0;
      }
    } else {
      const done = now >= b.cloudInitDoneAt;
      if (args.includes("--wait")) finishAt = Math.max(now, b.cloudInitDoneAt);
      out = `status: ${done || args.includes("--wait") ? "done" : "running"}\n`;
    }
  } else if (base === "hostname") {
    known(path, b.guest?.os !== "talos");
    out = `${simulatedStatus(host, vm, b)?.hostname ?? guestHostname(vm)}\n`;
  } else if (base === "true") {
    known(path, b.guest?.os !== "talos");
  } else {
    known(path, false);
  }
  const execs = (host.state.execs[String(vm.vmid)] ??= {});
  const pid = 1000 + Object.keys(execs).length;
  execs[String(pid)] = { command, startedAt: now, finishAt, exitcode, out, err };
  host.changed();
  return pid;
}

export function execStatus(host: LabHost, vm: VmRecord, pid: number): Record<string, unknown> {
  assertAgent(host, vm);
  const e = host.state.execs[String(vm.vmid)]?.[String(pid)];
  if (!e) die(`Agent error: Invalid parameter 'pid'`);
  if (e.finishAt === WAITING) {
    const report = simulatedStatus(host, vm, vm.boot!);
    if (report && report.status !== "running") {
      Object.assign(e, { finishAt: host.now(), out: `status: ${report.status}\n`, exitcode: report.status === "error" ? 1 : 0 });
      host.changed();
    }
  }
  if (host.now() < e.finishAt) return { exited: 0 };
  return { exited: 1, exitcode: e.exitcode, ...(e.out ? { "out-data": e.out } : {}), ...(e.err ? { "err-data": e.err } : {}) };
}
