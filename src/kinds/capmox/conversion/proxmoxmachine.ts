/**
 * ProxmoxMachine and ProxmoxMachineTemplate v1alpha1 ⇄ v1alpha2 (hub). The spec mapping is in
 * machine-spec.ts. Status: `ready` ⇄ `initialization.provisioned` (false ⇒ unset);
 * `ipAddresses` map `{net0: {ipv4, ipv6}}` ⇄ list `[{net, ipv4: [..], ipv6: [..]}]` (one address per
 * family going down, as upstream); conditions change flavour (common.ts); `failureReason` and
 * `failureMessage` exist only in v1alpha1. Upstream marshals the hub into every v1alpha1 object.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import type { SpokeConversion } from "../../capi/conversion/hub.ts";
import { arr, copyKeys, isObj, type J, nonEmptyStr, obj, orUndef, put, str } from "../../capi/conversion/util.ts";
import { convertConditions, HUB_API_VERSION, shell, SPOKE_API_VERSION, templateMetadata } from "./common.ts";
import { machineSpecFromHub, machineSpecToHub } from "./machine-spec.ts";

const SAME_STATUS_FIELDS = ["addresses", "bootstrapDataProvided", "network", "proxmoxNode", "taskRef"] as const;

function ipAddressesToHub(m: unknown): J[] | undefined {
  if (!isObj(m)) return undefined;
  return Object.keys(m)
    .sort()
    .map((net) => {
      const entry = obj(m[net]) ?? {};
      const out: J = { net };
      const v4 = nonEmptyStr(entry.ipv4);
      const v6 = nonEmptyStr(entry.ipv6);
      if (v4) out.ipv4 = [v4];
      if (v6) out.ipv6 = [v6];
      return out;
    });
}

function ipAddressesFromHub(list: unknown): J | undefined {
  const entries = arr(list);
  if (!entries) return undefined;
  const out: J = {};
  for (const e of entries) {
    if (!isObj(e) || typeof e.net !== "string") continue;
    const ip: J = {};
    put(ip, "ipv4", str(arr(e.ipv4)?.[0]));
    put(ip, "ipv6", str(arr(e.ipv6)?.[0]));
    out[e.net] = ip;
  }
  return out;
}

function statusToHub(s: J): J | undefined {
  const out: J = {};
  put(out, "conditions", convertConditions(s.conditions));
  if (s.ready === true) out.initialization = { provisioned: true };
  copyKeys(out, s, SAME_STATUS_FIELDS);
  put(out, "vmStatus", nonEmptyStr(s.vmStatus));
  put(out, "ipAddresses", ipAddressesToHub(s.ipAddresses));
  put(out, "retryAfter", nonEmptyStr(s.retryAfter));
  return orUndef(out);
}

function statusFromHub(h: J): J {
  const out: J = { ready: obj(h.initialization)?.provisioned === true };
  copyKeys(out, h, SAME_STATUS_FIELDS);
  put(out, "vmStatus", nonEmptyStr(h.vmStatus));
  put(out, "ipAddresses", ipAddressesFromHub(h.ipAddresses));
  put(out, "retryAfter", nonEmptyStr(h.retryAfter));
  put(out, "conditions", convertConditions(h.conditions));
  return out;
}

export const proxmoxMachineV1Alpha1: SpokeConversion = {
  version: "v1alpha1",
  toHub(src: KObject): KObject {
    const out = shell(src, HUB_API_VERSION);
    out.spec = machineSpecToHub(obj(src.spec) ?? {});
    const status = obj(src.status);
    if (status) put(out, "status", statusToHub(status));
    return out;
  },
  fromHub(src: KObject): KObject {
    const out = shell(src, SPOKE_API_VERSION);
    const spec = obj(src.spec);
    if (spec) out.spec = machineSpecFromHub(spec);
    const status = obj(src.status);
    if (status) out.status = statusFromHub(status);
    return out;
  },
  marshalHub: "always",
};

function templateSpec(t: unknown, mapSpec: (s: J) => J, alwaysSpec: boolean): J | undefined {
  const spec = obj(t);
  if (!spec) return undefined;
  const template = obj(spec.template);
  if (!template) return {};
  const out: J = {};
  put(out, "metadata", templateMetadata(template.metadata));
  const inner = obj(template.spec);
  if (inner || alwaysSpec) out.spec = mapSpec(inner ?? {});
  return { template: out };
}

export const proxmoxMachineTemplateV1Alpha1: SpokeConversion = {
  version: "v1alpha1",
  toHub(src: KObject): KObject {
    const out = shell(src, HUB_API_VERSION);
    put(out, "spec", templateSpec(src.spec, machineSpecToHub, true));
    return out;
  },
  fromHub(src: KObject): KObject {
    const out = shell(src, SPOKE_API_VERSION);
    put(out, "spec", templateSpec(src.spec, machineSpecFromHub, false));
    return out;
  },
  marshalHub: "always",
};
