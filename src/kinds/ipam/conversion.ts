/**
 * InClusterIPPool / GlobalInClusterIPPool: v1alpha1 ⇄ v1alpha2 (hub, storage), after upstream
 * `api/v1alpha1/conversion.go`.
 *
 * Up: `gateway`, `prefix` and `addresses` carry over; a `subnet` gives the range's defaults —
 * `start` = the subnet's second address, `end` = its second-to-last, `prefix` = its length when
 * unset — and `start`+`end` (from the subnet or given) become one more `addresses` entry
 * `start-end`. An unparsable subnet fails the write (422 at `spec.subnet`, netip's message), as
 * upstream's conversion fails. Down: `addresses`, `prefix`, `gateway`; `excludedAddresses`,
 * `allocateReservedIPAddresses` and `addressReuseGracePeriodSeconds` have no v1alpha1 field.
 *
 * Both directions keep what the other version cannot say in `cluster.x-k8s.io/conversion-data`
 * (the shared hub/spoke machinery of the Cluster API kinds), so v1alpha1 → v1alpha2 → v1alpha1 and
 * back are lossless; upstream only keeps the v1alpha1 form.
 * @module
 */
import { invalid } from "../../lib/api-errors.ts";
import type { KObject } from "../../lib/kobject.ts";
import { makeConverter, type Converter, type SpokeConversion } from "../capi/conversion/hub.ts";
import { shell } from "../capi/conversion/machine.ts";
import { withoutConversionData } from "../capi/conversion/preserve.ts";
import { type J, clone, jsonEqual, nonEmptyStr, num, obj, put } from "../capi/conversion/util.ts";
import { cause } from "../capi/webhooks/util.ts";
import { formatAddr, maxValue, parsePrefix, prefixBounds } from "./netip.ts";
import { IPAM_GROUP, POOL_API_VERSION, POOL_KINDS, POOL_VERSION } from "./pool-spec.ts";

const V1ALPHA1 = `${IPAM_GROUP}/v1alpha1`;

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined;
}

function specToHub(src: KObject, s: J): J {
  const out: J = {};
  put(out, "gateway", nonEmptyStr(s.gateway));
  let prefix = num(s.prefix) ?? 0;
  const addresses = strings(s.addresses);
  let start = nonEmptyStr(s.start);
  let end = nonEmptyStr(s.end);
  const subnet = nonEmptyStr(s.subnet);
  if (subnet) {
    const p = parsePrefix(subnet);
    if (!p.ok) throw invalid(src.kind ?? "InClusterIPPool", IPAM_GROUP, src.metadata?.name ?? "", [cause.invalid("spec.subnet", subnet, p.error)]);
    const { from, to } = prefixBounds(p.value);
    const family = p.value.addr.family;
    // netip's Next()/Prev() past either end give the zero Addr, printed "invalid IP".
    start ??= from < maxValue(family) ? formatAddr({ family, value: from + 1n }) : "invalid IP";
    end ??= to > 0n ? formatAddr({ family, value: to - 1n }) : "invalid IP";
    if (prefix === 0) prefix = p.value.bits;
  }
  const all = addresses ? [...addresses] : start && end ? [] : undefined;
  if (start && end) all!.push(`${start}-${end}`);
  put(out, "addresses", all);
  out.prefix = prefix;
  return out;
}

function specFromHub(h: J): J {
  const out: J = {};
  const addresses = strings(h.addresses);
  if (addresses?.length) out.addresses = clone(addresses);
  const prefix = num(h.prefix);
  if (prefix) out.prefix = prefix;
  put(out, "gateway", nonEmptyStr(h.gateway));
  return out;
}

function statusCopy(src: KObject, out: KObject): void {
  const status = obj(src.status);
  if (status) out.status = clone(status);
}

const poolV1Alpha1: SpokeConversion = {
  version: "v1alpha1",
  toHub(src) {
    const out = shell(src, POOL_API_VERSION);
    const spec = obj(src.spec);
    if (spec) out.spec = specToHub(src, spec);
    statusCopy(src, out);
    return out;
  },
  fromHub(src) {
    const out = shell(src, V1ALPHA1);
    const spec = obj(src.spec);
    if (spec) out.spec = specFromHub(spec);
    statusCopy(src, out);
    return out;
  },
  marshalHub: "when-lossy",
};

const ADDRESSING = ["addresses", "prefix", "gateway"] as const;

function sameAddressing(a: unknown, b: unknown): boolean {
  const sa = obj(a) ?? {};
  const sb = obj(b) ?? {};
  return ADDRESSING.every((k) => jsonEqual(sa[k] ?? (k === "prefix" ? 0 : undefined), sb[k] ?? (k === "prefix" ? 0 : undefined)));
}

/**
 * `subnet`/`start`/`end` and `addresses` describe one set of addresses together, so a kept v1alpha1
 * form is only restored while it still converts to the hub's addresses, prefix and gateway (as
 * upstream's ConvertFrom checks); otherwise the plain conversion shows what the pool now holds.
 */
function guarded(convert: Converter): Converter {
  return (input, toApiVersion) => {
    const out = convert(input, toApiVersion);
    if (toApiVersion !== V1ALPHA1 || input.apiVersion === V1ALPHA1) return out;
    const hub = input.apiVersion === POOL_API_VERSION ? input : convert(input, POOL_API_VERSION);
    if (sameAddressing(poolV1Alpha1.toHub(withoutConversionData(out)).spec, hub.spec)) return out;
    return convert(withoutConversionData(hub), toApiVersion);
  };
}

/** `"ipam.cluster.x-k8s.io/<Kind>"` → converter between v1alpha1 and v1alpha2. */
export const poolConverters: Record<string, Converter> = Object.fromEntries(
  POOL_KINDS.map((kind) => [`${IPAM_GROUP}/${kind}`, guarded(makeConverter({ group: IPAM_GROUP, kind, hubVersion: POOL_VERSION, spokes: [poolV1Alpha1] }))]),
);
