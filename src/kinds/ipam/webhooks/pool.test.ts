import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApiError, StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { Registry } from "../../../registry/registry.ts";
import { systemContext } from "../../../registry/rest/context.ts";
import { create } from "../../../registry/rest/create.ts";
import { deleteObject } from "../../../registry/rest/delete.ts";
import type { RestDeps } from "../../../registry/rest/deps.ts";
import { get } from "../../../registry/rest/get.ts";
import { update } from "../../../registry/rest/update.ts";
import { openDatabase } from "../../../store/open.ts";
import { Store } from "../../../store/store.ts";
import { bundledKinds } from "../../index.ts";
import { bundledHooks, syncBundledCRDs } from "../../sync.ts";
import type { PoolSpec } from "../pool-spec.ts";
import { strandedAddresses, validatePoolSpec } from "./pool.ts";
import { bindPoolUsage, poolUsage, setPoolUsageSource, storePoolUsage } from "./usage.ts";

const inv = (field: string, message: string): StatusCause => ({ reason: "FieldValueInvalid", field, message });
const spec = (s: Partial<PoolSpec> = {}): PoolSpec => ({ addresses: ["10.0.0.10-10.0.0.20"], prefix: 24, gateway: "10.0.0.1", ...s });

describe("pool spec rules (create and update)", () => {
  const cases: { name: string; spec: PoolSpec; want: StatusCause[] }[] = [
    { name: "a range, a CIDR and single IPs of one subnet", spec: spec({ addresses: ["10.0.0.10-10.0.0.20", "10.0.0.64/28", "10.0.0.200"] }), want: [] },
    { name: "IPv6", spec: { addresses: ["fd00:10::10-fd00:10::ff"], prefix: 64, gateway: "fd00:10::1" }, want: [] },
    { name: "a gateway outside the subnet is not checked (upstream does not)", spec: spec({ gateway: "192.168.0.1" }), want: [] },
    { name: "no addresses", spec: spec({ addresses: [] }), want: [inv("spec.addresses", "Invalid value: []: addresses is required")] },
    { name: "negative prefix", spec: spec({ prefix: -1 }), want: [inv("spec.prefix", 'Invalid value: ["10.0.0.10-10.0.0.20"]: a valid prefix is required')] },
    {
      name: "an entry that is no IP, range nor CIDR",
      spec: spec({ addresses: ["10.0.0.10", "10.0.0.300", "10.0.0.9-10.0.0.1"] }),
      want: [
        inv("spec.addresses", 'Invalid value: "10.0.0.300": provided address is not a valid IP, range, nor CIDR'),
        inv("spec.addresses", 'Invalid value: "10.0.0.9-10.0.0.1": provided address is not a valid IP, range, nor CIDR'),
      ],
    },
    {
      name: "mixed IP families",
      spec: { addresses: ["10.0.0.10", "fd00::10"], prefix: 24 },
      want: [inv("spec.addresses", 'Invalid value: ["10.0.0.10","fd00::10"]: provided addresses are of mixed IP families')],
    },
    {
      name: "gateway that does not parse (netip's message)",
      spec: spec({ gateway: "10.0.0" }),
      want: [inv("spec.gateway", 'Invalid value: "10.0.0": ParseAddr("10.0.0"): IPv4 address too short')],
    },
    {
      name: "gateway of the other family",
      spec: spec({ gateway: "fd00::1" }),
      want: [inv("spec.gateway", 'Invalid value: "fd00::1": provided gateway and addresses are of mixed IP families')],
    },
    {
      name: "excluded entry that does not parse",
      spec: spec({ excludedAddresses: ["10.0.0.x"] }),
      want: [inv("spec.excludedAddresses", 'Invalid value: "10.0.0.x": provided address is not a valid IP, range, nor CIDR')],
    },
    {
      name: "excluded addresses of mixed families (and so mixed with the addresses)",
      spec: spec({ excludedAddresses: ["10.0.0.11", "fd00::1"] }),
      want: [
        inv("spec.excludedAddresses", 'Invalid value: ["10.0.0.11","fd00::1"]: provided addresses are of mixed IP families'),
        inv("spec.excludedAddresses", 'Invalid value: ["10.0.0.11","fd00::1"]: addresses and excluded addresses are of mixed IP families'),
      ],
    },
    {
      name: "excluded addresses of the other family",
      spec: spec({ excludedAddresses: ["fd00::1"] }),
      want: [inv("spec.excludedAddresses", 'Invalid value: ["fd00::1"]: addresses and excluded addresses are of mixed IP families')],
    },
    {
      name: "negative grace period",
      spec: spec({ addressReuseGracePeriodSeconds: -5 }),
      want: [inv("spec.addressReuseGracePeriodSeconds", "Invalid value: -5: addressReuseGracePeriodSeconds must not be negative")],
    },
    {
      name: "prefix longer than the family allows",
      spec: spec({ prefix: 33 }),
      want: [inv("spec.prefix", "Invalid value: 33: provided prefix is not valid")],
    },
    {
      name: "an entry outside the subnet of the lowest address",
      spec: spec({ addresses: ["10.0.1.5", "10.0.0.10-10.0.0.20", "10.0.0.250-10.0.1.2"] }),
      want: [
        inv("spec.addresses", 'Invalid value: "10.0.1.5": provided address belongs to a different subnet than others'),
        inv("spec.addresses", 'Invalid value: "10.0.0.250-10.0.1.2": provided address belongs to a different subnet than others'),
      ],
    },
    {
      name: "a CIDR larger than the prefix",
      spec: spec({ addresses: ["10.0.0.0/23"], prefix: 24 }),
      want: [inv("spec.addresses", 'Invalid value: "10.0.0.0/23": provided address belongs to a different subnet than others')],
    },
  ];
  for (const c of cases) test(c.name, () => expect(validatePoolSpec(c.spec)).toEqual(c.want));

  test("the subnet check waits for the other rules", () => {
    expect(validatePoolSpec(spec({ addresses: ["10.0.0.1", "10.9.0.1"], gateway: "x" }))).toEqual([
      inv("spec.gateway", 'Invalid value: "x": ParseAddr("x"): unable to parse IP'),
    ]);
  });
});

describe("strandedAddresses (update rule)", () => {
  test("allocated addresses a new spec no longer hands out, as ranges", () => {
    const allocated = ["10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.15", "junk"];
    expect(strandedAddresses(spec({ addresses: ["10.0.0.10-10.0.0.20"] }), allocated)).toEqual([]);
    const stranded = strandedAddresses(spec({ addresses: ["10.0.0.13-10.0.0.20"], excludedAddresses: ["10.0.0.15"] }), allocated);
    expect(stranded.map((r) => [r.from, r.to])).toEqual([
      [0x0a00000an, 0x0a00000cn],
      [0x0a00000fn, 0x0a00000fn],
    ]);
    expect(strandedAddresses(spec({ gateway: "10.0.0.11" }), allocated).length).toBe(1);
  });
});

describe("pool admission through the registry (real store)", () => {
  let dir: string;
  let d: RestDeps;
  const ctx = () => systemContext("test");
  const r = (plural: string, version = "v1alpha2") => d.registry.resolve("ipam.cluster.x-k8s.io", version, plural)!;
  const pool = (name: string, s: Partial<PoolSpec> = {}, annotations?: Record<string, string>): KObject => ({
    apiVersion: "ipam.cluster.x-k8s.io/v1alpha2",
    kind: "InClusterIPPool",
    metadata: { name, namespace: "default", ...(annotations ? { annotations } : {}) },
    spec: spec(s),
  });
  const address = (name: string, ip: string, poolName: string, kind = "InClusterIPPool", ns = "default"): KObject => ({
    apiVersion: "ipam.cluster.x-k8s.io/v1beta2",
    kind: "IPAddress",
    metadata: { name, namespace: ns },
    spec: { address: ip, prefix: 24, claimRef: { name }, poolRef: { apiGroup: "ipam.cluster.x-k8s.io", kind, name: poolName } },
  });
  const fail = (fn: () => unknown): ApiError => {
    try {
      fn();
    } catch (e) {
      return e as ApiError;
    }
    throw new Error("expected an error");
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "capx-ipam-wh-"));
    const store = new Store(openDatabase(join(dir, "s.db"), { synchronous: "NORMAL" }));
    const kinds = bundledKinds();
    d = { store, registry: new Registry(store, bundledHooks(kinds)), now: () => new Date() };
    for (const ns of ["default", "other"]) create(d, d.registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: ns } }, ctx());
    syncBundledCRDs(d, kinds);
    bindPoolUsage(d);
  });
  afterAll(() => {
    setPoolUsageSource(undefined);
    d.store.commit();
    rmSync(dir, { recursive: true, force: true });
  });

  test("create: the spec rules answer 422 with field causes", () => {
    const e = fail(() => create(d, r("inclusterippools"), "default", { ...pool("bad"), spec: { addresses: ["10.0.0.1", "fd00::1"], prefix: 24 } }, ctx()));
    expect(e.code).toBe(422);
    expect(e.message).toBe(
      'InClusterIPPool.ipam.cluster.x-k8s.io "bad" is invalid: spec.addresses: Invalid value: ["10.0.0.1","fd00::1"]: provided addresses are of mixed IP families',
    );
  });

  test("update: a spec that drops allocated addresses is refused (400); one that keeps them passes", () => {
    create(d, r("inclusterippools"), "default", pool("p1"), ctx());
    create(d, r("ipaddresses", "v1beta2"), "default", address("a1", "10.0.0.10", "p1"), ctx());
    create(d, r("ipaddresses", "v1beta2"), "default", address("a2", "10.0.0.11", "p1"), ctx());
    // Same name, other kind / namespace: not this pool's addresses.
    create(d, r("ipaddresses", "v1beta2"), "other", address("a3", "10.0.0.12", "p1", "InClusterIPPool", "other"), ctx());
    const stored = get(d, r("inclusterippools"), "default", "p1");
    const shrink = { ...stored, spec: spec({ addresses: ["10.0.0.11-10.0.0.20"], gateway: "10.0.0.11" }) };
    const e = fail(() => update(d, r("inclusterippools"), "default", "p1", shrink, ctx()));
    expect(e.code).toBe(400);
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe(
      'admission webhook "validation.inclusterippool.ipam.cluster.x-k8s.io" denied the request: pool addresses do not contain allocated addresses: [10.0.0.10-10.0.0.11]',
    );
    const grow = { ...stored, spec: spec({ addresses: ["10.0.0.10-10.0.0.30"] }) };
    expect(update(d, r("inclusterippools"), "default", "p1", grow, ctx()).object.spec).toMatchObject({ addresses: ["10.0.0.10-10.0.0.30"] });
  });

  test("delete: refused while IPAddresses reference the pool, allowed with the skip annotation or once they are gone", () => {
    const e = fail(() => deleteObject(d, r("inclusterippools"), "default", "p1", {}, ctx()));
    expect(e.code).toBe(400);
    expect(e.message).toBe(
      'admission webhook "validation.inclusterippool.ipam.cluster.x-k8s.io" denied the request: Pool has IPAddresses allocated. Cannot delete Pool until all IPAddresses have been removed.',
    );
    create(d, r("inclusterippools"), "default", pool("p2", {}, { "ipam.cluster.x-k8s.io/skip-validate-delete-webhook": "" }), ctx());
    create(d, r("ipaddresses", "v1beta2"), "default", address("b1", "10.0.0.10", "p2"), ctx());
    expect(deleteObject(d, r("inclusterippools"), "default", "p2", {}, ctx()).kind).toBe("deleted");
    for (const n of ["a1", "a2"]) deleteObject(d, r("ipaddresses", "v1beta2"), "default", n, {}, ctx());
    expect(deleteObject(d, r("inclusterippools"), "default", "p1", {}, ctx()).kind).toBe("deleted");
  });

  test("GlobalInClusterIPPool: addresses of every namespace count", () => {
    const g = { ...pool("g1"), kind: "GlobalInClusterIPPool", metadata: { name: "g1" } };
    create(d, r("globalinclusterippools"), "", g, ctx());
    create(d, r("ipaddresses", "v1beta2"), "other", address("c1", "10.0.0.15", "g1", "GlobalInClusterIPPool", "other"), ctx());
    const e = fail(() => deleteObject(d, r("globalinclusterippools"), "", "g1", {}, ctx()));
    expect(e.message).toContain('admission webhook "validation.globalinclusterippool.ipam.cluster.x-k8s.io" denied the request: Pool has IPAddresses allocated.');
    const stored = get(d, r("globalinclusterippools"), "", "g1");
    const e2 = fail(() => update(d, r("globalinclusterippools"), "", "g1", { ...stored, spec: spec({ excludedAddresses: ["10.0.0.15"] }) }, ctx()));
    expect(e2.message).toEndWith("pool addresses do not contain allocated addresses: [10.0.0.15-10.0.0.15]");
  });

  test("status writes skip the webhook; unchanged specs skip the in-use rule", () => {
    create(d, r("inclusterippools"), "default", pool("p3", { addresses: ["10.0.0.10"] }), ctx());
    create(d, r("ipaddresses", "v1beta2"), "default", address("out", "10.0.0.99", "p3"), ctx());
    const stored = get(d, r("inclusterippools"), "default", "p3");
    const relabeled = { ...stored, metadata: { ...stored.metadata, labels: { a: "b" } } };
    expect(update(d, r("inclusterippools"), "default", "p3", relabeled, ctx()).object.metadata.labels).toEqual({ a: "b" });
  });

  test("a pool's addresses come from an index that follows every write, in-flight ones included", () => {
    const usage = storePoolUsage(d);
    expect(usage).toBe(poolUsage()!); // one index per store
    const names = (kind: string, name: string, namespace?: string) => usage.addressesOf({ kind, name, namespace }).map((a) => `${a.metadata.namespace}/${a.metadata.name}`);
    expect(names("InClusterIPPool", "p3", "default")).toEqual(["default/out"]);
    create(d, r("ipaddresses", "v1beta2"), "default", address("in1", "10.0.0.10", "p3"), ctx());
    create(d, r("ipaddresses", "v1beta2"), "other", address("elsewhere", "10.0.0.10", "p3", "InClusterIPPool", "other"), ctx());
    // not committed yet (the group commit comes at the end of the tick): the next allocation must see it all the same
    expect(names("InClusterIPPool", "p3", "default")).toEqual(["default/in1", "default/out"]);
    deleteObject(d, r("ipaddresses", "v1beta2"), "default", "out", {}, ctx());
    expect(names("InClusterIPPool", "p3", "default")).toEqual(["default/in1"]);
    expect(names("InClusterIPPool", "p3", "other")).toEqual(["other/elsewhere"]);
    expect(names("GlobalInClusterIPPool", "g1")).toEqual(["other/c1"]);
  });
});
