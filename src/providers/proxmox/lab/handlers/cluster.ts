/**
 * Cluster-wide endpoints: version, nodes, cluster status, resources (VM data lagging as pvestatd's
 * RRD does; lock and tags live), the non-atomic nextid, pools, and node status.
 * @module
 */
import { paramError, die } from "../errors.ts";
import type { LabHost } from "../host.ts";
import { storageNodes } from "../inventory.ts";
import type { Handler } from "../router.ts";
import type { VmRecord } from "../state.ts";
import { usedBytes } from "../volumes.ts";

const MiB = 1024 * 1024;
/** What the host itself uses besides its VMs. */
const HOST_OVERHEAD = 2048 * MiB;

function nodeUsage(host: LabHost, node: string) {
  const spec = host.inv.nodes.find((n) => n.name === node)!;
  const running = Object.values(host.plain.vms).filter((v) => v.node === node && v.status === "running");
  // from the per-VM stats (parsed once per change of a VM), not each config again
  const mem = HOST_OVERHEAD + running.reduce((n, v) => n + host.statOf(v).maxmem, 0);
  const cores = running.reduce((n, v) => n + host.statOf(v).maxcpu, 0);
  return {
    maxmem: spec.memory * MiB,
    mem: Math.min(mem, spec.memory * MiB),
    maxcpu: spec.cpus,
    cpu: Math.min(1, 0.01 + cores * 0.005),
    uptime: Math.floor((host.now() - (host.state.nodeBoot[node] ?? host.now())) / 1000),
  };
}

const version: Handler = () => ({ release: "9.1", repoid: "5e2c0f0b", version: "9.1.3" });

const nodes: Handler = (host) =>
  host.inv.nodes.map((n) => {
    const u = nodeUsage(host, n.name);
    return { id: `node/${n.name}`, type: "node", node: n.name, status: "online", level: "", ...u, disk: 8 * 1024 ** 3, maxdisk: 100 * 1024 ** 3, ssl_fingerprint: "" };
  });

const clusterStatus: Handler = (host) => [
  { type: "cluster", id: "cluster", name: "lab", nodes: host.inv.nodes.length, quorate: 1, version: host.inv.nodes.length + 1 },
  ...host.inv.nodes.map((n, i) => ({ type: "node", id: `node/${n.name}`, name: n.name, nodeid: i + 1, online: 1, local: i === 0 ? 1 : 0, ip: n.address ?? `10.10.0.${2 + i}`, level: "" })),
];

function vmResource(host: LabHost, vm: VmRecord): Record<string, unknown> {
  const base: Record<string, unknown> = { id: `qemu/${vm.vmid}`, type: "qemu", vmid: vm.vmid, node: vm.node };
  const s = host.laggedStat(vm);
  const out: Record<string, unknown> = s
    ? {
        ...base,
        status: s.status,
        ...(s.name !== undefined ? { name: s.name } : {}),
        template: s.template,
        maxmem: s.maxmem,
        maxcpu: s.maxcpu,
        maxdisk: s.maxdisk,
        mem: s.status === "running" ? Math.floor(s.maxmem * 0.4) : 0,
        cpu: s.status === "running" ? 0.02 : 0,
        disk: 0,
        diskread: 0,
        diskwrite: 0,
        netin: 0,
        netout: 0,
        uptime: s.startedAt ? Math.floor((host.now() - s.startedAt) / 1000) : 0,
      }
    : { ...base, status: "unknown" };
  // lock and tags are read from the config, not from the RRD data
  if (vm.config.lock) out.lock = vm.config.lock;
  if (vm.config.tags) out.tags = vm.config.tags;
  const pool = Object.entries(host.plain.pools).find(([, p]) => p.members.includes(vm.vmid));
  if (pool) out.pool = pool[0];
  return out;
}

const resources: Handler = (host, req) => {
  const type = req.params.type as string | undefined;
  const out: Record<string, unknown>[] = [];
  if (!type || type === "vm") for (const vm of Object.values(host.plain.vms).sort((a, b) => a.vmid - b.vmid)) out.push(vmResource(host, vm));
  if (!type || type === "node") {
    for (const n of host.inv.nodes) out.push({ id: `node/${n.name}`, type: "node", node: n.name, status: "online", level: "", "cgroup-mode": 2, ...nodeUsage(host, n.name), disk: 8 * 1024 ** 3, maxdisk: 100 * 1024 ** 3 });
  }
  if (!type || type === "storage") {
    for (const s of host.inv.storages) {
      for (const node of storageNodes(host.inv, s)) {
        out.push({ id: `storage/${node}/${s.id}`, type: "storage", storage: s.id, node, status: "available", plugintype: s.type, content: s.content.join(","), shared: s.shared ? 1 : 0, disk: usedBytes(host, s, node), maxdisk: s.size });
      }
    }
  }
  if (!type || type === "sdn") for (const n of host.inv.nodes) out.push({ id: `sdn/${n.name}/localnetwork`, type: "sdn", sdn: "localnetwork", node: n.name, status: "ok" });
  return out;
};

/** Not atomic, as on PVE: two callers before the first clone get the same id. */
const nextid: Handler = (host, req) => {
  const wanted = req.params.vmid as number | undefined;
  if (wanted !== undefined) {
    if (host.vm(wanted)) paramError({ vmid: `VM ${wanted} already exists` });
    return String(wanted);
  }
  for (let id = 100; id < 1000000; id++) if (!host.plain.vms[String(id)]) return String(id);
  return die("unable to get any free VMID in range [100, 999999]");
};

const pools: Handler = (host) => Object.entries(host.state.pools).map(([poolid, p]) => ({ poolid, ...(p.comment ? { comment: p.comment } : {}) }));

const createPool: Handler = (host, req) => {
  const poolid = req.params.poolid as string;
  if (host.state.pools[poolid]) die(`pool '${poolid}' already exists`);
  host.state.pools[poolid] = { ...(req.params.comment ? { comment: String(req.params.comment) } : {}), members: [] };
  host.changed();
  return null;
};

const nodeStatus: Handler = (host, req) => {
  const node = req.params.node as string;
  const u = nodeUsage(host, node);
  return {
    memory: { total: u.maxmem, used: u.mem, free: u.maxmem - u.mem, available: u.maxmem - u.mem },
    swap: { total: 8 * 1024 ** 3, used: 0, free: 8 * 1024 ** 3 },
    cpuinfo: { cpus: u.maxcpu, sockets: 1, cores: u.maxcpu, model: "Lab Virtual CPU", mhz: "2999.998", hvm: "1", flags: "" },
    cpu: u.cpu,
    wait: 0,
    idle: 0,
    loadavg: ["0.12", "0.10", "0.05"],
    uptime: u.uptime,
    kversion: "Linux 6.14.8-2-pve #1 SMP PREEMPT_DYNAMIC PMX 6.14.8-2 (lab)",
    pveversion: "pve-manager/9.1.3/5e2c0f0b",
    rootfs: { total: 100 * 1024 ** 3, used: 8 * 1024 ** 3, free: 92 * 1024 ** 3, avail: 92 * 1024 ** 3 },
  };
};

export const clusterHandlers = {
  "GET /version": version,
  "GET /nodes": nodes,
  "GET /cluster/status": clusterStatus,
  "GET /cluster/resources": resources,
  "GET /cluster/nextid": nextid,
  "GET /pools": pools,
  "POST /pools": createPool,
  "GET /nodes/{node}/status": nodeStatus,
} as const;
