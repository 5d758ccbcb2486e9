/**
 * The cloud-init data PVE generates from a VM config (byte for byte: user-data, NoCloud
 * network-config v1, configdrive2 ENI, meta-data with instance-id = sha1(user . network)), the
 * custom snippets `cicustom` points at, and the ISO contents written at each start.
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { die } from "./errors.ts";
import type { LabHost } from "./host.ts";
import { isDriveKey, parseCicustom, parseDrive, parseIpconfig, parseNet, type IpConfig } from "./property-string.ts";
import type { VmConfig } from "./state.ts";
import { contentFilePath, parseVolid } from "./volumes.ts";

/** Perl's URI::Escape::uri_unescape: %XX only, `+` stays. */
export function uriUnescape(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const m = /^%([0-9a-fA-F]{2})/.exec(text.slice(i, i + 3));
    if (m) {
      bytes.push(parseInt(m[1]!, 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

export function citype(conf: VmConfig): string {
  if (conf.citype) return conf.citype;
  return /^(wxp|w2k|w2k3|w2k8|wvista|win7|win8|win10|win11)$/.test(conf.ostype ?? "") ? "configdrive2" : "nocloud";
}

function hostnameFqdn(conf: VmConfig, vmid: number): [string, string] {
  let hostname = conf.name ?? `VM${vmid}`;
  if (hostname.includes(".")) {
    const fqdn = hostname;
    hostname = hostname.replace(/\..*$/, "");
    return [hostname, fqdn];
  }
  const search = conf.searchdomain;
  return [hostname, search ? `${hostname}.${search}` : hostname];
}

function dnsConf(host: LabHost, conf: VmConfig): { search: string[]; nameservers: string[] } {
  const search = (conf.searchdomain ?? host.inv.dns.search.join(" ")).split(/\s+/).filter(Boolean);
  const nameservers = conf.nameserver !== undefined ? conf.nameserver.split(/\s+/).filter(Boolean) : host.inv.dns.nameservers.slice(0, 3);
  return { search, nameservers };
}

export function userData(conf: VmConfig, vmid: number, maskPassword = false): string {
  const [hostname, fqdn] = hostnameFqdn(conf, vmid);
  let out = `#cloud-config\nhostname: ${hostname}\nmanage_etc_hosts: true\nfqdn: ${fqdn}\n`;
  const user = conf.ciuser;
  if (user !== undefined) out += `user: ${user}\n`;
  if (user === "root") out += "disable_root: False\n";
  if (conf.cipassword !== undefined) out += `password: ${maskPassword ? "**********" : conf.cipassword}\n`;
  if (conf.sshkeys !== undefined) {
    const keys = uriUnescape(conf.sshkeys)
      .split("\n")
      .map((k) => k.replace(/\n$/, ""))
      .filter((k) => /\S/.test(k));
    out += "ssh_authorized_keys:\n";
    for (const k of keys) out += `  - ${k}\n`;
  }
  out += "chpasswd:\n  expire: False\n";
  if (user !== "root") out += "users:\n  - default\n";
  if (conf.ciupgrade === undefined || conf.ciupgrade === "1") out += "package_upgrade: true\n";
  return out;
}

/** Interfaces with an ipconfig, in PVE's (string-sorted) order. */
function configuredNics(conf: VmConfig): { id: string; mac: string; ip: IpConfig }[] {
  return Object.keys(conf)
    .filter((k) => /^net\d+$/.test(k))
    .sort()
    .flatMap((k) => {
      const id = k.slice(3);
      const ipconfig = conf[`ipconfig${id}`];
      if (!ipconfig) return [];
      return [{ id, mac: parseNet(conf[k]!).macaddr ?? "", ip: parseIpconfig(ipconfig) }];
    });
}

export function netmaskOf(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join(".");
}

function splitIp4(cidr: string): [string, string] {
  const [addr, mask] = cidr.split("/");
  if (mask === undefined) die(`not a CIDR: ${cidr}`);
  return [addr!, netmaskOf(Number(mask))];
}

export function nocloudNetwork(host: LabHost, conf: VmConfig): string {
  let out = "version: 1\nconfig:\n";
  const i = "    ";
  for (const nic of configuredNics(conf)) {
    if (!nic.mac) die(`network interface 'net${nic.id}' has no mac address`);
    out += `${i}- type: physical\n${i}  name: eth${nic.id}\n${i}  mac_address: '${nic.mac.toLowerCase()}'\n${i}  subnets:\n`;
    const j = `${i}  `;
    if (nic.ip.ip !== undefined) {
      if (nic.ip.ip === "dhcp") out += `${j}- type: dhcp4\n`;
      else {
        const [addr, mask] = splitIp4(nic.ip.ip);
        out += `${j}- type: static\n${j}  address: '${addr}'\n${j}  netmask: '${mask}'\n`;
        if (nic.ip.gw !== undefined) out += `${j}  gateway: '${nic.ip.gw}'\n`;
      }
    }
    if (nic.ip.ip6 !== undefined) {
      if (nic.ip.ip6 === "dhcp") out += `${j}- type: dhcp6\n`;
      else if (nic.ip.ip6 === "auto") out += `${j}- type: ipv6_slaac\n`;
      else {
        out += `${j}- type: static6\n${j}  address: '${nic.ip.ip6}'\n`;
        if (nic.ip.gw6 !== undefined) out += `${j}  gateway: '${nic.ip.gw6}'\n`;
      }
    }
  }
  const dns = dnsConf(host, conf);
  out += `${i}- type: nameserver\n`;
  if (dns.nameservers.length) {
    out += `${i}  address:\n`;
    for (const n of dns.nameservers) out += `${i}  - '${n}'\n`;
  }
  if (dns.search.length) {
    out += `${i}  search:\n`;
    for (const s of dns.search) out += `${i}  - '${s}'\n`;
  }
  return out;
}

export function configdrive2Network(host: LabHost, conf: VmConfig): string {
  let out = "auto lo\niface lo inet loopback\n\n";
  const dns = dnsConf(host, conf);
  if (dns.nameservers.length) out += `        dns_nameservers ${dns.nameservers.join(" ")}\n`;
  if (dns.search.length) out += `        dns_search ${dns.search.join(" ")}\n`;
  for (const nic of configuredNics(conf)) {
    const id = `eth${nic.id}`;
    out += `auto ${id}\n`;
    if (nic.ip.ip) {
      if (nic.ip.ip === "dhcp") out += `iface ${id} inet dhcp\n`;
      else {
        const [addr, mask] = splitIp4(nic.ip.ip);
        out += `iface ${id} inet static\n        address ${addr}\n        netmask ${mask}\n`;
        if (nic.ip.gw) out += `        gateway ${nic.ip.gw}\n`;
      }
    }
    if (nic.ip.ip6) {
      if (nic.ip.ip6 === "auto" || nic.ip.ip6 === "dhcp") out += `iface ${id} inet6 ${nic.ip.ip6}\n`;
      else {
        const [addr, mask] = nic.ip.ip6.split("/");
        out += `iface ${id} inet6 static\n        address ${addr}\n        netmask ${mask}\n`;
        if (nic.ip.gw6) out += `        gateway ${nic.ip.gw6}\n`;
      }
    }
  }
  return out;
}

const sha1 = (s: string) => createHash("sha1").update(s, "utf8").digest("hex");

export function nocloudMeta(user: string, network: string): string {
  return `instance-id: ${sha1(user + network)}\n`;
}

export function configdrive2Meta(user: string, network: string): string {
  return `{\n     "uuid": "${sha1(user + network)}",\n     "network_config": { "content_path": "/content/0000" }\n}\n`;
}

/** `GET …/cloudinit/dump?type=…`: the generated data (cicustom is ignored, as PVE does). */
export function dump(host: LabHost, conf: VmConfig, vmid: number, type: string): string {
  const nocloud = citype(conf) === "nocloud";
  if (type === "user") return userData(conf, vmid, true);
  const network = nocloud ? nocloudNetwork(host, conf) : configdrive2Network(host, conf);
  if (type === "network") return network;
  const user = userData(conf, vmid);
  return nocloud ? nocloudMeta(user, network) : configdrive2Meta(user, network);
}

/** Reads a `cicustom` snippet as the node that starts the VM sees it. */
function readSnippet(host: LabHost, node: string, volid: string): string {
  const id = parseVolid(volid);
  if (!id) die(`unable to parse volume ID '${volid}'`);
  const storage = host.storage(id.storage);
  if (storage.type === "lvm" || storage.type === "lvmthin") die(`unable to parse lvm volume name '${id.volname}'`);
  if (storage.type === "zfspool") die(`unable to parse zfs volume name '${id.volname}'`);
  const file = contentFilePath(host, storage, node, id.volname);
  if (!file || file.type !== "snippets") die(`${volid} is not in the snippets directory`);
  if (!existsSync(file.path)) die(`can't find file '${volid}'`);
  const data = readFileSync(file.path);
  return data.subarray(0, 1024 * 1024).toString("utf8");
}

export interface CloudinitIso {
  label: string;
  files: Record<string, string>;
}

/** What `generate_cloudinit_config` writes into the VM's cloud-init drive at start. */
export function buildIso(host: LabHost, node: string, conf: VmConfig, vmid: number): CloudinitIso {
  const custom = conf.cicustom ? parseCicustom(conf.cicustom) : {};
  const read = (v?: string) => (v ? readSnippet(host, node, v) : undefined);
  const customNetwork = read(custom.network);
  const customUser = read(custom.user);
  const customMeta = read(custom.meta);
  const customVendor = read(custom.vendor);
  const type = citype(conf);
  const user = customUser ?? userData(conf, vmid);
  const vendor = customVendor ?? "";
  if (type === "nocloud") {
    const network = customNetwork ?? nocloudNetwork(host, conf);
    const meta = customMeta ?? nocloudMeta(user, network);
    checkTotal(user, network, meta, vendor);
    return { label: "cidata", files: { "/user-data": user, "/network-config": network, "/meta-data": meta, "/vendor-data": vendor } };
  }
  if (type === "configdrive2") {
    const network = customNetwork ?? configdrive2Network(host, conf);
    const meta = customMeta ?? configdrive2Meta(user, network);
    checkTotal(user, network, meta, vendor);
    return {
      label: "config-2",
      files: { "/openstack/latest/user_data": user, "/openstack/content/0000": network, "/openstack/latest/meta_data.json": meta, "/openstack/latest/vendor_data.json": vendor },
    };
  }
  return die(`missing cloudinit methods for format '${type}'`);
}

function checkTotal(...parts: string[]): void {
  const sum = parts.reduce((n, p) => n + Buffer.byteLength(p), 0);
  if (sum > 3 * 1024 * 1024) die("Cloud-Init sum of snippets too big (> 3 MiB)");
}

/** The config key of the VM's cloud-init drive, if it has one. */
export function cloudinitDriveKey(conf: VmConfig): string | undefined {
  return Object.keys(conf)
    .filter(isDriveKey)
    .find((k) => /(^|[:/])vm-\d+-cloudinit(\.\w+)?$/.test(parseDrive(conf[k]!).file));
}
