/**
 * Access to a workload cluster's API, as the core controllers need it: Nodes (read, patch,
 * cordon, delete) and Pods (list by node, evict). Built from the `<cluster>-kubeconfig` Secret;
 * a real implementation (HTTPS with the kubeconfig's credentials, through the Dialer) and a lab
 * one (the in-process workload API servers of lab mode) implement the same interface.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";

export interface WorkloadClient {
  /** Where it talks to (for logs and messages). */
  readonly server: string;
  listNodes(): Promise<KObject[]>;
  getNode(name: string): Promise<KObject | undefined>;
  /** Merge patch of a Node (labels, annotations, taints, providerID, unschedulable). */
  patchNode(name: string, patch: Record<string, unknown>): Promise<KObject>;
  deleteNode(name: string): Promise<void>;
  /** Pods bound to the node (`spec.nodeName`), all namespaces. */
  listPodsOnNode(nodeName: string): Promise<KObject[]>;
  /** policy/v1 Eviction; resolves "evicted", "gone" (404) or "blocked" (429: a PodDisruptionBudget). */
  evictPod(namespace: string, name: string): Promise<"evicted" | "gone" | "blocked">;
}

export interface NodeEvent {
  namespace: string;
  cluster: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
  node: KObject;
  old?: KObject;
}

export interface WorkloadClusters {
  /** A client for the cluster's API; undefined when its kubeconfig Secret does not exist yet. */
  forCluster(namespace: string, clusterName: string): Promise<WorkloadClient | undefined>;
  /**
   * Node changes of every cluster a client was built for (Nodes are watched from then on).
   * Absent when the implementation cannot watch; callers then poll.
   */
  onNodeEvent?(listener: (e: NodeEvent) => void): () => void;
}
