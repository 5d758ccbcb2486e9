/**
 * Object references across the versions:
 *
 * - v1beta1 `corev1.ObjectReference` `{apiVersion, kind, namespace, name, uid, resourceVersion,
 *   fieldPath}` ⇄ v1beta2 `ContractVersionedObjectReference` `{apiGroup, kind, name}`
 *   (`infrastructureRef`, `controlPlaneRef`, `bootstrap.configRef`). Up: the group of `apiVersion`
 *   is kept, everything else but kind/name is dropped. Down: the version comes from the provider's
 *   CRD contract labels upstream (`contract.GetAPIVersion`); here from an injectable resolver
 *   ({@link setRefVersionResolver}) with a default table, and `namespace` is the object's own.
 * - v1beta1 Machine `status.nodeRef` (ObjectReference) ⇄ v1beta2 `{name}`; down it is
 *   `{apiVersion: v1, kind: Node, name}`.
 * - MHC `remediationTemplate` (ObjectReference) ⇄ `remediation.templateRef` `{apiVersion, kind, name}`.
 * - IPAM `poolRef` (`corev1.TypedLocalObjectReference`, `apiGroup` a pointer) ⇄ `IPPoolReference`.
 *
 * What a conversion drops (uid, a provider version other than the resolved one, …) is kept by
 * the conversion-data annotation (preserve.ts), not here.
 * @module
 */
import { groupOf, isObj, type J, nonEmptyStr, orUndef, put } from "./util.ts";

/** Resolves the apiVersion *version* (`v1alpha2`) to use for a reference to `group`/`kind`. */
export type RefVersionResolver = (group: string, kind: string) => string | undefined;

/**
 * Versions used when no resolver answers: the latest version compatible with the v1beta2 contract
 * of the providers this appliance targets (the storage versions of the CRDs in the reference).
 */
export const DEFAULT_REF_VERSIONS: Readonly<Record<string, string>> = {
  "bootstrap.cluster.x-k8s.io/KubeadmConfig": "v1beta2",
  "bootstrap.cluster.x-k8s.io/KubeadmConfigTemplate": "v1beta2",
  "bootstrap.cluster.x-k8s.io/TalosConfig": "v1beta1",
  "bootstrap.cluster.x-k8s.io/TalosConfigTemplate": "v1beta1",
  "controlplane.cluster.x-k8s.io/KubeadmControlPlane": "v1beta2",
  "controlplane.cluster.x-k8s.io/KubeadmControlPlaneTemplate": "v1beta2",
  "controlplane.cluster.x-k8s.io/TalosControlPlane": "v1alpha3",
  "infrastructure.cluster.x-k8s.io/ProxmoxCluster": "v1alpha2",
  "infrastructure.cluster.x-k8s.io/ProxmoxClusterTemplate": "v1alpha2",
  "infrastructure.cluster.x-k8s.io/ProxmoxMachine": "v1alpha2",
  "infrastructure.cluster.x-k8s.io/ProxmoxMachineTemplate": "v1alpha2",
  "infrastructure.cluster.x-k8s.io/DockerCluster": "v1beta2",
  "infrastructure.cluster.x-k8s.io/DockerClusterTemplate": "v1beta2",
  "infrastructure.cluster.x-k8s.io/DockerMachine": "v1beta2",
  "infrastructure.cluster.x-k8s.io/DockerMachineTemplate": "v1beta2",
  "infrastructure.cluster.x-k8s.io/DockerMachinePool": "v1beta2",
  "infrastructure.cluster.x-k8s.io/DockerMachinePoolTemplate": "v1beta2",
};

/** The version used for a group/kind that neither the resolver nor the table knows. */
export const FALLBACK_REF_VERSION = "v1beta1";

let resolver: RefVersionResolver | undefined;

/**
 * Installs the resolver consulted first when a v1beta2 reference is converted down to a v1beta1
 * ObjectReference (typically: read the CRD `<plural>.<group>` and apply
 * {@link versionFromContractLabels} to its labels). Pass undefined to restore the defaults.
 */
export function setRefVersionResolver(fn: RefVersionResolver | undefined): void {
  resolver = fn;
}

/** The apiVersion (`group/version`, or `version` for the core group) for a reference. */
export function resolveRefApiVersion(group: string, kind: string): string {
  const version = resolver?.(group, kind) ?? DEFAULT_REF_VERSIONS[`${group}/${kind}`] ?? FALLBACK_REF_VERSION;
  return group ? `${group}/${version}` : version;
}

const KUBE_VERSION = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

/** k8s.io/apimachinery `CompareKubeAwareVersionStrings` (ascending: v1alpha1 < v1beta1 < v1 < v2). */
export function compareKubeAwareVersions(a: string, b: string): number {
  const ma = KUBE_VERSION.exec(a);
  const mb = KUBE_VERSION.exec(b);
  if (!ma || !mb) {
    if (ma) return 1; // kube-like versions sort above the rest
    if (mb) return -1;
    return a < b ? 1 : a > b ? -1 : 0; // non kube-like: reverse lexical, as upstream
  }
  const major = Number(ma[1]) - Number(mb[1]);
  const rank = (m: RegExpExecArray) => (m[2] === undefined ? 2 : m[2] === "beta" ? 1 : 0);
  if (rank(ma) !== rank(mb)) return rank(ma) - rank(mb);
  if (major !== 0) return major;
  return Number(ma[3] ?? 0) - Number(mb[3] ?? 0);
}

/**
 * Upstream `contract.GetLatestContractAndAPIVersionFromContract` for the v1beta2 contract: from a
 * CRD's labels `cluster.x-k8s.io/v1beta2: v1alpha1_v1alpha2` (else the v1beta1 contract label),
 * the latest version listed. Undefined when neither label is set.
 */
export function versionFromContractLabels(labels: Record<string, string> | undefined): string | undefined {
  for (const contract of ["v1beta2", "v1beta1"]) {
    const value = labels?.[`cluster.x-k8s.io/${contract}`];
    if (!value) continue;
    const versions = value.split("_").filter((v) => v !== "");
    versions.sort(compareKubeAwareVersions);
    return versions[versions.length - 1];
  }
  return undefined;
}

/** v1beta1 ObjectReference → v1beta2 ContractVersionedObjectReference; undefined when empty. */
export function refToContractVersioned(ref: unknown): J | undefined {
  if (!isObj(ref)) return undefined;
  const out: J = {};
  const apiVersion = typeof ref.apiVersion === "string" ? ref.apiVersion : "";
  put(out, "apiGroup", nonEmptyStr(groupOf(apiVersion)));
  put(out, "kind", nonEmptyStr(ref.kind));
  put(out, "name", nonEmptyStr(ref.name));
  return orUndef(out);
}

/** Upstream `IsDefined` of a ContractVersionedObjectReference. */
export function isContractRefDefined(ref: unknown): ref is J {
  return isObj(ref) && (!!nonEmptyStr(ref.kind) || !!nonEmptyStr(ref.name) || !!nonEmptyStr(ref.apiGroup));
}

/**
 * v1beta2 ContractVersionedObjectReference → v1beta1 ObjectReference in `namespace`; undefined
 * when the reference is not defined.
 */
export function contractVersionedToRef(ref: unknown, namespace: string | undefined): J | undefined {
  if (!isContractRefDefined(ref)) return undefined;
  const group = typeof ref.apiGroup === "string" ? ref.apiGroup : "";
  const kind = typeof ref.kind === "string" ? ref.kind : "";
  const out: J = {};
  out.apiVersion = resolveRefApiVersion(group, kind);
  put(out, "kind", nonEmptyStr(kind));
  put(out, "namespace", nonEmptyStr(namespace));
  put(out, "name", nonEmptyStr(ref.name));
  return out;
}

/** v1beta1 Machine `status.nodeRef` → v1beta2 `{name}` (only the name survives; empty refs vanish). */
export function nodeRefToHub(ref: unknown): J | undefined {
  if (!isObj(ref) || Object.keys(ref).length === 0) return undefined;
  const out: J = {};
  put(out, "name", nonEmptyStr(ref.name));
  return orUndef(out);
}

/** v1beta2 `status.nodeRef {name}` → v1beta1 `{apiVersion: v1, kind: Node, name}`. */
export function nodeRefFromHub(ref: unknown): J | undefined {
  if (!isObj(ref) || !nonEmptyStr(ref.name)) return undefined;
  return { apiVersion: "v1", kind: "Node", name: ref.name };
}

/** MHC `remediationTemplate` ObjectReference → `templateRef {apiVersion, kind, name}`. */
export function remediationTemplateToHub(ref: unknown): J | undefined {
  if (!isObj(ref)) return undefined;
  const out: J = {};
  put(out, "kind", nonEmptyStr(ref.kind));
  put(out, "name", nonEmptyStr(ref.name));
  put(out, "apiVersion", nonEmptyStr(ref.apiVersion));
  return orUndef(out);
}

/** `templateRef` → MHC `remediationTemplate` ObjectReference in `namespace` (when defined). */
export function remediationTemplateFromHub(ref: unknown, namespace: string | undefined): J | undefined {
  if (!isObj(ref)) return undefined;
  if (!nonEmptyStr(ref.kind) && !nonEmptyStr(ref.name) && !nonEmptyStr(ref.apiVersion)) return undefined;
  const out: J = {};
  put(out, "kind", nonEmptyStr(ref.kind));
  put(out, "namespace", nonEmptyStr(namespace));
  put(out, "name", nonEmptyStr(ref.name));
  put(out, "apiVersion", nonEmptyStr(ref.apiVersion));
  return out;
}

/** IPAM `corev1.TypedLocalObjectReference` → `IPPoolReference` (a nil/empty apiGroup becomes ""). */
export function typedLocalRefToHub(ref: unknown): J | undefined {
  if (!isObj(ref)) return undefined;
  const out: J = {};
  put(out, "apiGroup", nonEmptyStr(ref.apiGroup));
  put(out, "kind", nonEmptyStr(ref.kind));
  put(out, "name", nonEmptyStr(ref.name));
  return orUndef(out);
}

/**
 * `IPPoolReference` → `corev1.TypedLocalObjectReference` (`apiGroup` only when non-empty; kind and
 * name are always written, as Go does, so the required fields are present).
 */
export function typedLocalRefFromHub(ref: unknown): J {
  const r = isObj(ref) ? ref : {};
  const out: J = {};
  put(out, "apiGroup", nonEmptyStr(r.apiGroup));
  out.kind = typeof r.kind === "string" ? r.kind : "";
  out.name = typeof r.name === "string" ? r.name : "";
  return out;
}

/** `{name}` local references (IPAM claimRef/addressRef), same shape in every version. */
export function localRef(ref: unknown): J | undefined {
  if (!isObj(ref)) return undefined;
  const out: J = {};
  put(out, "name", nonEmptyStr(ref.name));
  return orUndef(out);
}
