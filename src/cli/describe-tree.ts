/**
 * The object tree behind `describe cluster`, built and printed as clusterctl 1.14 does
 * (cmd/clusterctl/client/tree + internal/util/tree): machines of a grouping parent merge into
 * "N Machines..." when their Available/Ready/UpToDate status and reason match (v1beta1 mode: the
 * Ready condition's status, severity and reason); a machine's infrastructure and bootstrap objects
 * are hidden when Ready or an echo of the machine (unless `echo`); `showConditions` lists every
 * condition of the matching kinds (`all`, `Kind`, `Kind/name`, a `+` suffix for non-zero only).
 * @module
 */
import type { KObject } from "../lib/kobject.ts";
import { humanDuration } from "../registry/table/age.ts";

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  severity?: string;
  lastTransitionTime?: string;
}

export type ConditionFilter = "none" | "all" | "nonzero";

export interface TreeOptions {
  /** The READY/SEVERITY/REASON/SINCE/MESSAGE columns of the deprecated v1beta1 conditions. */
  v1beta1: boolean;
  grouping: boolean;
  echo: boolean;
  /** Comma-separated `all`, `Kind` or `Kind/name`, each with an optional `+` (non-zero conditions only). */
  showConditions: string;
}

export interface TreeNode {
  id: string;
  kind: string;
  namespace: string;
  name: string;
  /** The object itself; absent for virtual nodes (Workers, groups). */
  obj?: KObject;
  metaName?: string;
  conditions: Condition[];
  v1beta1Conditions: Condition[];
  /** The object follows the Cluster API control plane contract. */
  controlPlane: boolean;
  group?: { items: string[]; available: number; ready: number; upToDate: number };
  showConditions: ConditionFilter;
  groupsChildren: boolean;
  children: TreeNode[];
}

const CAPI_GROUP = "cluster.x-k8s.io";
export const NON_ZERO_SUFFIX = "+";

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Rec) : {});
const conds = (v: unknown): Condition[] => (Array.isArray(v) ? (v as Condition[]).filter((c) => typeof c?.type === "string") : []);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

function isCapiKind(obj: KObject): boolean {
  return (obj.apiVersion ?? "").split("/")[0] === CAPI_GROUP;
}

export function objectNode(obj: KObject, opts: { controlPlane?: boolean } = {}): TreeNode {
  const status = rec(obj.status);
  const capi = isCapiKind(obj);
  // Core kinds keep v1beta1 conditions under status.deprecated; providers on the v1beta1 contract
  // have them in status.conditions and their new ones in status.v1beta2.
  const conditions = capi ? conds(status.conditions) : conds(rec(status.v1beta2).conditions ?? status.conditions);
  const v1beta1Conditions = capi ? conds(rec(rec(status.deprecated).v1beta1).conditions) : conds(status.conditions);
  const ns = obj.metadata.namespace ?? "";
  const name = obj.metadata.name ?? "";
  return {
    id: obj.metadata.uid ?? `${obj.kind}/${ns}/${name}`,
    kind: obj.kind ?? "",
    namespace: ns,
    name,
    obj,
    conditions,
    v1beta1Conditions,
    controlPlane: opts.controlPlane ?? false,
    showConditions: "none",
    groupsChildren: false,
    children: [],
  };
}

export function virtualNode(namespace: string, kind: string, name: string): TreeNode {
  return { id: `virtual/${kind}/${namespace}/${name}`, kind, namespace, name, conditions: [], v1beta1Conditions: [], controlPlane: false, showConditions: "none", groupsChildren: false, children: [] };
}

const find = (cs: Condition[], type: string) => cs.find((c) => c.type === type);

function upToDateOf(n: TreeNode): Condition | undefined {
  // clusterctl reads UpToDate only from the core kinds and its own group nodes.
  return n.group || (n.obj && isCapiKind(n.obj)) ? find(n.conditions, "UpToDate") : undefined;
}

function sameStatusReason(a: Condition | undefined, b: Condition | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.status === b.status && a.reason === b.reason;
}

function sameStatusSeverityReason(a: Condition | undefined, b: Condition | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.status === b.status && (a.severity ?? "") === (b.severity ?? "") && (a.reason ?? "") === (b.reason ?? "");
}

function earliest(a: Condition | undefined, b: Condition | undefined): string | undefined {
  const ta = a?.lastTransitionTime;
  const tb = b?.lastTransitionTime;
  if (!ta || !tb) return ta ?? tb;
  return Date.parse(ta) <= Date.parse(tb) ? ta : tb;
}

export function conditionFilter(kind: string, name: string, spec: string): ConditionFilter {
  for (const filter of spec.split(",")) {
    if (filter === "") continue;
    const nonZero = filter.endsWith(NON_ZERO_SUFFIX);
    const bare = nonZero ? filter.slice(0, -1) : filter;
    const hit: ConditionFilter = nonZero ? "nonzero" : "all";
    if (bare.toLowerCase() === "all") return hit;
    const [k, n, extra] = bare.split("/");
    if (extra !== undefined) continue;
    if (k!.toLowerCase() !== kind.toLowerCase()) continue;
    if (n === undefined || n.toLowerCase() === name.toLowerCase()) return hit;
  }
  return "none";
}

export class ObjectTree {
  constructor(
    readonly root: TreeNode,
    readonly options: TreeOptions,
  ) {
    root.showConditions = conditionFilter(root.kind, root.name, options.showConditions);
  }

  /** Adds `node` under `parent`; `visible` is false when it was hidden as an echo or merged into a group. */
  add(parent: TreeNode, node: TreeNode, opts: { metaName?: string; noEcho?: boolean; grouping?: boolean } = {}): { added: boolean; visible: boolean } {
    const v1 = this.options.v1beta1;
    node.showConditions = conditionFilter(node.kind, node.name, this.options.showConditions);
    if (opts.noEcho && !this.options.echo) {
      if (v1) {
        const ready = find(node.v1beta1Conditions, "Ready");
        if (ready?.status === "True" || sameStatusSeverityReason(find(parent.v1beta1Conditions, "Ready"), ready)) return { added: false, visible: false };
      } else {
        const ready = find(node.conditions, "Ready");
        if (ready?.status === "True" || sameStatusReason(find(parent.conditions, "Ready"), ready)) return { added: false, visible: false };
      }
    }
    if (opts.metaName) node.metaName = opts.metaName;

    if (parent.groupsChildren) {
      const siblings = [...parent.children].sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
      for (const s of siblings) {
        const same = v1
          ? sameStatusSeverityReason(find(node.v1beta1Conditions, "Ready"), find(s.v1beta1Conditions, "Ready"))
          : sameStatusReason(find(node.conditions, "Available"), find(s.conditions, "Available")) &&
            sameStatusReason(find(node.conditions, "Ready"), find(s.conditions, "Ready")) &&
            sameStatusReason(upToDateOf(node), upToDateOf(s));
        if (!same) continue;
        if (s.group) {
          if (s.kind !== `${node.kind}Group`) continue;
          this.joinGroup(s, node);
          return { added: true, visible: false };
        }
        if (s.kind !== node.kind) continue;
        const group = this.newGroup(s, node);
        parent.children = parent.children.filter((c) => c !== s);
        parent.children.push(group);
        return { added: true, visible: false };
      }
    }

    if (opts.grouping && this.options.grouping) node.groupsChildren = true;
    parent.children.push(node);
    return { added: true, visible: true };
  }

  private newGroup(sibling: TreeNode, node: TreeNode): TreeNode {
    const group = virtualNode(node.namespace, `${node.kind}Group`, `group-${sibling.name}`);
    group.group = { items: [node.name, sibling.name].sort(), available: 0, ready: 0, upToDate: 0 };
    const summary = (c: Condition | undefined, since: string | undefined): Condition[] => (c ? [{ ...c, message: "", lastTransitionTime: since }] : []);
    if (this.options.v1beta1) {
      const ready = find(node.v1beta1Conditions, "Ready");
      group.v1beta1Conditions = summary(ready, earliest(ready, find(sibling.v1beta1Conditions, "Ready")));
      return group;
    }
    const available = find(node.conditions, "Available");
    const ready = find(node.conditions, "Ready");
    const upToDate = upToDateOf(node);
    group.conditions = [...summary(available, undefined), ...summary(ready, earliest(ready, find(sibling.conditions, "Ready"))), ...summary(upToDate, undefined)];
    // Both members have the same conditions, so each counter starts at 2 or 0.
    group.group.available = available?.status === "True" ? 2 : 0;
    group.group.ready = ready?.status === "True" ? 2 : 0;
    group.group.upToDate = upToDate?.status === "True" ? 2 : 0;
    return group;
  }

  private joinGroup(group: TreeNode, node: TreeNode): void {
    const g = group.group!;
    g.items = [...g.items, node.name].sort();
    const list = this.options.v1beta1 ? group.v1beta1Conditions : group.conditions;
    const own = find(this.options.v1beta1 ? node.v1beta1Conditions : node.conditions, "Ready");
    const ready = find(list, "Ready");
    if (ready) ready.lastTransitionTime = earliest(own, ready);
    if (this.options.v1beta1) return;
    if (find(node.conditions, "Available")?.status === "True") g.available++;
    if (own?.status === "True") g.ready++;
    if (upToDateOf(node)?.status === "True") g.upToDate++;
  }
}

// ---- printing ----

const FIRST = "├─";
const LAST = "└─";
const PIPE = "│ ";
const INDENT = "  ";
const NEGATIVE_POLARITY = new Set(["Paused", "Deleting", "RollingOut", "ScalingUp", "ScalingDown", "Updating", "Remediating"]);

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** How clusterctl names a row: `Kind namespace/name[, version]`, `N Machines...` for a group, the meta name of a virtual node. */
export function rowName(n: TreeNode): string {
  if (n.group) return `${n.group.items.length} ${n.kind.replace(/Group$/, "")}s...`;
  if (!n.obj) return n.metaName ?? n.name;
  let name = `${n.kind} ${n.namespace ? `${n.namespace}/` : ""}${n.name}`;
  const spec = rec(n.obj.spec);
  let version = "";
  if (n.kind === "Cluster" && isCapiKind(n.obj)) version = str(rec(spec.topology).version);
  else if (n.controlPlane || n.kind === "Machine") version = str(spec.version);
  else if (["MachineDeployment", "MachineSet", "MachinePool"].includes(n.kind)) version = str(rec(rec(spec.template).spec).version);
  if (version) name += `, ${version}`;
  if (n.obj.metadata.deletionTimestamp) name = `!! DELETED !! ${name}`;
  return name;
}

function age(c: Condition, now: number): string {
  const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return Number.isNaN(t) ? "" : humanDuration(now - t);
}

/** clusterctl's formatParagraph: words wrapped under `maxWidth`, line breaks and indentation kept. */
export function formatParagraph(text: string, maxWidth: number): string {
  const lines: string[] = [];
  for (const l of text.split("\n")) {
    let tmp = /^ */.exec(l)![0];
    const indent = tmp + (l.trim().startsWith("* ") ? "  " : "");
    for (const w of l.split(/\s+/)) {
      if (tmp.length + w.length < maxWidth) {
        if (tmp.trim() !== "") tmp += " ";
        tmp += w;
        continue;
      }
      lines.push(tmp);
      tmp = indent + w;
    }
    lines.push(tmp);
  }
  return lines.join("\n");
}

function isZero(c: Condition, positive: boolean): boolean {
  if (c.status === "Unknown") return false;
  if (c.status === "False" && positive) return false;
  if (c.status === "True" && !positive) return false;
  return !c.message;
}

interface Row {
  replicas: string;
  available: string;
  ready: string;
  upToDate: string;
  status: string;
  reason: string;
  age: string;
  message: string;
}

function describeRow(n: TreeNode, now: number): Row {
  const row: Row = { replicas: "", available: "", ready: "", upToDate: "", status: "", reason: "", age: "", message: "" };
  const show = (c: Condition | undefined) => {
    if (!c) return;
    row.status = c.status;
    row.reason = c.reason ?? "";
    row.age = age(c, now);
    row.message = formatParagraph(c.message ?? "", 100);
  };
  const status = rec(n.obj?.status);
  const spec = rec(n.obj?.spec);
  const count = (v: number | undefined) => (v === undefined ? "" : String(v));
  const capi = n.obj !== undefined && isCapiKind(n.obj);
  if (n.group) {
    row.available = String(n.group.available);
    row.ready = String(n.group.ready);
    row.upToDate = String(n.group.upToDate);
    show(find(n.conditions, "Ready"));
  } else if (!n.obj) {
    show(find(n.conditions, "Ready"));
  } else if (capi && n.kind === "Cluster") {
    const cp = rec(status.controlPlane);
    const w = rec(status.workers);
    const sum = (f: string) => (num(cp[f]) === undefined && num(w[f]) === undefined ? undefined : (num(cp[f]) ?? 0) + (num(w[f]) ?? 0));
    if (sum("desiredReplicas") !== undefined || sum("replicas") !== undefined) row.replicas = `${sum("replicas") ?? 0}/${sum("desiredReplicas") ?? 0}`;
    row.available = count(sum("availableReplicas"));
    row.ready = count(sum("readyReplicas"));
    row.upToDate = count(sum("upToDateReplicas"));
    show(find(n.conditions, "Available"));
  } else if (capi && (n.kind === "MachineDeployment" || n.kind === "MachineSet")) {
    if (num(spec.replicas) !== undefined) row.replicas = `${num(status.replicas) ?? 0}/${num(spec.replicas)}`;
    row.available = count(num(status.availableReplicas));
    row.ready = count(num(status.readyReplicas));
    row.upToDate = count(num(status.upToDateReplicas));
    if (n.kind === "MachineDeployment") show(find(n.conditions, "Available"));
  } else if (capi && n.kind === "Machine") {
    const isTrue = (t: string) => (find(n.conditions, t)?.status === "True" ? "1" : "0");
    row.replicas = "1";
    row.available = isTrue("Available");
    row.ready = isTrue("Ready");
    row.upToDate = isTrue("UpToDate");
    show(find(n.conditions, "Ready"));
  } else {
    show(find(n.conditions, "Ready"));
    if (n.controlPlane) {
      show(find(n.conditions, "Available"));
      if (num(status.replicas) !== undefined && num(spec.replicas) !== undefined) row.replicas = `${num(status.replicas)}/${num(spec.replicas)}`;
      row.available = count(num(status.availableReplicas));
      row.ready = count(num(status.readyReplicas));
      // Control planes on the v1beta1 contract report updatedReplicas.
      row.upToDate = count(num(status.upToDateReplicas) ?? num(status.updatedReplicas));
    }
  }
  return row;
}

function groupMessage(n: TreeNode): string {
  const items = n.group!.items;
  return items.length <= 2 ? `See ${items.join(", ")}` : `See ${items.slice(0, 2).join(", ")}, ...`;
}

function ordered(children: TreeNode[]): TreeNode[] {
  return [...children].sort((a, b) => {
    const ra = rowName(a);
    const rb = rowName(b);
    return ra < rb ? -1 : ra > rb ? 1 : 0;
  });
}

export function childPrefix(current: string, index: number, count: number): string {
  const carried = current.replaceAll(FIRST, PIPE).replaceAll(LAST, INDENT);
  return carried + (index < count - 1 ? FIRST : LAST);
}

function multilineConditionPrefix(current: string): string {
  if (current.endsWith(FIRST)) return current.slice(0, -FIRST.length) + PIPE;
  if (current.endsWith(LAST)) return current.slice(0, -LAST.length);
  return "?";
}

/** Lays out rows as clusterctl's table: left-aligned columns, no borders, trailing blanks trimmed. */
export function renderTable(rows: string[][]): string {
  const width = (s: string) => [...s].length;
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))));
  return rows.map((r) => r.map((cell, i) => cell + " ".repeat(widths[i]! - width(cell))).join("  ").trimEnd()).join("\n") + "\n";
}

export function printTree(tree: ObjectTree, now: number = Date.now()): string {
  return tree.options.v1beta1 ? printV1Beta1(tree, now) : printV1Beta2(tree, now);
}

function printV1Beta2(tree: ObjectTree, now: number): string {
  const rows: string[][] = [["NAME", "REPLICAS", "AVAILABLE", "READY", "UP TO DATE", "STATUS", "REASON", "SINCE", "MESSAGE"]];
  const parents = new Map<TreeNode, TreeNode>();
  const walk = (n: TreeNode, out: TreeNode[]): TreeNode[] => {
    out.push(n);
    for (const c of ordered(n.children)) {
      parents.set(c, n);
      walk(c, out);
    }
    return out;
  };
  const last = walk(tree.root, []).at(-1);
  const blank = (message: string, prefix: string) => [prefix, "", "", "", "", "", "", "", message];

  // The prefix of a message's continuation lines: a pipe wherever a sibling or child row still follows.
  const continuation = (n: TreeNode): string => {
    if (n === last) return "";
    let prefix = n.children.length > 0 ? PIPE : "";
    let child = n;
    for (let p = parents.get(n); p; child = p, p = parents.get(p)) {
      const siblings = ordered(p.children);
      prefix = (siblings.at(-1) === child ? INDENT : PIPE) + prefix;
    }
    return prefix;
  };

  const add = (prefix: string, n: TreeNode) => {
    const row = describeRow(n, now);
    if (n.group) row.message = groupMessage(n);
    if (n.showConditions !== "none") row.status = row.reason = row.age = row.message = "";
    const [first = "", ...more] = row.message.split("\n");
    rows.push([prefix + rowName(n), row.replicas, row.available, row.ready, row.upToDate, row.status, row.reason, row.age, first]);
    for (const m of more) rows.push(blank(m, continuation(n)));

    if (n.showConditions !== "none") {
      const shown = n.conditions.filter(
        (c) => n.showConditions === "all" || c.type === "Available" || c.type === "Ready" || !isZero(c, !NEGATIVE_POLARITY.has(c.type)),
      );
      const base = prefix + (n.children.length > 0 ? PIPE : INDENT) + " ".repeat(10);
      shown.forEach((c, i) => {
        const cp = childPrefix(base, i, shown.length);
        const [m0 = "", ...rest] = formatParagraph(c.message ?? "", 100).split("\n");
        rows.push([cp + c.type, "", "", "", "", c.status, c.reason ?? "", age(c, now), m0]);
        for (const m of rest) rows.push(blank(m, multilineConditionPrefix(cp)));
      });
    }
    const kids = ordered(n.children);
    kids.forEach((c, i) => add(childPrefix(prefix, i, kids.length), c));
  };
  add("", tree.root);
  return renderTable(rows);
}

function printV1Beta1(tree: ObjectTree, now: number): string {
  const rows: string[][] = [["NAME", "READY", "SEVERITY", "REASON", "SINCE", "MESSAGE"]];
  const cells = (c: Condition | undefined): string[] => {
    if (!c) return ["", "", "", "", ""];
    const message = c.message ?? "";
    return [c.status, c.severity ?? "", c.reason ?? "", age(c, now), message.length > 100 ? `${message.slice(0, 100)} ...` : message];
  };
  const add = (prefix: string, n: TreeNode) => {
    const ready = cells(find(n.v1beta1Conditions, "Ready"));
    if (n.group) ready[4] = groupMessage(n);
    rows.push([prefix + rowName(n), ...ready]);
    if (n.showConditions !== "none") {
      const others = n.v1beta1Conditions.filter((c) => c.type !== "Ready").sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
      const base = prefix + (n.children.length > 0 ? PIPE : INDENT) + " ".repeat(10);
      others.forEach((c, i) => rows.push([childPrefix(base, i, others.length) + c.type, ...cells(c)]));
    }
    const kids = ordered(n.children);
    kids.forEach((c, i) => add(childPrefix(prefix, i, kids.length), c));
  };
  add("", tree.root);
  return renderTable(rows);
}
