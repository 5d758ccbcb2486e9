/**
 * core/v1 Node — served by the lab's workload-cluster API servers (not by the appliance's own API).
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { ResourceDefinition } from "../types.ts";
import { ageColumn, nameColumn, obj, resourceSchema, str } from "./schema-helpers.ts";
import { builtinKind } from "./define.ts";

const open = { type: "object" as const, "x-kubernetes-preserve-unknown-fields": true };

const schema = resourceSchema("Node is a worker node in Kubernetes.", {
  spec: obj(
    {
      providerID: str("ID of the node assigned by the cloud provider (proxmox://<uuid>)."),
      podCIDR: str(),
      podCIDRs: { type: "array", items: { type: "string" } },
      unschedulable: { type: "boolean", description: "Unschedulable controls node schedulability of new pods." },
      taints: {
        type: "array",
        items: { type: "object", required: ["key", "effect"], properties: { key: str(), value: str(), effect: str(), timeAdded: { type: "string", format: "date-time" } } },
      },
    },
    "Spec defines the behavior of a node.",
  ),
  status: { ...open, description: "Most recently observed status of the node." },
});

function condition(o: KObject, type: string): { status?: string } | undefined {
  return ((o.status as { conditions?: { type: string; status?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
}

function statusCell(o: KObject): string {
  const ready = condition(o, "Ready")?.status;
  const base = ready === "True" ? "Ready" : ready === "False" ? "NotReady" : "Unknown";
  return (o.spec as { unschedulable?: boolean } | undefined)?.unschedulable ? `${base},SchedulingDisabled` : base;
}

function rolesCell(o: KObject): string {
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((k) => k.startsWith("node-role.kubernetes.io/"))
    .map((k) => k.slice("node-role.kubernetes.io/".length))
    .filter(Boolean)
    .sort();
  return roles.length ? roles.join(",") : "<none>";
}

export const nodeDefinition: ResourceDefinition = builtinKind({
  group: "",
  kind: "Node",
  plural: "nodes",
  namespaced: false,
  shortNames: ["no"],
  status: true,
  schema,
  printerColumns: [
    nameColumn,
    { name: "Status", type: "string", description: "The status of the node", cell: statusCell },
    { name: "Roles", type: "string", description: "The roles of the node", cell: rolesCell },
    ageColumn,
    { name: "Version", type: "string", description: "Kubelet version", jsonPath: ".status.nodeInfo.kubeletVersion" },
  ],
  hooks: {
    allowUnconditionalUpdate: true,
    fieldValue(o, field) {
      if (field === "spec.unschedulable") return String(Boolean((o.spec as { unschedulable?: boolean } | undefined)?.unschedulable));
      return undefined;
    },
    selectableFields: ["spec.unschedulable"],
  },
});
