/**
 * What a lab kubelet (Talos or kubeadm guest) does with its Node at the workload API server:
 * tryRegisterWithAPIServer (an existing Node — a restart — keeps its object and gets the
 * kubelet's labels, and with `mergeSpec` its spec fields), then the first status update.
 * @module
 */
import type { KObject } from "../lib/kobject.ts";
import type { RequestContext } from "../registry/rest/context.ts";
import type { WorkloadServer } from "./workload-server.ts";

/** A Node condition as the kubelet first posts it. */
export function nodeCondition(type: string, status: string, reason: string, message: string): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now };
}

export async function registerKubeletNode(
  server: WorkloadServer,
  node: KObject,
  status: Record<string, unknown>,
  ctx: RequestContext,
  o: { mergeSpec?: boolean; error?: (message: string) => Error } = {},
): Promise<void> {
  const { create } = await import("../registry/rest/create.ts");
  const { get } = await import("../registry/rest/get.ts");
  const { update } = await import("../registry/rest/update.ts");
  const { ApiError } = await import("../lib/api-errors.ts");
  const res = server.rest.registry.resolve("", "v1", "nodes")!;
  const name = node.metadata.name!;
  try {
    create(server.rest, res, undefined, { ...node, status }, ctx);
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 409) {
      const message = `Unable to register node with API server: ${(e as Error).message}`;
      throw o.error ? o.error(message) : new Error(message);
    }
    const cur = get(server.rest, res, "", name);
    const labels = { ...cur.metadata.labels, ...node.metadata.labels };
    const spec = o.mergeSpec ? { ...(cur.spec as Record<string, unknown>), ...(node.spec as Record<string, unknown>) } : cur.spec;
    update(server.rest, res, "", name, { ...cur, metadata: { ...cur.metadata, labels }, ...(spec ? { spec } : {}) }, ctx);
  }
  const cur = get(server.rest, res, "", name);
  update(server.rest, res, "", name, { ...cur, status }, ctx, "status");
}
