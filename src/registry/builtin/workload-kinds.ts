/**
 * The rest of a workload cluster's built-in API, served by the lab's workload API servers so that
 * what users and ClusterResourceSets apply there (CNI and CSI manifests: Deployments, DaemonSets,
 * RBAC, webhooks, PriorityClasses, CRDs through apiextensions) is accepted and stored
 * like a real API server would, with discovery, status subresources where Kubernetes has them,
 * and open schemas: nothing runs these objects, only Nodes and Pods have behaviour.
 * @module
 */
import type { ResourceDefinition } from "../types.ts";
import { ageColumn, nameColumn, resourceSchema } from "./schema-helpers.ts";
import { builtinKind } from "./define.ts";

interface GenericKind {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Has a status subresource (and so spec/status separation). */
  status?: boolean;
}

const APPS = { group: "apps", version: "v1", namespaced: true, status: true, categories: ["all"] };
const RBAC = { group: "rbac.authorization.k8s.io", version: "v1" };

const KINDS: GenericKind[] = [
  { group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true, shortNames: ["sa"] },
  { group: "", version: "v1", kind: "Endpoints", plural: "endpoints", namespaced: true, shortNames: ["ep"] },
  { group: "", version: "v1", kind: "PersistentVolumeClaim", plural: "persistentvolumeclaims", namespaced: true, shortNames: ["pvc"], status: true },
  { group: "", version: "v1", kind: "PersistentVolume", plural: "persistentvolumes", namespaced: false, shortNames: ["pv"], status: true },
  { group: "", version: "v1", kind: "ResourceQuota", plural: "resourcequotas", namespaced: true, shortNames: ["quota"], status: true },
  { group: "", version: "v1", kind: "LimitRange", plural: "limitranges", namespaced: true, shortNames: ["limits"] },
  { ...APPS, kind: "Deployment", plural: "deployments", shortNames: ["deploy"] },
  { ...APPS, kind: "DaemonSet", plural: "daemonsets", shortNames: ["ds"] },
  { ...APPS, kind: "StatefulSet", plural: "statefulsets", shortNames: ["sts"] },
  { ...APPS, kind: "ReplicaSet", plural: "replicasets", shortNames: ["rs"] },
  { group: "batch", version: "v1", kind: "Job", plural: "jobs", namespaced: true, categories: ["all"], status: true },
  { group: "batch", version: "v1", kind: "CronJob", plural: "cronjobs", namespaced: true, shortNames: ["cj"], categories: ["all"], status: true },
  { ...RBAC, kind: "Role", plural: "roles", namespaced: true },
  { ...RBAC, kind: "RoleBinding", plural: "rolebindings", namespaced: true },
  { ...RBAC, kind: "ClusterRole", plural: "clusterroles", namespaced: false },
  { ...RBAC, kind: "ClusterRoleBinding", plural: "clusterrolebindings", namespaced: false },
  { group: "policy", version: "v1", kind: "PodDisruptionBudget", plural: "poddisruptionbudgets", namespaced: true, shortNames: ["pdb"], status: true },
  { group: "storage.k8s.io", version: "v1", kind: "StorageClass", plural: "storageclasses", namespaced: false, shortNames: ["sc"] },
  { group: "storage.k8s.io", version: "v1", kind: "CSIDriver", plural: "csidrivers", namespaced: false },
  { group: "storage.k8s.io", version: "v1", kind: "VolumeAttachment", plural: "volumeattachments", namespaced: false, status: true },
  { group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy", plural: "networkpolicies", namespaced: true, shortNames: ["netpol"] },
  { group: "networking.k8s.io", version: "v1", kind: "Ingress", plural: "ingresses", namespaced: true, shortNames: ["ing"], status: true },
  { group: "networking.k8s.io", version: "v1", kind: "IngressClass", plural: "ingressclasses", namespaced: false },
  { group: "scheduling.k8s.io", version: "v1", kind: "PriorityClass", plural: "priorityclasses", namespaced: false, shortNames: ["pc"] },
  { group: "admissionregistration.k8s.io", version: "v1", kind: "MutatingWebhookConfiguration", plural: "mutatingwebhookconfigurations", namespaced: false },
  { group: "admissionregistration.k8s.io", version: "v1", kind: "ValidatingWebhookConfiguration", plural: "validatingwebhookconfigurations", namespaced: false },
  { group: "discovery.k8s.io", version: "v1", kind: "EndpointSlice", plural: "endpointslices", namespaced: true },
];

export const workloadClusterKinds: ResourceDefinition[] = KINDS.map((k) =>
  builtinKind({
    group: k.group,
    version: k.version,
    kind: k.kind,
    plural: k.plural,
    namespaced: k.namespaced,
    shortNames: k.shortNames,
    categories: k.categories,
    status: k.status,
    tracksGeneration: k.status,
    schema: resourceSchema(`${k.kind} (stored as given: the lab workload cluster runs no controller for it).`, {}, { "x-kubernetes-preserve-unknown-fields": true }),
    printerColumns: [nameColumn, ageColumn],
  }),
);
