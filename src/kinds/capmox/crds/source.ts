/**
 * Where the bundled CAPMOX CRDs come from and how `scripts/import-crds.ts` makes them the project's
 * own (provenance in `SOURCES.md` beside this file). Used by the import script and the drift check
 * only; the daemon embeds the generated JSON files (crds.ts).
 * @module
 */
import { join } from "node:path";
import type { CRDSource } from "../../../../scripts/import-crds.ts";
import type { CRDObject } from "../../../registry/crd/to-resource.ts";
import type { JSONSchemaProps } from "../../../registry/schema/types.ts";
import { cloneData } from "../../../lib/clone.ts";

const REPO_ROOT = join(import.meta.dir, "../../../..");

const UPSTREAM = {
  repo: "ionos-cloud/cluster-api-provider-proxmox",
  branch: "main",
  commit: "38e3ded9fdca2ca3b798fef1b472987c8f2d4c37",
  referenceDir: "capmox-main",
  upstreamDir: "config/crd/bases",
} as const;

/**
 * As on a management cluster after `clusterctl init --infrastructure proxmox`: the contract labels
 * of `config/crd/kustomization.yaml` (v1alpha2 implements the v1beta1 and v1beta2 contracts), the
 * provider label of `config/default/kustomization.yaml` and clusterctl's own label.
 */
const LABELS: Record<string, string> = {
  "cluster.x-k8s.io/provider": "infrastructure-proxmox",
  "cluster.x-k8s.io/v1beta1": "v1alpha2",
  "cluster.x-k8s.io/v1beta2": "v1alpha2",
  "clusterctl.cluster.x-k8s.io": "",
};

const CLUSTER_SPEC_FIELDS: Record<string, string> = {
  allowedNodes: "Proxmox nodes machines of this cluster may be placed on (all nodes when empty).",
  cloneSpec: "Legacy machine clone settings (v1alpha1 only); they have no effect on a ProxmoxCluster.",
  controlPlaneEndpoint: "Address (host and port) of the workload cluster's API server; must not lie in the node IP ranges.",
  credentialsRef: "Secret with the Proxmox API URL and token used for this cluster.",
  dnsServers: "DNS servers written into the machines' network configuration.",
  externalManagedControlPlane: "Whether the control-plane provider supplies the endpoint (it is then not validated here).",
  ipv4Config: "The IPv4 pool (addresses, prefix, gateway, metric) node addresses come from.",
  ipv6Config: "The IPv6 pool (addresses, prefix, gateway, metric) node addresses come from.",
  schedulerHints: "Tuning of the memory-based node scheduler.",
  zoneConfig: "Per-zone IP pools and DNS servers, for machines placed in a network zone.",
};

const MACHINE_SPEC_FIELDS: Record<string, string> = {
  allowedNodes: "Proxmox nodes this machine may be placed on (overrides the cluster's list).",
  checks: "Readiness checks (QEMU guest agent, cloud-init status) that may be skipped.",
  description: "Description written to the VM.",
  disks: "Disk settings; the boot volume is resized after the clone.",
  format: "Disk format of a full clone.",
  full: "Whether to make a full clone (true) or a linked clone.",
  memoryMiB: "Memory of the VM in MiB.",
  metadataSettings: "What goes into the cloud-init meta-data.",
  network: "Network devices of the VM and the IP pools their addresses come from.",
  numCores: "CPU cores per socket.",
  numSockets: "CPU sockets.",
  pool: "Proxmox resource pool the VM is added to.",
  providerID: "Identifier of the VM (proxmox://<SMBIOS UUID>); set by the controller.",
  snapName: "Snapshot of the template to clone from.",
  sourceNode: "Proxmox node holding the template named by templateID.",
  storage: "Target storage of a full clone.",
  tags: "Tags set on the VM.",
  target: "Node to clone to (v1alpha1 only; v1alpha2 uses allowedNodes).",
  templateID: "VMID of the template to clone.",
  templateSelector: "Selects the template to clone by its tags instead of templateID.",
  virtualMachineID: "VMID of the VM once cloned; set by the controller.",
  vmIDRange: "Range new VMIDs are taken from.",
};

const DESCRIPTIONS: CRDSource["descriptions"] = {
  ProxmoxCluster: {
    root: "The Proxmox infrastructure of a workload cluster: node IP pools, DNS, placement and the control-plane endpoint.",
    spec: "Desired state of the Proxmox cluster infrastructure.",
    status: "Observed state, written by the ProxmoxCluster controller.",
    specFields: CLUSTER_SPEC_FIELDS,
  },
  ProxmoxClusterTemplate: {
    root: "A template of ProxmoxCluster objects, for managed topologies.",
    spec: "The template.",
    specFields: { template: "Metadata and spec of the ProxmoxCluster objects created from this template." },
  },
  ProxmoxMachine: {
    root: "A Proxmox VM backing one Cluster API Machine: cloned from a template, sized, addressed and booted with the bootstrap data.",
    spec: "Desired state of the VM.",
    status: "Observed state of the VM, written by the ProxmoxMachine controller.",
    specFields: MACHINE_SPEC_FIELDS,
  },
  ProxmoxMachineTemplate: {
    root: "A template of ProxmoxMachine objects, referenced by control planes and machine deployments.",
    spec: "The template.",
    specFields: { template: "Metadata and spec of the ProxmoxMachine objects created from this template." },
  },
};

const ATTRIBUTES: JSONSchemaProps = { type: "object", additionalProperties: { type: "string" } };

/** The Cluster API v1beta2 contract shape: a list keyed by name. */
const FAILURE_DOMAINS_LIST: JSONSchemaProps = {
  type: "array",
  description: "capx-appliance extension: the Proxmox nodes machines may be spread over (not in upstream CAPMOX; dropped on export).",
  maxItems: 100,
  minItems: 1,
  items: {
    type: "object",
    required: ["name"],
    properties: {
      name: { type: "string", minLength: 1, maxLength: 256 },
      controlPlane: { type: "boolean" },
      attributes: ATTRIBUTES,
    },
  },
  "x-kubernetes-list-map-keys": ["name"],
  "x-kubernetes-list-type": "map",
};

/** The Cluster API v1beta1 contract shape: a map from name to its properties. */
const FAILURE_DOMAINS_MAP: JSONSchemaProps = {
  type: "object",
  description: "capx-appliance extension: the Proxmox nodes machines may be spread over (not in upstream CAPMOX; dropped on export).",
  additionalProperties: { type: "object", properties: { controlPlane: { type: "boolean" }, attributes: ATTRIBUTES } },
};

/**
 * The appliance reports the PVE nodes as failure domains of a ProxmoxCluster (upstream CAPMOX has
 * none yet, capmox#717): `status.failureDomains` in the shape of the contract each version serves.
 */
function addFailureDomains(crd: CRDObject): void {
  if (crd.spec.names.kind !== "ProxmoxCluster") return;
  for (const v of crd.spec.versions) {
    const status = v.schema?.openAPIV3Schema?.properties?.status;
    if (!status) throw new Error(`ProxmoxCluster ${v.name}: no status schema to extend`);
    if (status.properties?.failureDomains) throw new Error(`ProxmoxCluster ${v.name}: upstream now has status.failureDomains; review the extension`);
    status.properties = { ...status.properties, failureDomains: cloneData(v.name === "v1alpha1" ? FAILURE_DOMAINS_MAP : FAILURE_DOMAINS_LIST) };
  }
}

export const CAPMOX_SOURCE: CRDSource = {
  upstream: UPSTREAM,
  upstreamDir: join(REPO_ROOT, "../shared/reference/capi/crds", UPSTREAM.referenceDir),
  outputDir: join(REPO_ROOT, "src/kinds/capmox/crds"),
  files: [
    "infrastructure.cluster.x-k8s.io_proxmoxclusters.yaml",
    "infrastructure.cluster.x-k8s.io_proxmoxclustertemplates.yaml",
    "infrastructure.cluster.x-k8s.io_proxmoxmachines.yaml",
    "infrastructure.cluster.x-k8s.io_proxmoxmachinetemplates.yaml",
  ],
  labels: LABELS,
  descriptions: DESCRIPTIONS,
  extend: addFailureDomains,
};
