/**
 * Task endpoints. `{node}` must be the UPID's own node (another node answers `no such task`); a
 * string that is not a UPID gets `unable to parse worker upid`. Status splits a token's user and
 * tokenid; the log ends with `TASK OK` / `TASK ERROR: …` / `TASK WARNINGS: n` and carries `total`.
 * @module
 */
import { paramError } from "../errors.ts";
import type { LabHost } from "../host.ts";
import { WithExtra, type Handler } from "../router.ts";
import type { TaskRecord } from "../state.ts";

const UPID_RE = /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

function findTask(host: LabHost, node: string, upid: string): TaskRecord {
  const m = UPID_RE.exec(upid);
  if (!m) paramError({ upid: `unable to parse worker upid '${upid}'` });
  const t = host.tasks.get(upid);
  if (!t || m[1] !== node || t.node !== node) paramError({ upid: "no such task" });
  return t;
}

function summary(t: TaskRecord): Record<string, unknown> {
  return {
    upid: t.upid,
    node: t.node,
    pid: t.pid,
    pstart: t.pstart,
    starttime: t.starttime,
    type: t.type,
    id: t.id,
    user: t.tokenid ? `${t.user}!${t.tokenid}` : t.user,
    ...(t.status === "stopped" ? { status: t.exitstatus, endtime: t.endtime } : {}),
  };
}

const list: Handler = (host, req) => {
  const p = req.params;
  const node = p.node as string;
  const source = (p.source as string | undefined) ?? "archive";
  let tasks = Object.values(host.plain.tasks).filter((t) => t.node === node);
  if (source === "archive") tasks = tasks.filter((t) => t.status === "stopped");
  if (source === "active") tasks = tasks.filter((t) => t.status === "running");
  if (p.vmid !== undefined) tasks = tasks.filter((t) => t.id === String(p.vmid));
  if (p.typefilter) tasks = tasks.filter((t) => t.type === p.typefilter);
  if (p.userfilter) tasks = tasks.filter((t) => `${t.user}${t.tokenid ? `!${t.tokenid}` : ""}`.includes(String(p.userfilter)));
  if (p.errors === 1) tasks = tasks.filter((t) => t.status === "stopped" && t.exitstatus !== "OK");
  if (p.since !== undefined) tasks = tasks.filter((t) => t.starttime >= (p.since as number));
  if (p.until !== undefined) tasks = tasks.filter((t) => t.starttime <= (p.until as number));
  if (p.statusfilter) {
    const wanted = String(p.statusfilter).split(/[,;\s]+/);
    tasks = tasks.filter((t) => {
      const kind = t.status === "running" ? "running" : t.exitstatus === "OK" ? "ok" : /^WARNINGS/.test(t.exitstatus ?? "") ? "warning" : "error";
      return wanted.includes(kind);
    });
  }
  tasks.sort((a, b) => b.starttime - a.starttime || b.pid - a.pid);
  const start = (p.start as number | undefined) ?? 0;
  const limit = (p.limit as number | undefined) ?? 50;
  return new WithExtra(tasks.slice(start, start + limit).map(summary), { total: tasks.length });
};

const status: Handler = (host, req) => {
  const t = findTask(host, req.params.node as string, req.params.upid as string);
  return {
    upid: t.upid,
    node: t.node,
    pid: t.pid,
    pstart: t.pstart,
    starttime: t.starttime,
    type: t.type,
    id: t.id,
    user: t.user,
    ...(t.tokenid ? { tokenid: t.tokenid } : {}),
    status: t.status,
    ...(t.status === "stopped" ? { exitstatus: t.exitstatus } : {}),
  };
};

const log: Handler = (host, req) => {
  const t = findTask(host, req.params.node as string, req.params.upid as string);
  const start = (req.params.start as number | undefined) ?? 0;
  const limit = (req.params.limit as number | undefined) ?? 50;
  const lines = t.log.map((text, i) => ({ n: i + 1, t: text }));
  const page = limit === 0 ? lines.slice(start) : lines.slice(start, start + limit);
  return new WithExtra(page, { total: lines.length });
};

const index: Handler = (host, req) => {
  findTask(host, req.params.node as string, req.params.upid as string);
  return [{ name: "log" }, { name: "status" }];
};

const kill: Handler = (host, req) => {
  const t = findTask(host, req.params.node as string, req.params.upid as string);
  host.tasks.kill(t.upid);
  return null;
};

export const taskHandlers = {
  "GET /nodes/{node}/tasks": list,
  "GET /nodes/{node}/tasks/{upid}": index,
  "DELETE /nodes/{node}/tasks/{upid}": kill,
  "GET /nodes/{node}/tasks/{upid}/log": log,
  "GET /nodes/{node}/tasks/{upid}/status": status,
} satisfies Record<string, Handler>;
