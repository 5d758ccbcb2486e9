/**
 * Where the in-cluster IPAM pool CRDs come from, for `scripts/import-crds.ts` (one of its
 * `CRD_SOURCES`) and the drift check: the IP pools of kubernetes-sigs/cluster-api-ipam-provider-in-cluster
 * (the prefix pools are not served), our own descriptions, and the labels a clusterctl-installed
 * provider carries. Provenance: SOURCES.md beside this file.
 * @module
 */
import { join } from "node:path";
import type { CRDSource, KindDescriptions } from "../../../../scripts/import-crds.ts";

const REPO_ROOT = join(import.meta.dir, "../../../..");

const UPSTREAM = {
  repo: "kubernetes-sigs/cluster-api-ipam-provider-in-cluster",
  branch: "main",
  commit: "bc27dd724e20a0543f441d55183778a73db26294",
  referenceDir: "ipam-in-cluster-main",
  upstreamDir: "config/crd/bases",
} as const;

const POOL_FIELDS: Record<string, string> = {
  addresses: "Addresses the pool hands out: single IPs, ranges `first-last` and CIDRs, all of one IP family and inside one subnet.",
  prefix: "Prefix length of the subnet the addresses belong to.",
  gateway: "Gateway of the subnet; never handed out.",
  allocateReservedIPAddresses: "Also hand out the subnet's first address and (IPv4) its broadcast address.",
  excludedAddresses: "Addresses (IPs, ranges, CIDRs) never handed out.",
  addressReuseGracePeriodSeconds: "Seconds a released address stays out of circulation (its claim's deletion waits that long); 0 or unset: reusable at once.",
  subnet: "Subnet to hand out addresses from (v1alpha1; converted to a range and a prefix).",
  start: "First address of the range to hand out (v1alpha1).",
  end: "Last address of the range to hand out (v1alpha1).",
};

const DESCRIPTIONS: Record<string, KindDescriptions> = {
  InClusterIPPool: {
    root: "A pool of IP addresses in one namespace, from which the appliance's IPAM fulfils IPAddressClaims of that namespace.",
    spec: "The addresses of the pool.",
    status: "Usage of the pool, written by the IPAM controller.",
    specFields: POOL_FIELDS,
  },
  GlobalInClusterIPPool: {
    root: "A cluster-wide pool of IP addresses, from which the appliance's IPAM fulfils IPAddressClaims of any namespace.",
    spec: "The addresses of the pool.",
    status: "Usage of the pool, written by the IPAM controller.",
    specFields: POOL_FIELDS,
  },
};

/**
 * Labels on the CRDs: `cluster.x-k8s.io/provider: ipam-in-cluster` (upstream
 * `config/default/kustomization.yaml` commonLabels), `clusterctl.cluster.x-k8s.io/move-hierarchy`
 * (upstream `config/crd/patches/clusterctl-label_in_*.yaml`), and `clusterctl.cluster.x-k8s.io`
 * (added by `clusterctl init`).
 */
const LABELS: Record<string, string> = {
  "cluster.x-k8s.io/provider": "ipam-in-cluster",
  "clusterctl.cluster.x-k8s.io": "",
  "clusterctl.cluster.x-k8s.io/move-hierarchy": "",
};

export const IPAM_IN_CLUSTER_SOURCE: CRDSource = {
  upstream: UPSTREAM,
  upstreamDir: join(REPO_ROOT, "../shared/reference/capi/crds", UPSTREAM.referenceDir),
  outputDir: join(REPO_ROOT, "src/kinds/ipam/crds"),
  files: ["ipam.cluster.x-k8s.io_inclusterippools.yaml", "ipam.cluster.x-k8s.io_globalinclusterippools.yaml"],
  labels: LABELS,
  descriptions: DESCRIPTIONS,
};
