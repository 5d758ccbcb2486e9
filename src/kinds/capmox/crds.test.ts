import { describe, expect, it, test } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { validateCRD } from "../../registry/builtin/crd.ts";
import { crdToResource, type CRDObject } from "../../registry/crd/to-resource.ts";
import { applyDefaults, checkSchemaTypes, dropNulls, validateValue } from "../../registry/schema/index.ts";
import { BUNDLED_ANNOTATION } from "../types.ts";
import { capmoxSchema } from "./conversion/testing.ts";
import { capmoxCRDs } from "./crds.ts";

const GROUP = "infrastructure.cluster.x-k8s.io";

interface Expected {
  kind: string;
  plural: string;
  shortNames?: string[];
  categories: string[];
  /** Versions with a status subresource. */
  status: string[];
  columns: Record<string, string[]>;
}

const EXPECTED: Expected[] = [
  {
    kind: "ProxmoxCluster",
    plural: "proxmoxclusters",
    categories: ["cluster-api"],
    status: ["v1alpha1", "v1alpha2"],
    columns: { v1alpha1: ["Cluster", "Ready", "Endpoint"], v1alpha2: ["Cluster", "Ready", "Endpoint"] },
  },
  { kind: "ProxmoxClusterTemplate", plural: "proxmoxclustertemplates", shortNames: ["pct"], categories: ["cluster-api"], status: ["v1alpha1"], columns: {} },
  {
    kind: "ProxmoxMachine",
    plural: "proxmoxmachines",
    shortNames: ["moxm"],
    categories: ["cluster-api", "proxmox"],
    status: ["v1alpha1", "v1alpha2"],
    columns: { v1alpha1: ["Cluster", "Ready", "Node", "Provider_ID", "Machine"], v1alpha2: ["Cluster", "Ready", "Node", "Provider_ID", "Machine"] },
  },
  { kind: "ProxmoxMachineTemplate", plural: "proxmoxmachinetemplates", shortNames: ["pmt"], categories: ["cluster-api"], status: [], columns: {} },
];

const byKind = new Map(capmoxCRDs.map((c) => [c.spec.names.kind, c]));

describe("bundled CAPMOX CRDs", () => {
  it("are the four CAPMOX kinds", () => {
    expect([...byKind.keys()].sort()).toEqual(EXPECTED.map((e) => e.kind).sort());
  });

  for (const e of EXPECTED) {
    describe(e.kind, () => {
      const crd = () => byKind.get(e.kind) as CRDObject;

      it("passes the project's CRD validation", () => {
        expect(validateCRD(structuredClone(crd()))).toEqual([]);
        crd().spec.versions.forEach((v, i) => {
          expect(checkSchemaTypes(v.schema!.openAPIV3Schema!, `spec.versions[${i}].schema.openAPIV3Schema`)).toBeUndefined();
        });
        expect(() => crdToResource(crd())).not.toThrow();
      });

      it("has the upstream names, short names, categories and scope", () => {
        const c = crd();
        expect(c.metadata.name).toBe(`${e.plural}.${GROUP}`);
        expect(c.spec.group).toBe(GROUP);
        expect(c.spec.scope).toBe("Namespaced");
        expect(c.spec.names).toEqual({
          kind: e.kind,
          listKind: `${e.kind}List`,
          plural: e.plural,
          singular: e.kind.toLowerCase(),
          categories: e.categories,
          ...(e.shortNames ? { shortNames: e.shortNames } : {}),
        });
      });

      it("serves v1alpha1 and v1alpha2 with v1alpha2 as storage, converting in-process", () => {
        const c = crd();
        expect(c.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([
          ["v1alpha1", true, false],
          ["v1alpha2", true, true],
        ]);
        expect(c.spec.conversion).toEqual({ strategy: "None" });
      });

      it("has the upstream subresources and printer columns", () => {
        for (const v of crd().spec.versions) {
          // (Upstream's v1alpha1 ProxmoxClusterTemplate has a status subresource, v1alpha2 none.)
          expect(v.subresources?.status !== undefined).toBe(e.status.includes(v.name));
          expect((v.additionalPrinterColumns ?? []).map((c) => c.name)).toEqual(e.columns[v.name] ?? []);
        }
      });

      it("carries the provenance annotations and the labels of a clusterctl-installed provider", () => {
        const a = crd().metadata.annotations ?? {};
        expect(a[BUNDLED_ANNOTATION]).toBe("true");
        expect(a["capx.dev/upstream"]).toBe(`ionos-cloud/cluster-api-provider-proxmox main (infrastructure.cluster.x-k8s.io_${e.plural}.yaml)`);
        expect(crd().metadata.labels).toEqual({
          "cluster.x-k8s.io/provider": "infrastructure-proxmox",
          "cluster.x-k8s.io/v1beta1": "v1alpha2",
          "cluster.x-k8s.io/v1beta2": "v1alpha2",
          "clusterctl.cluster.x-k8s.io": "",
        });
      });
    });
  }

  test("the Ready column reads status.ready in v1alpha1 and status.initialization.provisioned in v1alpha2", () => {
    for (const kind of ["ProxmoxCluster", "ProxmoxMachine"]) {
      const ready = (version: string) => byKind.get(kind)!.spec.versions.find((v) => v.name === version)!.additionalPrinterColumns!.find((c) => c.name === "Ready")!.jsonPath;
      expect(ready("v1alpha1")).toBe(".status.ready");
      expect(ready("v1alpha2")).toBe(".status.initialization.provisioned");
    }
  });
});

// ---- schema rules (CEL, patterns, defaults) -------------------------------------------------------

/** Schema causes (`field: message`), without the "some rules were not checked" notice. */
function admit(kind: string, version: string, obj: KObject, old?: KObject): string[] {
  const schema = capmoxSchema(kind, version);
  const copy = JSON.parse(JSON.stringify(obj)) as KObject;
  dropNulls(copy, schema);
  applyDefaults(copy, schema);
  return validateValue(copy, schema, { root: true, oldObj: old })
    .map((c) => `${c.field}: ${c.message}`)
    .filter((m) => !m.includes("some validation rules were not checked"));
}

const NET_V1A2 = { networkDevices: [{ name: "net0", bridge: "vmbr0" }] };
const NET_V1A1 = { default: { bridge: "vmbr0" } };

type Obj = KObject & Record<string, any>;

function pm(version: "v1alpha1" | "v1alpha2", spec: Record<string, unknown>): Obj {
  return {
    apiVersion: `${GROUP}/${version}`,
    kind: "ProxmoxMachine",
    metadata: { name: "m" },
    spec: { network: version === "v1alpha2" ? NET_V1A2 : NET_V1A1, ...spec },
  };
}

const SOURCE = { sourceNode: "pve1", templateID: 9001 };

describe("ProxmoxMachine schema rules", () => {
  for (const version of ["v1alpha1", "v1alpha2"] as const) {
    const check = (spec: Record<string, unknown>, old?: Record<string, unknown>) =>
      admit("ProxmoxMachine", version, pm(version, spec), old ? pm(version, old) : undefined);
    const either = version === "v1alpha2" ? "must define either a SourceNode with a TemplateID or a TemplateSelector" : "must define either SourceNode with TemplateID, OR TemplateSelector";

    test(`${version}: valid sources pass`, () => {
      expect(check(SOURCE)).toEqual([]);
      expect(check({ templateSelector: { matchTags: ["talos", "Ubuntu_24.04"] } })).toEqual([]);
    });

    test(`${version}: exactly one of sourceNode / templateSelector`, () => {
      // Both exists_one rules fail; v1alpha1's second message ends with a full stop.
      const second = version === "v1alpha2" ? either : `${either}.`;
      expect(check({ ...SOURCE, templateSelector: { matchTags: ["talos"] } })).toEqual([`spec: Invalid value: "object": ${either}`, `spec: Invalid value: "object": ${second}`]);
    });

    test(`${version}: exactly one of templateID / templateSelector`, () => {
      const out = check({ templateID: 9001, templateSelector: { matchTags: ["talos"] } });
      expect(out).toContain(`spec: Invalid value: "object": ${version === "v1alpha2" ? either : `${either}.`}`);
    });

    test(`${version}: format and storage only with a full clone`, () => {
      expect(check({ ...SOURCE, full: false, format: "qcow2" })).toEqual(['spec: Invalid value: "object": Must set full=true when specifying format']);
      expect(check({ ...SOURCE, full: false, storage: "local-lvm" })).toEqual(['spec: Invalid value: "object": Must set full=true when specifying storage']);
      // full defaults to true.
      expect(check({ ...SOURCE, format: "qcow2", storage: "local-lvm" })).toEqual([]);
    });

    test(`${version}: the boot volume is immutable`, () => {
      const disks = (sizeGb: number) => ({ disks: { bootVolume: { disk: "scsi0", sizeGb } } });
      expect(check({ ...SOURCE, ...disks(20) }, { ...SOURCE, ...disks(20) })).toEqual([]);
      expect(check({ ...SOURCE, ...disks(30) }, { ...SOURCE, ...disks(20) })).toEqual(['spec.disks.bootVolume: Invalid value: "object": Value is immutable']);
      expect(check({ ...SOURCE, ...disks(4) })).toEqual(["spec.disks.bootVolume.sizeGb: Invalid value: 4: spec.disks.bootVolume.sizeGb in body should be greater than or equal to 5"]);
    });

    test(`${version}: vmIDRange end ≥ start`, () => {
      expect(check({ ...SOURCE, vmIDRange: { start: 1000, end: 1000 } })).toEqual([]);
      expect(check({ ...SOURCE, vmIDRange: { start: 1000, end: 999 } })).toEqual(['spec.vmIDRange: Invalid value: "object": end should be greater than or equal to start']);
    });

    test(`${version}: tags follow the (?i) pattern`, () => {
      expect(check({ ...SOURCE, tags: ["K8s", "worker_1", "a.b-c+d"] })).toEqual([]);
      expect(check({ ...SOURCE, tags: ["bad tag"] })).toHaveLength(1);
    });
  }

  test("v1alpha2: templateID needs sourceNode", () => {
    expect(admit("ProxmoxMachine", "v1alpha2", pm("v1alpha2", { templateID: 9001 }))).toContain('spec: Invalid value: "object": Must specify either templateID or templateSelector');
  });

  test("v1alpha2: network is required, and device rules apply", () => {
    const noNetwork = pm("v1alpha2", SOURCE);
    delete noNetwork.spec.network;
    expect(admit("ProxmoxMachine", "v1alpha2", noNetwork)).toEqual(['spec.network: Required value']);
    const devices = (d: Record<string, unknown>) => pm("v1alpha2", { ...SOURCE, network: { networkDevices: [{ name: "net0", bridge: "vmbr0", ...d }] } });
    expect(admit("ProxmoxMachine", "v1alpha2", devices({ mtu: 100 }))).toEqual(['spec.network.networkDevices[0].mtu: Invalid value: "integer": invalid MTU value']);
    expect(admit("ProxmoxMachine", "v1alpha2", devices({ routingPolicy: [{ table: 5, priority: 32765 }] }))).toEqual([
      'spec.network.networkDevices[0].routingPolicy[0].priority: Invalid value: "integer": Cowardly refusing to insert FIB rule matching kernel rules',
    ]);
    expect(admit("ProxmoxMachine", "v1alpha2", devices({ ipPoolRef: [{ apiGroup: "ipam.cluster.x-k8s.io", kind: "IPAddressPool", name: "p" }] }))).toEqual([
      'spec.network.networkDevices[0].ipPoolRef[0]: Invalid value: "object": ipPoolRef allows either InClusterIPPool or GlobalInClusterIPPool',
    ]);
    const vrf = pm("v1alpha2", { ...SOURCE, network: { ...NET_V1A2, vrfs: [{ name: "vrf-a", table: 254 }] } });
    expect(admit("ProxmoxMachine", "v1alpha2", vrf)).toEqual(['spec.network.vrfs[0].table: Invalid value: "integer": Cowardly refusing to insert l3mdev rules into kernel tables']);
  });

  test("v1alpha1: additional devices may not be net0 and need a pool", () => {
    const additional = (d: Record<string, unknown>) => pm("v1alpha1", { ...SOURCE, network: { ...NET_V1A1, additionalDevices: [{ bridge: "vmbr1", ...d }] } });
    const pool = { ipv4PoolRef: { apiGroup: "ipam.cluster.x-k8s.io", kind: "InClusterIPPool", name: "p" } };
    expect(admit("ProxmoxMachine", "v1alpha1", additional({ name: "net1", ...pool }))).toEqual([]);
    expect(admit("ProxmoxMachine", "v1alpha1", additional({ name: "net0", ...pool }))).toEqual([
      `spec.network.additionalDevices[0].name: Invalid value: "string": additional network devices doesn't allow net0`,
    ]);
    const [noPool] = admit("ProxmoxMachine", "v1alpha1", additional({ name: "net1" }));
    expect(noPool).toContain("at least one pool reference must be set, either ipv4PoolRef or ipv6PoolRef");
  });

  test("v1alpha2: providerID must be proxmox://<uuid>", () => {
    expect(admit("ProxmoxMachine", "v1alpha2", pm("v1alpha2", { ...SOURCE, providerID: "proxmox://0c3a9e25-6f2b-4d1e-9a57-3b1f0e8c2d4a" }))).toEqual([]);
    expect(admit("ProxmoxMachine", "v1alpha2", pm("v1alpha2", { ...SOURCE, providerID: "proxmox://vm-100" })).length).toBeGreaterThan(0);
  });

  test("ProxmoxMachineTemplate v1alpha2 carries the clone rules", () => {
    const t: KObject = { apiVersion: `${GROUP}/v1alpha2`, kind: "ProxmoxMachineTemplate", metadata: { name: "t" }, spec: { template: { spec: { ...SOURCE, network: NET_V1A2, full: false, storage: "local-lvm" } } } };
    expect(admit("ProxmoxMachineTemplate", "v1alpha2", t)).toEqual(['spec.template.spec: Invalid value: "object": Must set full=true when specifying storage']);
  });
});

describe("ProxmoxCluster schema rules", () => {
  const IPV4 = { addresses: ["10.10.0.20-10.10.0.50"], prefix: 24, gateway: "10.10.0.1" };
  const pc = (version: string, spec: Record<string, unknown>, status?: Record<string, unknown>): Obj => ({
    apiVersion: `${GROUP}/${version}`,
    kind: "ProxmoxCluster",
    metadata: { name: "c" },
    spec: { controlPlaneEndpoint: { host: "10.10.0.5", port: 6443 }, dnsServers: ["10.10.0.1"], ipv4Config: IPV4, ...spec },
    ...(status ? { status } : {}),
  });

  for (const version of ["v1alpha1", "v1alpha2"]) {
    test(`${version}: an IP config is required and must list addresses`, () => {
      expect(admit("ProxmoxCluster", version, pc(version, {}))).toEqual([]);
      expect(admit("ProxmoxCluster", version, pc(version, { ipv4Config: undefined }))).toEqual([
        // `self.ipv4Config` on an absent field is an evaluation error, reported as kube-apiserver does.
        'spec: Invalid value: "object": no such key: ipv4Config evaluating rule: at least one ip config must be set, either ipv4Config or ipv6Config',
      ]);
      expect(admit("ProxmoxCluster", version, pc(version, { ipv4Config: { ...IPV4, addresses: [] } }))).toEqual([
        'spec.ipv4Config: Invalid value: "object": IPv4Config addresses must be provided',
      ]);
    });

    test(`${version}: the endpoint port is 1-65535`, () => {
      expect(admit("ProxmoxCluster", version, pc(version, { controlPlaneEndpoint: { host: "10.10.0.5", port: 70000 } }))).toContain(
        'spec.controlPlaneEndpoint: Invalid value: "object": port must be within 1-65535',
      );
    });

    test(`${version}: the metric defaults to 100`, () => {
      const obj = pc(version, {});
      applyDefaults(obj, capmoxSchema("ProxmoxCluster", version));
      expect(obj.spec.ipv4Config.metric).toBe(100);
    });
  }

  test("status.failureDomains (appliance extension) is accepted in both versions, in each contract's shape", () => {
    expect(admit("ProxmoxCluster", "v1alpha2", pc("v1alpha2", {}, { failureDomains: [{ name: "pve1", controlPlane: true }, { name: "pve2", attributes: { rack: "a" } }] }))).toEqual([]);
    expect(admit("ProxmoxCluster", "v1alpha1", pc("v1alpha1", {}, { failureDomains: { pve1: { controlPlane: true }, pve2: { attributes: { rack: "a" } } } }))).toEqual([]);
    expect(admit("ProxmoxCluster", "v1alpha2", pc("v1alpha2", {}, { failureDomains: [{ controlPlane: true }] }))).toEqual(["status.failureDomains[0].name: Required value"]);
  });
});
