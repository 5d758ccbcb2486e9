/**
 * What a lab kubelet (Talos or kubeadm guest) does with its Node at the workload API server:
 * tryRegisterWithAPIServer (an existing Node — a restart — keeps its object and gets the
 * kubelet's labels, and with `mergeSpec` its spec fields), then the first status update.
 * @module
 */
import { createHash, randomUUID } from "node:crypto";
import type { KObject } from "../lib/kobject.ts";
import type { VmRecord } from "../providers/proxmox/lab/state.ts";
import type { RequestContext } from "../registry/rest/context.ts";
import type { WorkloadServer } from "./workload-server.ts";

/** What differs between the lab images in a Node's status. */
export interface KubeletImage {
  containerRuntimeVersion: string;
  kernelVersion: string;
  osImage: string;
}

/**
 * The status a lab kubelet first posts: addresses, capacity from the VM's config, the four
 * conditions (Ready), nodeInfo with the VM's SMBIOS uuid; `machineSeed` stands in for the uuid.
 */
export function kubeletNodeStatus(o: { vm: VmRecord | undefined; address: string; hostname: string; kubeletVersion: string; machineSeed: string; image: KubeletImage }): Record<string, unknown> {
  const cores = Number(o.vm?.config.cores ?? 1) * Number(o.vm?.config.sockets ?? 1);
  const memKi = Number(o.vm?.config.memory ?? 2048) * 1024;
  const uuid = /(?:^|,)uuid=([^,]+)/.exec(o.vm?.config.smbios1 ?? "")?.[1] ?? "";
  const capacity = { cpu: String(cores), memory: `${memKi}Ki`, pods: "110", "ephemeral-storage": "10218772Ki" };
  return {
    addresses: [
      { type: "InternalIP", address: o.address },
      { type: "Hostname", address: o.hostname },
    ],
    capacity,
    allocatable: { ...capacity, memory: `${Math.max(0, memKi - 262144)}Ki` },
    conditions: [
      nodeCondition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
      nodeCondition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      nodeCondition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
      nodeCondition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      architecture: "amd64",
      bootID: randomUUID(),
      containerRuntimeVersion: o.image.containerRuntimeVersion,
      kernelVersion: o.image.kernelVersion,
      kubeProxyVersion: "",
      kubeletVersion: `v${o.kubeletVersion.replace(/^v/, "")}`,
      machineID: createHash("md5").update(uuid || o.machineSeed).digest("hex"),
      operatingSystem: "linux",
      osImage: o.image.osImage,
      systemUUID: uuid.toLowerCase(),
    },
  };
}

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
