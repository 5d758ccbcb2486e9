/**
 * Consoles: `POST …/termproxy` (a serial terminal through termproxy; without `serial`, the one
 * `vga: serialN` points at, else `qm terminal`'s own choice) and `GET …/vncwebsocket`, which
 * checks the ticket and the VM — the websocket upgrade itself is pveproxy's (see https.ts).
 * @module
 */
import type { Handler } from "../router.ts";

const termproxy: Handler = (host, req) => {
  const node = req.params.node as string;
  const vmid = req.params.vmid as number;
  const vm = host.loadVm(node, vmid);
  let serial = req.params.serial as string | undefined;
  if (serial === undefined && /^serial\d+$/.test(vm.config.vga ?? "")) serial = vm.config.vga;
  const port = host.terminals.listen({ node, vmid, user: req.user, ...(serial ? { iface: serial } : {}) });
  const upid = host.tasks.fork({ node, type: "vncproxy", id: String(vmid), user: req.user, worker: "termproxy", data: { port } });
  return { user: req.user, ticket: host.terminals.ticket(req.user, `/vms/${vmid}`), port, upid };
};

const vncwebsocket: Handler = (host, req) => {
  const vmid = req.params.vmid as number;
  host.terminals.verifyTicket(req.params.vncticket as string, req.user, `/vms/${vmid}`);
  host.loadVm(req.params.node as string, vmid);
  return { port: String(req.params.port) };
};

export const consoleHandlers = {
  "POST /nodes/{node}/qemu/{vmid}/termproxy": termproxy,
  "GET /nodes/{node}/qemu/{vmid}/vncwebsocket": vncwebsocket,
} as const;
