import { describe, expect, it } from "bun:test";
import type { ConfigDocument } from "./generate.ts";
import { applyConfigPatches, applyJsonPatch, applyStrategicPatch, applyStrategicPatches, MULTIDOC_JSON_PATCH_ERROR, PatchError } from "./patch.ts";

type Any = Record<string, any>;

/** A trimmed v1alpha1 document + HostnameConfig, as contract 1.12/1.13 generate them. */
function fixture(): ConfigDocument[] {
  return [
    {
      version: "v1alpha1",
      machine: {
        type: "worker",
        certSANs: ["a"],
        kubelet: { image: "ghcr.io/siderolabs/kubelet:v1.33.1", extraArgs: { foo: "1" } },
        install: { wipe: false },
        network: { interfaces: [{ interface: "eth0", dhcp: true, vlans: [{ vlanId: 10, mtu: 1500 }] }] },
      },
      cluster: {
        network: { dnsDomain: "cluster.local", podSubnets: ["10.244.0.0/16"], serviceSubnets: ["10.96.0.0/12"] },
        apiServer: {
          admissionControl: [{ name: "PodSecurity", configuration: { defaults: { enforce: "baseline", warn: "restricted" } } }],
          auditPolicy: { apiVersion: "audit.k8s.io/v1", kind: "Policy", rules: [{ level: "Metadata" }] },
        },
      },
    },
    { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" },
  ];
}

describe("RFC 6902 config patches", () => {
  const single = () => [fixture()[0]!];

  it("applies add / replace / remove / move / copy / test on a single document", () => {
    const [out] = applyConfigPatches(single(), [
      { op: "add", path: "/machine/network/hostname", value: "w1" },
      { op: "replace", path: "/machine/install/wipe", value: true },
      { op: "add", path: "/machine/certSANs/-", value: "b" },
      { op: "add", path: "/machine/certSANs/0", value: "z" },
      { op: "remove", path: "/machine/kubelet/extraArgs" },
      { op: "copy", from: "/machine/type", path: "/machine/copied" },
      { op: "move", from: "/machine/copied", path: "/machine/moved" },
      { op: "test", path: "/machine/moved", value: "worker" },
    ]) as [Any];
    expect(out.machine.network.hostname).toBe("w1");
    expect(out.machine.install.wipe).toBe(true);
    expect(out.machine.certSANs).toEqual(["z", "a", "b"]);
    expect(out.machine.kubelet.extraArgs).toBeUndefined();
    expect(out.machine.copied).toBeUndefined();
    expect(out.machine.moved).toBe("worker");
  });

  it("does not change its input", () => {
    const input = single();
    const before = JSON.stringify(input);
    applyJsonPatch(input[0]!, [{ op: "add", path: "/machine/x", value: 1 }]);
    expect(JSON.stringify(input)).toBe(before);
  });

  it("reports failures as Talos does", () => {
    expect(() => applyConfigPatches(single(), [{ op: "add", path: "/machine/nope/deeper", value: 1 }])).toThrow(
      'failure applying rfc6902 patches to talos machine config: add operation does not apply: doc is missing path: "/machine/nope/deeper": missing value',
    );
    expect(() => applyConfigPatches(single(), [{ op: "test", path: "/machine/type", value: "controlplane" }])).toThrow("test failed");
    expect(() => applyConfigPatches(single(), [{ op: "replace", path: "/machine/absent", value: 1 }])).toThrow("missing key");
    expect(() => applyConfigPatches(single(), [{ op: "frobnicate", path: "/machine" }])).toThrow("unexpected JSON patch operation");
  });

  it("refuses multi-document configs, pointing at strategicPatches", () => {
    expect(() => applyConfigPatches(fixture(), [{ op: "add", path: "/machine/x", value: 1 }])).toThrow(PatchError);
    expect(() => applyConfigPatches(fixture(), [{ op: "add", path: "/machine/x", value: 1 }])).toThrow(MULTIDOC_JSON_PATCH_ERROR);
    expect(MULTIDOC_JSON_PATCH_ERROR).toStartWith("JSON6902 patches are not supported for multi-document machine configuration");
    expect(MULTIDOC_JSON_PATCH_ERROR).toContain("strategicPatches");
    // No operations: nothing to refuse.
    expect(applyConfigPatches(fixture(), [])).toEqual(fixture());
  });
});

describe("strategic merge patches", () => {
  it("merges maps, replaces scalars, appends lists", () => {
    const [out] = applyStrategicPatches(fixture(), [
      "machine:\n  certSANs: [b]\n  kubelet:\n    image: other:v1\n    extraArgs: {bar: '2'}\n  install:\n    wipe: true\n",
    ]) as [Any];
    expect(out.machine.certSANs).toEqual(["a", "b"]);
    expect(out.machine.kubelet).toEqual({ image: "other:v1", extraArgs: { foo: "1", bar: "2" } });
    expect(out.machine.install.wipe).toBe(true);
    expect(out.version).toBe("v1alpha1");
  });

  it("does not let empty values override", () => {
    const [out] = applyStrategicPatches(fixture(), ["machine:\n  type: ''\n  kubelet:\n    image: null\n"]) as [Any];
    expect(out.machine.type).toBe("worker");
    expect(out.machine.kubelet.image).toBe("ghcr.io/siderolabs/kubelet:v1.33.1");
  });

  it("replaces pod / service subnets and the audit policy instead of appending", () => {
    const [out] = applyStrategicPatches(fixture(), [
      "cluster:\n  network:\n    podSubnets: [10.1.0.0/16]\n    serviceSubnets: [10.2.0.0/16]\n  apiServer:\n    auditPolicy:\n      apiVersion: audit.k8s.io/v1\n      kind: Policy\n      rules: [{level: None}]\n",
    ]) as [Any];
    expect(out.cluster.network.podSubnets).toEqual(["10.1.0.0/16"]);
    expect(out.cluster.network.serviceSubnets).toEqual(["10.2.0.0/16"]);
    expect(out.cluster.apiServer.auditPolicy.rules).toEqual([{ level: "None" }]);
  });

  it("replaces extraArgs values per argument", () => {
    const docs: ConfigDocument[] = [{ version: "v1alpha1", machine: { kubelet: { extraArgs: { a: ["1", "2"], b: "x" } } } }];
    const [out] = applyStrategicPatches(docs, ["machine:\n  kubelet:\n    extraArgs:\n      a: ['3']\n      c: y\n"]) as [Any];
    expect(out.machine.kubelet.extraArgs).toEqual({ a: ["3"], b: "x", c: "y" });
  });

  it("replaces subnets in the multi-document KubeNetworkConfig too", () => {
    const docs: ConfigDocument[] = [{ apiVersion: "v1alpha1", kind: "KubeNetworkConfig", podSubnets: ["10.244.0.0/16"], serviceSubnets: ["10.96.0.0/12"] }];
    const out = applyStrategicPatches(docs, ["apiVersion: v1alpha1\nkind: KubeNetworkConfig\npodSubnets: [10.9.0.0/16]\n"]);
    expect(out).toEqual([{ apiVersion: "v1alpha1", kind: "KubeNetworkConfig", podSubnets: ["10.9.0.0/16"], serviceSubnets: ["10.96.0.0/12"] }]);
  });

  it("merges admission plugins by name, interfaces by name and VLANs by id", () => {
    const [out] = applyStrategicPatches(fixture(), [
      [
        "machine:",
        "  network:",
        "    interfaces:",
        "      - interface: eth0",
        "        mtu: 9000",
        "        vlans: [{vlanId: 10, mtu: 1400}, {vlanId: 20}]",
        "      - interface: eth1",
        "        dhcp: false",
        "cluster:",
        "  apiServer:",
        "    admissionControl:",
        "      - name: PodSecurity",
        "        configuration: {defaults: {enforce: restricted}, exemptions: {namespaces: [extra]}}",
        "      - name: Other",
        "        configuration: {}",
      ].join("\n"),
    ]) as [Any];
    expect(out.machine.network.interfaces).toEqual([
      { interface: "eth0", dhcp: true, mtu: 9000, vlans: [{ vlanId: 10, mtu: 1400 }, { vlanId: 20 }] },
      { interface: "eth1", dhcp: false },
    ]);
    expect(out.cluster.apiServer.admissionControl).toEqual([
      // Same-name plugins merge deeply (Talos AdmissionPluginConfigList.Merge), keeping `warn`.
      { name: "PodSecurity", configuration: { defaults: { enforce: "restricted", warn: "restricted" }, exemptions: { namespaces: ["extra"] } } },
      { name: "Other", configuration: {} },
    ]);
  });

  it("deletes keys and documents with $patch: delete, and appends unknown documents", () => {
    const out = applyStrategicPatches(fixture(), [
      "machine:\n  kubelet:\n    extraArgs:\n      $patch: delete\n---\napiVersion: v1alpha1\nkind: HostnameConfig\n$patch: delete\n---\napiVersion: v1alpha1\nkind: SysctlConfig\nparams: {a: b}\n",
    ]);
    expect((out[0] as Any).machine.kubelet.extraArgs).toBeUndefined();
    expect(out.map((d) => d.kind ?? "v1alpha1")).toEqual(["v1alpha1", "SysctlConfig"]);
  });

  it("deletes list items by field, then merges the rest of the same patch", () => {
    const [out] = applyStrategicPatches(fixture(), [
      [
        "machine:",
        "  network:",
        "    interfaces:",
        "      - interface: eth0",
        "        $patch: delete",
        "      - interface: eth1",
        "        addresses: [10.3.5.5/32]",
        "      - interface: eth0",
        "        dummy: true",
        "cluster:",
        "  apiServer:",
        "    admissionControl:",
        "      - name: PodSecurity",
        "        $patch: delete",
      ].join("\n"),
    ]) as [Any];
    expect(out.machine.network.interfaces).toEqual([
      { interface: "eth1", addresses: ["10.3.5.5/32"] },
      { interface: "eth0", dummy: true },
    ]);
    expect(out.cluster.apiServer.admissionControl).toEqual([]);
  });

  it("deletes map keys and extraArgs entries, and fails like Talos on missing ones", () => {
    const [out] = applyStrategicPatches(fixture(), ["machine:\n  kubelet:\n    extraArgs:\n      foo:\n        $patch: delete\n  install:\n    wipe:\n      $patch: delete\n"]) as [Any];
    expect(out.machine.kubelet.extraArgs).toEqual({});
    expect(out.machine.install).toEqual({});
    expect(() => applyStrategicPatches(fixture(), ["machine:\n  network:\n    hostname:\n      $patch: delete\n"])).toThrow(
      "patch delete: path 'machine.network.hostname' in document '/v1alpha1': failed to delete path 'machine.network.hostname': lookup failed",
    );
    expect(() => applyStrategicPatches(fixture(), ["cluster:\n  apiServer:\n    admissionControl:\n      - name: Nope\n        $patch: delete\n"])).toThrow("lookup failed");
    // A whole document that is not there: nothing to do, no error.
    expect(applyStrategicPatches(fixture(), ["apiVersion: v1alpha1\nkind: KubeFlannelCNIConfig\n$patch: delete\n"])).toEqual(fixture());
  });

  it("merges extension service config files by mount path", () => {
    const docs: ConfigDocument[] = [
      { apiVersion: "v1alpha1", kind: "ExtensionServiceConfig", name: "foo", configFiles: [{ content: "hello", mountPath: "/etc/foo" }], environment: ["FOO=BAR"] },
    ];
    const out = applyStrategicPatches(docs, [
      "apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: foo\nconfigFiles:\n  - {content: hello world, mountPath: /etc/foo}\n  - {content: another, mountPath: /etc/bar}\nenvironment: [XXX=YYY]\n",
    ]);
    expect(out).toEqual([
      {
        apiVersion: "v1alpha1",
        kind: "ExtensionServiceConfig",
        name: "foo",
        configFiles: [
          { content: "hello world", mountPath: "/etc/foo" },
          { content: "another", mountPath: "/etc/bar" },
        ],
        environment: ["FOO=BAR", "XXX=YYY"],
      },
    ]);
  });

  it("matches named documents by name", () => {
    const docs: ConfigDocument[] = [
      { apiVersion: "v1alpha1", kind: "RegistryMirrorConfig", name: "ghcr.io", endpoints: [{ url: "https://a" }] },
      { apiVersion: "v1alpha1", kind: "RegistryMirrorConfig", name: "docker.io", endpoints: [{ url: "https://b" }] },
    ];
    const out = applyStrategicPatch(docs, [{ apiVersion: "v1alpha1", kind: "RegistryMirrorConfig", name: "docker.io", endpoints: [{ url: "https://c" }] }]);
    expect(out[0]).toEqual(docs[0]!);
    expect(out[1]!.endpoints).toEqual([{ url: "https://b" }, { url: "https://c" }]);
  });

  it("turns auto: stable off when a HostnameConfig patch sets a hostname", () => {
    const out = applyStrategicPatches(fixture(), ["apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: node-1\n"]);
    expect(out[1]).toEqual({ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname: "node-1" });
  });

  it("drops HostnameConfig auto: stable next to a static machine.network.hostname", () => {
    const out = applyStrategicPatches(fixture(), ["machine:\n  network:\n    hostname: node-1\n"]);
    expect(out.map((d) => d.kind ?? "v1alpha1")).toEqual(["v1alpha1"]);
    expect((out[0] as Any).machine.network.hostname).toBe("node-1");
  });

  it("reports YAML errors as patch errors", () => {
    expect(() => applyStrategicPatches(fixture(), ["machine: [unclosed\n"])).toThrow(PatchError);
    expect(() => applyStrategicPatches(fixture(), ["- a\n- b\n"])).toThrow("each document must be a mapping");
  });
});
