/**
 * ipam.cluster.x-k8s.io IPAddress and IPAddressClaim: v1alpha1, v1beta1 ⇄ v1beta2 (hub), after
 * upstream `core/webhooks/conversion/ipaddress.go`, `ipaddressclaim.go` and
 * `api/ipam/{v1alpha1,v1beta1}/conversion.go`.
 *
 * IPAddress (both spokes): `prefix` int ⇄ `*int32` (always set going up, 0 when unset going down);
 * `poolRef.apiGroup` pointer ⇄ string ("" ⇔ unset). Upstream keeps no annotation for IPAddress.
 *
 * IPAddressClaim v1beta1: `status.conditions` ⇄ `status.deprecated.v1beta1.conditions`,
 * `status.v1beta2.conditions` ⇄ `status.conditions`; no annotation upstream.
 * IPAddressClaim v1alpha1 (no clusterName, no v1beta2 conditions): `spec.clusterName` ⇄ the
 * `cluster.x-k8s.io/cluster-name` label — going down the label is set from clusterName and, when
 * the object had no such label, `conversion.cluster.x-k8s.io/cluster-name-label-set: "false"`
 * records it so going up removes it again; the hub's conditions live only in the annotation
 * (upstream marshals the hub into every v1alpha1 claim).
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { copyConditions, deprecatedV1Beta1, setDeprecatedV1Beta1, setV1Beta2Block, v1beta2Block } from "./conditions.ts";
import type { SpokeConversion } from "./hub.ts";
import { shell } from "./machine.ts";
import { localRef, typedLocalRefFromHub, typedLocalRefToHub } from "./refs.ts";
import { type J, nonEmptyStr, num, obj, orUndef, put, str } from "./util.ts";

export const IPAM_GROUP = "ipam.cluster.x-k8s.io";
export const IPAM_HUB_VERSION = "v1beta2";
const IPAM_HUB_API_VERSION = `${IPAM_GROUP}/${IPAM_HUB_VERSION}`;

export const CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";
export const CLUSTER_NAME_LABEL_SET_ANNOTATION = "conversion.cluster.x-k8s.io/cluster-name-label-set";

// ---- IPAddress -------------------------------------------------------------------------------

function ipAddressSpecToHub(s: J): J | undefined {
  const out: J = {};
  put(out, "claimRef", localRef(s.claimRef));
  put(out, "poolRef", typedLocalRefToHub(s.poolRef));
  put(out, "address", nonEmptyStr(s.address));
  out.prefix = num(s.prefix) ?? 0;
  put(out, "gateway", nonEmptyStr(s.gateway));
  return out;
}

function ipAddressSpecFromHub(h: J): J {
  const out: J = {};
  out.claimRef = localRef(h.claimRef) ?? {};
  out.poolRef = typedLocalRefFromHub(h.poolRef);
  out.address = str(h.address) ?? "";
  out.prefix = num(h.prefix) ?? 0;
  put(out, "gateway", nonEmptyStr(h.gateway));
  return out;
}

function ipAddressSpoke(version: string): SpokeConversion {
  const apiVersion = `${IPAM_GROUP}/${version}`;
  return {
    version,
    toHub(src: KObject): KObject {
      const out = shell(src, IPAM_HUB_API_VERSION);
      const spec = obj(src.spec);
      if (spec) put(out, "spec", ipAddressSpecToHub(spec));
      return out;
    },
    fromHub(src: KObject): KObject {
      const out = shell(src, apiVersion);
      const spec = obj(src.spec);
      if (spec) out.spec = ipAddressSpecFromHub(spec);
      return out;
    },
    marshalHub: "when-lossy",
  };
}

export const ipAddressV1Alpha1 = ipAddressSpoke("v1alpha1");
export const ipAddressV1Beta1 = ipAddressSpoke("v1beta1");

// ---- IPAddressClaim --------------------------------------------------------------------------

function claimStatusToHub(s: J, withV1Beta2: boolean): J | undefined {
  const out: J = {};
  if (withV1Beta2) copyConditions(out, "conditions", v1beta2Block(s)?.conditions);
  put(out, "addressRef", localRef(s.addressRef));
  const dep: J = {};
  copyConditions(dep, "conditions", s.conditions);
  setDeprecatedV1Beta1(out, dep);
  return orUndef(out);
}

function claimStatusFromHub(h: J, withV1Beta2: boolean): J {
  const out: J = {};
  out.addressRef = localRef(h.addressRef) ?? {};
  copyConditions(out, "conditions", deprecatedV1Beta1(h)?.conditions);
  if (withV1Beta2) {
    const v1beta2: J = {};
    copyConditions(v1beta2, "conditions", h.conditions);
    setV1Beta2Block(out, v1beta2);
  }
  return out;
}

export const ipAddressClaimV1Beta1: SpokeConversion = {
  version: "v1beta1",
  toHub(src: KObject): KObject {
    const out = shell(src, IPAM_HUB_API_VERSION);
    const spec = obj(src.spec);
    if (spec) {
      const s: J = {};
      put(s, "clusterName", nonEmptyStr(spec.clusterName));
      put(s, "poolRef", typedLocalRefToHub(spec.poolRef));
      put(out, "spec", orUndef(s));
    }
    const status = obj(src.status);
    if (status) put(out, "status", claimStatusToHub(status, true));
    return out;
  },
  fromHub(src: KObject): KObject {
    const out = shell(src, `${IPAM_GROUP}/v1beta1`);
    const spec = obj(src.spec);
    if (spec) {
      const s: J = {};
      put(s, "clusterName", nonEmptyStr(spec.clusterName));
      s.poolRef = typedLocalRefFromHub(spec.poolRef);
      out.spec = s;
    }
    const status = obj(src.status);
    if (status) out.status = claimStatusFromHub(status, true);
    return out;
  },
  marshalHub: "when-lossy",
};

export const ipAddressClaimV1Alpha1: SpokeConversion = {
  version: "v1alpha1",
  toHub(src: KObject): KObject {
    const out = shell(src, IPAM_HUB_API_VERSION);
    const spec = obj(src.spec);
    const s: J = {};
    if (spec) put(s, "poolRef", typedLocalRefToHub(spec.poolRef));
    const meta = out.metadata;
    if (meta.labels) {
      put(s, "clusterName", nonEmptyStr(meta.labels[CLUSTER_NAME_LABEL]));
      if (meta.annotations && Object.prototype.hasOwnProperty.call(meta.annotations, CLUSTER_NAME_LABEL_SET_ANNOTATION)) {
        if (meta.annotations[CLUSTER_NAME_LABEL_SET_ANNOTATION] === "false") {
          delete meta.labels[CLUSTER_NAME_LABEL];
          if (Object.keys(meta.labels).length === 0) delete meta.labels;
        }
        delete meta.annotations[CLUSTER_NAME_LABEL_SET_ANNOTATION];
        if (Object.keys(meta.annotations).length === 0) delete meta.annotations;
      }
    }
    if (spec || Object.keys(s).length > 0) put(out, "spec", orUndef(s));
    const status = obj(src.status);
    if (status) put(out, "status", claimStatusToHub(status, false));
    return out;
  },
  fromHub(src: KObject): KObject {
    const out = shell(src, `${IPAM_GROUP}/v1alpha1`);
    const spec = obj(src.spec);
    if (spec) out.spec = { poolRef: typedLocalRefFromHub(spec.poolRef) };
    const clusterName = nonEmptyStr(spec?.clusterName);
    if (clusterName) {
      const meta = out.metadata;
      meta.labels ??= {};
      if (!Object.prototype.hasOwnProperty.call(meta.labels, CLUSTER_NAME_LABEL)) {
        meta.annotations = { ...(meta.annotations ?? {}), [CLUSTER_NAME_LABEL_SET_ANNOTATION]: "false" };
      }
      meta.labels[CLUSTER_NAME_LABEL] = clusterName;
    }
    const status = obj(src.status);
    if (status) out.status = claimStatusFromHub(status, false);
    return out;
  },
  marshalHub: "always",
};
