/**
 * IPAddress admission (ipam.cluster.x-k8s.io/v1beta2), after upstream release-1.14
 * `core/webhooks/admission/ipaddress.go`. Validation only (no defaulting webhook).
 *
 * IPAddress create: `spec.address` must parse (net/netip), `spec.prefix` not negative and at most
 * 32 (IPv4) / 128 (IPv6), `spec.gateway` (when set) must parse. Upstream also checks, with a
 * client, that `spec.poolRef` equals the pool of the referenced IPAddressClaim when that claim
 * exists: that needs a store read, so it is offered as {@link validateIPAddressAgainstClaim} for
 * the caller to run. Update: `spec` is immutable (nothing else is checked on update).
 *
 * Upstream returns these as plain field errors (HTTP 403 "denied the request"); here they are
 * causes of the 422 Invalid the registry builds.
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import { goJsonString } from "../../../lib/go-format.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { parseIP } from "../../../registry/schema/formats.ts";
import { cause, isObject, objAt, Rendered, sortedKeys, strAt, valueAt } from "./util.ts";

export const IP_ADDRESS_WEBHOOKS = { validating: "validation.ipaddress.ipam.cluster.x-k8s.io" };

/** netip.ParseAddr: 4 bytes (IPv4), 16 bytes (IPv6, optionally with a non-empty zone), or null. */
export function parseNetipAddr(s: string): number[] | null {
  const pct = s.indexOf("%");
  if (pct >= 0) {
    if (pct === s.length - 1) return null;
    const ip = parseIP(s.slice(0, pct));
    return ip && ip.length === 16 ? ip : null;
  }
  return parseIP(s);
}

export function validateIPAddress(obj: KObject, old: KObject | undefined): StatusCause[] {
  if (old) return specImmutable("IPAddress", obj, old);
  const causes: StatusCause[] = [];
  const spec = objAt(obj, "spec");
  const address = strAt(spec, "address");
  const ip = parseNetipAddr(address);
  if (!ip) causes.push(cause.invalid("spec.address", address, "not a valid IP address"));
  const prefixValue = valueAt(spec, "prefix");
  const prefix = typeof prefixValue === "number" ? prefixValue : 0;
  if (prefix < 0) causes.push(cause.invalid("spec.prefix", prefix, "prefix cannot be negative"));
  if (ip?.length === 4 && prefix > 32) causes.push(cause.invalid("spec.prefix", prefix, "prefix is too large for an IPv4 address"));
  if (ip?.length === 16 && prefix > 128) causes.push(cause.invalid("spec.prefix", prefix, "prefix is too large for an IPv6 address"));
  const gateway = strAt(spec, "gateway");
  if (gateway !== "" && !parseNetipAddr(gateway)) causes.push(cause.invalid("spec.gateway", gateway, "not a valid IP address"));
  return causes;
}

/**
 * The claim part of upstream's IPAddress create validation: when the claim named by
 * `spec.claimRef.name` (same namespace) exists, its `spec.poolRef` must equal the address's.
 */
export function validateIPAddressAgainstClaim(ip: KObject, claim: KObject | undefined): StatusCause[] {
  if (!claim) return [];
  const a = objAt(ip, "spec", "poolRef");
  const b = objAt(claim, "spec", "poolRef");
  const same = (k: string) => strAt(a, k) === strAt(b, k);
  if (same("apiGroup") && same("kind") && same("name")) return [];
  const rendered = `{"apiGroup":${goJsonString(strAt(a, "apiGroup"))},"kind":${goJsonString(strAt(a, "kind"))},"name":${goJsonString(strAt(a, "name"))}}`;
  return [
    cause.invalid(
      "spec.poolRef",
      new Rendered(rendered),
      "the referenced pool is different from the pool referenced by the claim this address should fulfill",
    ),
  ];
}

/** `spec: Forbidden: <Kind> spec is immutable. Diff: ...` when the spec changed (also used for IPAddressClaim). */
export function specImmutable(kind: string, obj: KObject, old: KObject): StatusCause[] {
  const diff = specDiff(normalize(old.spec), normalize(obj.spec));
  if (!diff.length) return [];
  return [cause.forbidden("spec", `${kind} spec is immutable. Diff: ${diff.join("\n")}`)];
}

/** Go compares typed structs: absent, null and "" / {} zero values are all the same. */
function normalize(v: unknown): unknown {
  if (v === null || v === undefined || v === "") return undefined;
  if (Array.isArray(v)) return v.length ? v.map(normalize) : undefined;
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of sortedKeys(v)) {
      const n = normalize(v[k]);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v;
}

/** `- path: old` / `+ path: new` lines for each leaf that differs (a readable stand-in for go-cmp). */
function specDiff(a: unknown, b: unknown, path = ""): string[] {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => specDiff(a[k], b[k], path ? `${path}.${k}` : k));
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const show = (v: unknown) => (v === undefined ? "<unset>" : JSON.stringify(v));
  return [`- ${path}: ${show(a)}`, `+ ${path}: ${show(b)}`];
}
