/**
 * The NoCloud `network-config` CAPMOX writes: netplan v2 (networkd renderer), one `eth<i>`
 * per NIC matched by MAC, then VRFs. Rendered byte for byte in CAPMOX's shape (its Go template:
 * flow-style route and rule maps with a trailing comma, single-quoted addresses, no trailing
 * newline), after CAPMOX's structural checks (pkg/network/validate.go).
 * @module
 */
import { defaultPrefix, formatAddr, formatPrefix, isUnspecified, parseAddr, parsePrefix, type Addr, type Prefix } from "./ip.ts";
import type { RouteSpec, RoutingPolicySpec } from "./types.ts";

export interface Route {
  to?: Prefix;
  via?: Addr;
  metric?: number;
  table?: number;
}

export interface FibRule {
  to?: Prefix;
  from?: Prefix;
  priority?: number;
  table?: number;
}

export interface EthernetDevice {
  type: "ethernet";
  /** `eth<i>`. */
  name: string;
  /** The Proxmox device (`net0`, …). */
  proxName: string;
  mac: string;
  dhcp4: boolean;
  dhcp6: boolean;
  /** Addresses with their prefix length, as written (`10.0.0.5/24`). */
  addresses: Prefix[];
  routes: Route[];
  rules: FibRule[];
  dns: string[];
  mtu?: number;
}

export interface VrfDevice {
  type: "vrf";
  name: string;
  table: number;
  /** Names of member devices (`eth0`). */
  interfaces: string[];
  routes: Route[];
  rules: FibRule[];
}

export type NetworkDevice = EthernetDevice | VrfDevice;

/** CAPMOX's error texts (pkg/network/errors.go). */
export const NetworkErrors = {
  missingData: "network config data is not set",
  missingGateway: "gateway is not set",
  conflictingMetrics: "route already exists for destination/metric in routing table",
  malformedRoute: "route is malformed",
  malformedRule: "routing policy is malformed",
} as const;

export class NetworkConfigError extends Error {
  override readonly name = "NetworkConfigError";
}

/** A route or rule target: a prefix, a bare address (its /32 or /128), or `default`/`all`. */
function parseTarget(s: string | undefined, is6: boolean | undefined, what: string): Prefix | undefined {
  if (!s) return undefined;
  if (s === "default" || s === "all") return defaultPrefix(is6 ? 6 : 4);
  const p = parsePrefix(s);
  if (p) return p;
  const a = parseAddr(s);
  if (!a) throw new NetworkConfigError(`invalid ${what}: invalid target "${s}"`);
  return { addr: a, bits: a.bytes.length * 8 };
}

/** The family a `default`/`all` target takes: explicit is6, else the first concrete hint's. */
function familyOf(is6: boolean | undefined, ...hints: (string | undefined)[]): boolean | undefined {
  if (is6 !== undefined) return is6;
  for (const h of hints) {
    if (!h || h === "default" || h === "all") continue;
    const a = parsePrefix(h)?.addr ?? parseAddr(h);
    if (a) return a.family === 6;
  }
  return undefined;
}

export function toRoutes(specs: readonly RouteSpec[] | undefined): Route[] {
  return (specs ?? []).map((r) => {
    const to = parseTarget(r.to, familyOf(r.is6, r.via), "route");
    let via: Addr | undefined;
    if (r.via) {
      via = parseAddr(r.via);
      if (!via) throw new NetworkConfigError(`invalid via "${r.via}"`);
    }
    return { to, via, metric: r.metric, table: r.table };
  });
}

export function toFibRules(specs: readonly RoutingPolicySpec[] | undefined): FibRule[] {
  return (specs ?? []).map((r) => {
    const is6 = familyOf(r.is6, r.to, r.from);
    return { to: parseTarget(r.to, is6, "FIB rule"), from: parseTarget(r.from, is6, "FIB rule from"), priority: r.priority, table: r.table };
  });
}

/** CAPMOX's structural checks: some device gives a default gateway, no route collides, rules are well formed. */
export function validateNetwork(devices: readonly NetworkDevice[]): void {
  if (devices.length === 0) throw new NetworkConfigError(NetworkErrors.missingData);
  const seen = new Set<string>();
  let hasGateway = false;
  const vrfOf = new Map<string, VrfDevice>();
  for (const d of devices) if (d.type === "vrf") for (const m of d.interfaces) vrfOf.set(m, d);
  for (const d of devices) {
    const table = d.type === "vrf" ? d.table : vrfOf.get(d.name)?.table;
    for (const r of d.routes) {
      if (!r.to) throw new NetworkConfigError(NetworkErrors.malformedRoute);
      if (r.to.bits === 0 && isUnspecified(r.to.addr)) hasGateway = true;
      const id = `${r.table ?? table ?? 254} ${formatPrefix(r.to)} ${r.metric ?? 0}`;
      if (seen.has(id)) throw new NetworkConfigError(NetworkErrors.conflictingMetrics);
      seen.add(id);
    }
    for (const rule of d.rules) {
      if (!rule.to && !rule.from) throw new NetworkConfigError(NetworkErrors.malformedRule);
      if (!rule.table && d.type !== "vrf") throw new NetworkConfigError(NetworkErrors.malformedRule);
      if (rule.to && rule.from && rule.to.addr.family !== rule.from.addr.family) throw new NetworkConfigError(NetworkErrors.malformedRule);
    }
    if (d.type === "ethernet" && (d.dhcp4 || d.dhcp6)) hasGateway = true;
  }
  if (!hasGateway) throw new NetworkConfigError(NetworkErrors.missingGateway);
}

function quote(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

function routeLines(routes: readonly Route[]): string {
  if (routes.length === 0) return "";
  let out = "\n      routes:";
  for (const r of routes) {
    let item = "";
    if (r.to) item += ` "to": "${formatPrefix(r.to)}", `;
    if (r.via) item += ` "via": "${formatAddr(r.via)}", `;
    if (r.metric !== undefined) item += ` "metric": ${r.metric}, `;
    if (r.table !== undefined) item += ` "table": ${r.table}, `;
    out += `\n        - {${item}}`;
  }
  return out;
}

function ruleLines(rules: readonly FibRule[]): string {
  if (rules.length === 0) return "";
  let out = "\n      routing-policy:";
  for (const r of rules) {
    let item = "";
    if (r.to) item += ` "to": "${formatPrefix(r.to)}", `;
    if (r.from) item += ` "from": "${formatPrefix(r.from)}", `;
    if (r.priority !== undefined) item += ` "priority": ${r.priority}, `;
    if (r.table !== undefined) item += ` "table": ${r.table}, `;
    out += `\n        - {${item}}`;
  }
  return out;
}

function ethernetLines(d: EthernetDevice): string {
  let out = `\n    ${d.name}:\n      match:\n        macaddress: ${d.mac}`;
  out += `\n      dhcp4: ${d.dhcp4}\n      dhcp6: ${d.dhcp6}`;
  if (d.addresses.length) out += `\n      addresses:${d.addresses.map((a) => `\n        - ${quote(formatPrefix(a))}`).join("")}`;
  out += routeLines(d.routes);
  out += ruleLines(d.rules);
  if (d.dns.length) out += `\n      nameservers:\n        addresses:${d.dns.map((s) => `\n          - ${quote(s)}`).join("")}`;
  if (d.mtu) out += `\n      mtu: ${d.mtu}`;
  return out;
}

function vrfLines(d: VrfDevice): string {
  let out = `\n    ${d.name}:\n      table: ${d.table}`;
  out += routeLines(d.routes);
  out += ruleLines(d.rules);
  if (d.interfaces.length) out += `\n      interfaces:${d.interfaces.map((i) => `\n        - ${quote(i)}`).join("")}`;
  return out;
}

/** The network-config file (validated first; throws NetworkConfigError with CAPMOX's text). */
export function renderNetworkConfig(devices: readonly NetworkDevice[]): string {
  validateNetwork(devices);
  let out = "network:\n  version: 2\n  renderer: networkd\n  ethernets:";
  for (const d of devices) if (d.type === "ethernet") out += ethernetLines(d);
  const vrfs = devices.filter((d): d is VrfDevice => d.type === "vrf");
  if (vrfs.length) out += `\n  vrfs:${vrfs.map(vrfLines).join("")}`;
  return out;
}

/** CAPMOX's network-config for Ignition machines (Ignition configures the network itself). */
export const EMPTY_NETWORK_V1 = "version: 1\nconfig: []";
