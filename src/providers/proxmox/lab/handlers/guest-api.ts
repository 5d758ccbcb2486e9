/**
 * Guest agent and cloud-init endpoints: `agent/*` (errors until the guest's agent is up),
 * `cloudinit` (values used for the last ISO vs current), `PUT cloudinit` (rebuild the ISO now),
 * `cloudinit/dump`.
 * @module
 */
import { dump } from "../cloudinit.ts";
import { die } from "../errors.ts";
import { assertAgent, execStatus, guestHostname, networkInterfaces, startExec } from "../guest.ts";
import type { Handler } from "../router.ts";
import { isCloudinitOption, regenerateCloudinit } from "./power.ts";

const AGENT_COMMANDS = ["exec", "exec-status", "file-read", "file-write", "fsfreeze-freeze", "fsfreeze-status", "fsfreeze-thaw", "fstrim", "get-fsinfo", "get-host-name", "get-memory-block-info", "get-memory-blocks", "get-osinfo", "get-time", "get-timezone", "get-users", "get-vcpus", "info", "network-get-interfaces", "ping", "set-user-password", "shutdown", "suspend-disk", "suspend-hybrid", "suspend-ram"];

const vmOf = (host: Parameters<Handler>[0], req: Parameters<Handler>[1]) => host.loadVm(req.params.node as string, req.params.vmid as number);

function agentCommand(host: Parameters<Handler>[0], req: Parameters<Handler>[1], command: string): unknown {
  const vm = vmOf(host, req);
  const boot = assertAgent(host, vm);
  switch (command) {
    case "ping":
      return { result: {} };
    case "network-get-interfaces":
      return { result: networkInterfaces(host, vm) };
    case "get-host-name":
      return { result: { "host-name": guestHostname(vm) } };
    case "get-osinfo": {
      const os = boot.guest?.os ?? "linux";
      return { result: { id: os, name: os === "ubuntu" ? "Ubuntu" : os === "talos" ? "Talos" : os, "pretty-name": os === "ubuntu" ? "Ubuntu 24.04 LTS" : os, "kernel-release": "6.8.0", machine: "x86_64" } };
    }
    case "info":
      return { result: { version: "8.2.2", supported_commands: ["guest-ping", "guest-exec", "guest-exec-status", "guest-get-host-name", "guest-get-osinfo", "guest-info", "guest-network-get-interfaces"].map((name) => ({ name, enabled: true, "success-response": true })) } };
    default:
      return die(`Agent error: The command guest-${command} has not been found`);
  }
}

const agentIndex: Handler = () => AGENT_COMMANDS.map((name) => ({ name }));

const exec: Handler = (host, req) => {
  const vm = vmOf(host, req);
  // program + arguments as given: a single "cloud-init status" is one (missing) program name
  return { pid: startExec(host, vm, (req.params.command as string[] | undefined) ?? []) };
};

/** Cloud-init options: the value used for the last ISO, and what changed since (`pending`/`delete`). */
const getCloudinit: Handler = (host, req) => {
  const vm = vmOf(host, req);
  const current = Object.fromEntries(Object.entries(vm.config).filter(([k]) => isCloudinitOption(k)));
  const applied = vm.ciApplied ?? current;
  const mask = (k: string, v: string) => (k === "cipassword" ? "**********" : v);
  return [...new Set([...Object.keys(applied), ...Object.keys(current)])].sort().map((key) => {
    const entry: Record<string, unknown> = { key };
    const old = applied[key];
    const cur = current[key];
    if (old !== undefined) entry.value = mask(key, old);
    if (cur !== old) {
      if (cur === undefined) entry.delete = 1;
      else entry.pending = mask(key, cur);
    }
    return entry;
  });
};

const putCloudinit: Handler = (host, req) => {
  const vm = vmOf(host, req);
  regenerateCloudinit({ host, log: () => {} }, vm);
  host.changed();
  return null;
};

const cloudinitDump: Handler = (host, req) => {
  const vm = vmOf(host, req);
  return dump(host, vm.config, vm.vmid, String(req.params.type));
};

export const guestHandlers = {
  "GET /nodes/{node}/qemu/{vmid}/agent": agentIndex,
  "POST /nodes/{node}/qemu/{vmid}/agent": (host, req) => agentCommand(host, req, String(req.params.command)),
  "POST /nodes/{node}/qemu/{vmid}/agent/ping": (host, req) => agentCommand(host, req, "ping"),
  "GET /nodes/{node}/qemu/{vmid}/agent/info": (host, req) => agentCommand(host, req, "info"),
  "GET /nodes/{node}/qemu/{vmid}/agent/get-host-name": (host, req) => agentCommand(host, req, "get-host-name"),
  "GET /nodes/{node}/qemu/{vmid}/agent/get-osinfo": (host, req) => agentCommand(host, req, "get-osinfo"),
  "GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces": (host, req) => agentCommand(host, req, "network-get-interfaces"),
  "POST /nodes/{node}/qemu/{vmid}/agent/exec": exec,
  "GET /nodes/{node}/qemu/{vmid}/agent/exec-status": (host, req) => execStatus(host, vmOf(host, req), req.params.pid as number),
  "GET /nodes/{node}/qemu/{vmid}/cloudinit": getCloudinit,
  "PUT /nodes/{node}/qemu/{vmid}/cloudinit": putCloudinit,
  "GET /nodes/{node}/qemu/{vmid}/cloudinit/dump": cloudinitDump,
} satisfies Record<string, Handler>;
