/**
 * core/v1 Pod with the policy/v1 eviction subresource — served by the lab's workload-cluster
 * API servers (drain evicts through it).
 * @module
 */
import { badRequest } from "../../lib/api-errors.ts";
import { isPlainObject, type KObject } from "../../lib/kobject.ts";
import type { ResourceDefinition } from "../types.ts";
import { ageColumn, nameColumn, obj, resourceSchema, str } from "./schema-helpers.ts";
import { builtinKind } from "./define.ts";

const open = { type: "object" as const, "x-kubernetes-preserve-unknown-fields": true };

const schema = resourceSchema("Pod is a collection of containers that can run on a host.", {
  spec: obj({ nodeName: str("The node the pod is bound to.") }, "Specification of the desired behavior of the pod.", { "x-kubernetes-preserve-unknown-fields": true }),
  status: { ...open, description: "Most recently observed status of the pod." },
});

type Status = { phase?: string; containerStatuses?: { ready?: boolean; restartCount?: number }[] };

export const podDefinition: ResourceDefinition = builtinKind({
  group: "",
  kind: "Pod",
  plural: "pods",
  namespaced: true,
  shortNames: ["po"],
  categories: ["all"],
  status: true,
  schema,
  printerColumns: [
    nameColumn,
    {
      name: "Ready",
      type: "string",
      description: "Ready containers",
      cell: (o: KObject) => {
        const cs = (o.status as Status | undefined)?.containerStatuses ?? [];
        return `${cs.filter((c) => c.ready).length}/${cs.length}`;
      },
    },
    { name: "Status", type: "string", description: "The pod phase", jsonPath: ".status.phase" },
    {
      name: "Restarts",
      type: "integer",
      description: "Container restarts",
      cell: (o: KObject) => ((o.status as Status | undefined)?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
    },
    ageColumn,
  ],
  postSubresources: {
    eviction: { group: "policy", version: "v1", kind: "Eviction" },
  },
  hooks: {
    allowUnconditionalUpdate: true,
    fieldValue(o, field) {
      if (field === "spec.nodeName") return String((o.spec as { nodeName?: string } | undefined)?.nodeName ?? "");
      if (field === "status.phase") return String((o.status as Status | undefined)?.phase ?? "");
      return undefined;
    },
    selectableFields: ["spec.nodeName", "status.phase"],
  },
});

/** Checks an Eviction body (policy/v1) for the pod `name`; returns its DeleteOptions. */
export function evictionDeleteOptions(body: unknown, name: string): Record<string, unknown> {
  if (!isPlainObject(body)) throw badRequest("Eviction must be a JSON object");
  const b = body as { kind?: unknown; metadata?: { name?: unknown }; deleteOptions?: unknown };
  if (b.kind !== undefined && b.kind !== "Eviction") throw badRequest(`expected kind Eviction, got ${String(b.kind)}`);
  if (b.metadata?.name !== undefined && b.metadata.name !== name) {
    throw badRequest(`name in URL does not match name in Eviction object`);
  }
  return isPlainObject(b.deleteOptions) ? (b.deleteOptions as Record<string, unknown>) : {};
}
