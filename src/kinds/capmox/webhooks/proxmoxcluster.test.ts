import { describe, expect, test } from "bun:test";
import { ApiError, type StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { buildAddressSet, parseAddr, setContains } from "./ipset.ts";
import { isHostname, NO_IP_POOL_CONFIG, validateProxmoxCluster, validateProxmoxClusterTemplate } from "./proxmoxcluster.ts";

const V4 = { addresses: ["10.10.0.20-10.10.0.50", "10.10.0.64/28", "10.10.0.99"], prefix: 24, gateway: "10.10.0.1", metric: 100 };
const V6 = { addresses: ["fd00:10::20-fd00:10::50"], prefix: 64, gateway: "fd00:10::1", metric: 100 };

function cluster(spec: Record<string, unknown>): KObject {
  return {
    apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
    kind: "ProxmoxCluster",
    metadata: { name: "c1", namespace: "default" },
    spec: { controlPlaneEndpoint: { host: "10.10.0.5", port: 6443 }, dnsServers: ["10.10.0.1"], ipv4Config: V4, ...spec },
  };
}

function template(spec: Record<string, unknown>): KObject {
  const c = cluster(spec);
  return { apiVersion: c.apiVersion, kind: "ProxmoxClusterTemplate", metadata: { name: "t", namespace: "default" }, spec: { template: { spec: c.spec } } };
}

const inv = (field: string, message: string): StatusCause => ({ reason: "FieldValueInvalid", field, message });

function denial(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("expected the webhook to deny the request");
}

describe("ProxmoxCluster validation", () => {
  test("a cluster with an endpoint outside its pools passes (create and update)", () => {
    expect(validateProxmoxCluster(cluster({}), undefined)).toEqual([]);
    expect(validateProxmoxCluster(cluster({ ipv6Config: V6 }), cluster({}))).toEqual([]);
  });

  test("create without any IP pool config is denied (403, as upstream's plain error)", () => {
    const err = denial(() => validateProxmoxCluster(cluster({ ipv4Config: undefined }), undefined));
    expect(err.code).toBe(403);
    expect(err.message).toBe(`admission webhook "validation.proxmoxcluster.infrastructure.cluster.x-k8s.io" denied the request: ${NO_IP_POOL_CONFIG}`);
    // Upstream checks the pool config on create only.
    expect(validateProxmoxCluster(cluster({ ipv4Config: undefined, controlPlaneEndpoint: { host: "api.example.com", port: 6443 } }), cluster({}))).toEqual([]);
  });

  test("the endpoint must not lie in an IPv4 range, CIDR or single address", () => {
    for (const host of ["10.10.0.20", "10.10.0.35", "10.10.0.50", "10.10.0.64", "10.10.0.79", "10.10.0.99"]) {
      expect(validateProxmoxCluster(cluster({ controlPlaneEndpoint: { host, port: 6443 } }), undefined)).toEqual([
        inv("spec.ipv4Config.addresses", `Invalid value: ${JSON.stringify(V4.addresses)}: addresses may not contain the endpoint IP`),
      ]);
    }
    for (const host of ["10.10.0.19", "10.10.0.51", "10.10.0.80", "10.10.0.98"]) {
      expect(validateProxmoxCluster(cluster({ controlPlaneEndpoint: { host, port: 6443 } }), undefined)).toEqual([]);
    }
  });

  test("the endpoint must not lie in the IPv6 pool", () => {
    expect(validateProxmoxCluster(cluster({ ipv6Config: V6, controlPlaneEndpoint: { host: "fd00:10::2a", port: 6443 } }), undefined)).toEqual([
      inv("spec.ipv6Config.addresses", `Invalid value: ${JSON.stringify(V6.addresses)}: addresses may not contain the endpoint IP`),
    ]);
    expect(validateProxmoxCluster(cluster({ ipv6Config: V6, controlPlaneEndpoint: { host: "fd00:10::5", port: 6443 } }), undefined)).toEqual([]);
  });

  test("the check runs on update too", () => {
    expect(validateProxmoxCluster(cluster({ controlPlaneEndpoint: { host: "10.10.0.30", port: 6443 } }), cluster({}))).toHaveLength(1);
  });

  test("a hostname endpoint is not checked against the pools", () => {
    expect(validateProxmoxCluster(cluster({ controlPlaneEndpoint: { host: "k8s-api.lab.example.com", port: 6443 } }), undefined)).toEqual([]);
    expect(validateProxmoxCluster(cluster({ controlPlaneEndpoint: { host: "kubeapi", port: 6443 } }), undefined)).toEqual([]);
  });

  test("an endpoint that is neither an IP nor a hostname is invalid (an absent one too)", () => {
    expect(validateProxmoxCluster(cluster({ controlPlaneEndpoint: { host: "bad_host!", port: 6443 } }), undefined)).toEqual([
      inv("spec.controlPlaneEndpoint.host", 'Invalid value: "bad_host!": provided endpoint address is not a valid IP or FQDN'),
    ]);
    expect(validateProxmoxCluster(cluster({ controlPlaneEndpoint: undefined }), undefined)).toEqual([
      inv("spec.controlPlaneEndpoint.host", 'Invalid value: "": provided endpoint address is not a valid IP or FQDN'),
    ]);
  });

  test("pool entries must parse", () => {
    for (const bad of ["10.10.0.50-10.10.0.20", "10.10.0.1-fd00::1", "10.10.0.0/33", "10.10.0.0/024", "10.10.0.300", "10.10.0.010"]) {
      const addresses = ["10.10.0.20-10.10.0.30", bad];
      expect(validateProxmoxCluster(cluster({ ipv4Config: { ...V4, addresses } }), undefined)).toEqual([
        inv("spec.ipv4Config.addresses", `Invalid value: ${JSON.stringify(addresses)}: provided addresses are not valid IP addresses, ranges or CIDRs`),
      ]);
    }
  });

  test("an externally managed control plane skips the endpoint checks", () => {
    expect(validateProxmoxCluster(cluster({ externalManagedControlPlane: true, controlPlaneEndpoint: undefined }), undefined)).toEqual([]);
    expect(validateProxmoxCluster(cluster({ externalManagedControlPlane: true, controlPlaneEndpoint: { host: "10.10.0.30", port: 6443 } }), undefined)).toEqual([]);
  });
});

describe("ProxmoxClusterTemplate validation", () => {
  test("valid template passes", () => {
    expect(validateProxmoxClusterTemplate(template({}), undefined)).toEqual([]);
  });

  test("the same rules at spec.template.spec", () => {
    expect(validateProxmoxClusterTemplate(template({ controlPlaneEndpoint: { host: "10.10.0.21", port: 6443 } }), undefined)).toEqual([
      inv("spec.template.spec.ipv4Config.addresses", `Invalid value: ${JSON.stringify(V4.addresses)}: addresses may not contain the endpoint IP`),
    ]);
    const err = denial(() => validateProxmoxClusterTemplate(template({ ipv4Config: undefined }), undefined));
    expect(err.message).toBe(`admission webhook "validation.proxmoxclustertemplate.infrastructure.cluster.x-k8s.io" denied the request: ${NO_IP_POOL_CONFIG}`);
  });
});

describe("helpers", () => {
  test("isHostname follows CAPMOX's pattern", () => {
    for (const h of ["a", "node1", "k8s.example.com", "API.Example.COM", "a-b.c-d.io"]) expect(isHostname(h)).toBe(true);
    for (const h of ["", "10.0.0.1", "-a", "a..b", "a_b.com", "example.c0m"]) expect(isHostname(h)).toBe(false);
  });

  test("address sets keep families apart and ignore host bits of a prefix", () => {
    const set = buildAddressSet(["10.0.0.5/30", "::ffff:10.1.0.0/120"]);
    expect(set).toBeDefined();
    expect(setContains(set!, parseAddr("10.0.0.4")!)).toBe(true);
    expect(setContains(set!, parseAddr("10.0.0.8")!)).toBe(false);
    expect(setContains(set!, parseAddr("10.1.0.7")!)).toBe(false);
    expect(setContains(set!, parseAddr("::ffff:10.1.0.7")!)).toBe(true);
    expect(setContains(buildAddressSet(["fe80::/64"])!, parseAddr("fe80::1%eth0")!)).toBe(false);
  });
});
