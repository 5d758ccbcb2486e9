import { describe, expect, it } from "bun:test";
import { ContractError, parseContract } from "./contract.ts";
import { GenerateError, generateMachineConfig, withStaticHostname, type ConfigDocument, type GenerateInput } from "./generate.ts";
import { generateSecretsBundle } from "./secrets.ts";
import { decodeDocuments, encodeDocuments } from "./yaml.ts";

const bundle = await generateSecretsBundle({ major: 1, minor: 13 });
const b64 = (s: string) => Buffer.from(s).toString("base64");

function input(over: Partial<GenerateInput> = {}): GenerateInput {
  return {
    bundle,
    clusterName: "demo",
    endpoint: "https://10.0.0.10:6443",
    kubernetesVersion: "v1.33.1",
    contract: parseContract("v1.13"),
    type: "controlplane",
    ...over,
  };
}

type Any = Record<string, any>;
const main = (docs: ConfigDocument[]) => docs[0] as Any;
const kinds = (docs: ConfigDocument[]) => docs.map((d) => (d.kind as string | undefined) ?? "v1alpha1");
const byKind = (docs: ConfigDocument[], kind: string) => docs.filter((d) => d.kind === kind) as Any[];

describe("contract parsing", () => {
  it("accepts v1.11 .. v1.15 in any spelling and refuses the rest", () => {
    expect(parseContract("v1.13")).toEqual({ major: 1, minor: 13 });
    expect(parseContract("1.14.0-rc.1")).toEqual({ major: 1, minor: 14 });
    expect(parseContract("v1.11.6")).toEqual({ major: 1, minor: 11 });
    expect(() => parseContract("v1.10")).toThrow(ContractError);
    expect(() => parseContract("v1.16.0")).toThrow("not supported");
    expect(() => parseContract("latest")).toThrow("invalid Talos version");
  });
});

describe("machine config generation, contract 1.13", () => {
  it("puts the bundle into a control-plane v1alpha1 document", () => {
    const docs = generateMachineConfig(input());
    expect(kinds(docs)).toEqual(["v1alpha1", "HostnameConfig"]);
    const m = main(docs);
    expect(m.machine.type).toBe("controlplane");
    expect(m.machine.token).toBe(bundle.trustdInfo.token);
    expect(m.machine.ca).toEqual({ crt: b64(bundle.certs.os.crt), key: b64(bundle.certs.os.key) });
    expect(m.machine.kubelet.image).toBe("ghcr.io/siderolabs/kubelet:v1.33.1");
    expect(m.machine.network).toBeUndefined();
    expect(m.cluster.id).toBe(bundle.cluster.id);
    expect(m.cluster.token).toBe(bundle.secrets.bootstrapToken);
    expect(m.cluster.secretboxEncryptionSecret).toBe(bundle.secrets.secretboxEncryptionSecret);
    expect(m.cluster.serviceAccount.key).toBe(b64(bundle.certs.k8sServiceAccount.key));
    expect(m.cluster.etcd.ca.key).toBe(b64(bundle.certs.etcd.key));
    expect(m.cluster.apiServer.image).toBe("registry.k8s.io/kube-apiserver:v1.33.1");
    expect(m.cluster.apiServer.certSANs).toBeUndefined();
    expect(m.cluster.controlPlane).toEqual({ endpoint: "https://10.0.0.10:6443" });
    expect(m.cluster.network).toEqual({ dnsDomain: "cluster.local", podSubnets: ["10.244.0.0/16"], serviceSubnets: ["10.96.0.0/12"] });
    expect(docs[1]).toEqual({ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" });
  });

  it("gives workers no private keys and no control-plane sections", () => {
    const m = main(generateMachineConfig(input({ type: "worker" })));
    expect(m.machine.ca).toEqual({ crt: b64(bundle.certs.os.crt), key: "" });
    expect(m.cluster.ca).toEqual({ crt: b64(bundle.certs.k8s.crt), key: "" });
    for (const k of ["aggregatorCA", "serviceAccount", "apiServer", "etcd", "secretboxEncryptionSecret"]) expect(m.cluster[k]).toBeUndefined();
    expect(m.cluster.clusterName).toBe("demo");
    expect(m.machine.nodeLabels).toBeUndefined();
  });

  it("applies the options", () => {
    const docs = generateMachineConfig(
      input({
        additionalSANs: ["api.example"],
        installDisk: "/dev/sdb",
        kernelArgs: ["console=ttyS0"],
        localAPIServerPort: 7443,
        sysctls: { "net.core.somaxconn": "65535" },
        cniUrl: "https://example.com/cilium.yaml",
        registryMirrors: { "docker.io": ["https://mirror.example"] },
        allowSchedulingOnControlPlanes: true,
        podSubnets: ["10.1.0.0/16"],
        dnsDomain: "k8s.example",
      }),
    );
    const m = main(docs);
    expect(m.machine.certSANs).toEqual(["api.example"]);
    expect(m.cluster.apiServer.certSANs).toEqual(["api.example"]);
    expect(m.machine.install).toEqual({ disk: "/dev/sdb", extraKernelArgs: ["console=ttyS0"], wipe: false, grubUseUKICmdline: true });
    expect(m.machine.sysctls).toEqual({ "net.core.somaxconn": "65535" });
    expect(m.cluster.controlPlane.localAPIServerPort).toBe(7443);
    expect(m.cluster.network.cni).toEqual({ name: "custom", urls: ["https://example.com/cilium.yaml"] });
    expect(m.cluster.network.podSubnets).toEqual(["10.1.0.0/16"]);
    expect(m.cluster.network.dnsDomain).toBe("k8s.example");
    expect(m.cluster.allowSchedulingOnControlPlanes).toBe(true);
    expect(byKind(docs, "RegistryMirrorConfig")).toEqual([
      { apiVersion: "v1alpha1", kind: "RegistryMirrorConfig", name: "docker.io", endpoints: [{ url: "https://mirror.example" }] },
    ]);
  });

  it("refuses bad input", () => {
    expect(() => generateMachineConfig(input({ endpoint: "10.0.0.1:6443" }))).toThrow(GenerateError);
    expect(() => generateMachineConfig(input({ endpoint: "http://10.0.0.1:6443" }))).toThrow("must be https://");
    expect(() => generateMachineConfig(input({ kubernetesVersion: "latest" }))).toThrow("invalid Kubernetes version");
    expect(() => generateMachineConfig(input({ clusterName: "" }))).toThrow("cluster name is required");
    expect(() => generateMachineConfig(input({ localAPIServerPort: 70000 }))).toThrow("invalid local API server port");
  });
});

describe("per-contract shapes", () => {
  it("1.11: legacy features, endpoint host in the API server SANs, mirrors inline, no HostnameConfig", () => {
    const docs = generateMachineConfig(input({ contract: parseContract("v1.11"), registryMirrors: { "ghcr.io": ["https://m.example"] } }));
    expect(kinds(docs)).toEqual(["v1alpha1"]);
    const m = main(docs);
    expect(m.machine.features.rbac).toBe(true);
    expect(m.machine.features.stableHostname).toBe(true);
    expect(m.machine.network).toEqual({});
    expect(m.machine.install.grubUseUKICmdline).toBeUndefined();
    expect(m.machine.registries).toEqual({ mirrors: { "ghcr.io": { endpoints: ["https://m.example"] } } });
    expect(m.cluster.apiServer.certSANs).toEqual(["10.0.0.10"]);
    expect(m.cluster.apiServer.disablePodSecurityPolicy).toBe(true);
  });

  it("1.12: network {} kept, mirrors and hostname as documents", () => {
    const docs = generateMachineConfig(input({ contract: parseContract("v1.12") }));
    expect(kinds(docs)).toEqual(["v1alpha1", "HostnameConfig"]);
    expect(main(docs).machine.network).toEqual({});
    expect(main(docs).machine.features.rbac).toBeUndefined();
  });

  it("1.14 / 1.15: the multi-document form", () => {
    for (const v of ["v1.14", "v1.15"]) {
      const cp = generateMachineConfig(input({ contract: parseContract(v) }));
      expect(kinds(cp).slice(0, 4)).toEqual(["v1alpha1", "DiscoveryServiceConfig", "DiscoveryIdentityConfig", "ResolverConfig"]);
      expect(kinds(cp)).toContain("KubeServiceAccountConfig");
      expect(kinds(cp)).toContain("KubeFlannelCNIConfig");
      expect(main(cp).cluster).toEqual({ token: bundle.secrets.bootstrapToken, etcd: { ca: { crt: b64(bundle.certs.etcd.crt), key: b64(bundle.certs.etcd.key) } } });
      expect(byKind(cp, "KubeServiceAccountConfig")[0]!.issuer).toEqual({ privateKey: bundle.certs.k8sServiceAccount.key, issuerURL: "https://10.0.0.10:6443" });
      expect(byKind(cp, "KubeAPIServerCAConfig")[0]!.issuingCA).toEqual({ cert: bundle.certs.k8s.crt, key: bundle.certs.k8s.key });
      expect(byKind(cp, "KubeNodeConfig")[0]!.taints).toEqual({ "node-role.kubernetes.io/control-plane": "NoSchedule" });
      const w = generateMachineConfig(input({ contract: parseContract(v), type: "worker" }));
      expect(kinds(w)).not.toContain("KubeServiceAccountConfig");
      expect(byKind(w, "KubeAPIServerCAConfig")[0]!.acceptedCAs).toEqual([bundle.certs.k8s.crt]);
      expect(JSON.stringify(w)).not.toContain(b64(bundle.certs.os.key));
      expect(JSON.stringify(w)).not.toContain("PRIVATE KEY");
    }
    const custom = generateMachineConfig(input({ contract: parseContract("v1.14"), cniUrl: "https://c.example/cni.yaml", installDisk: "/dev/vda" }));
    expect(kinds(custom)).not.toContain("KubeFlannelCNIConfig");
    expect(byKind(custom, "KubeExternalManifestConfig")).toEqual([{ apiVersion: "v1alpha1", kind: "KubeExternalManifestConfig", name: "custom-cni", url: "https://c.example/cni.yaml" }]);
    expect(byKind(custom, "UnattendedInstallConfig")[0]!.provisioning).toEqual({ diskSelector: { match: 'disk.dev_path == "/dev/vda"' }, wipe: false });
  });
});

describe("static hostname per contract", () => {
  it("uses HostnameConfig auto: off from 1.12 and machine.network.hostname before", () => {
    for (const v of ["v1.12", "v1.13", "v1.14"]) {
      const docs = withStaticHostname(generateMachineConfig(input({ contract: parseContract(v) })), parseContract(v), "cp-1");
      const h = byKind(docs, "HostnameConfig");
      expect(h).toEqual([{ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname: "cp-1" }]);
      expect(main(docs).machine.network?.hostname).toBeUndefined();
    }
    const c11 = parseContract("v1.11");
    const docs = withStaticHostname(generateMachineConfig(input({ contract: c11 })), c11, "cp-1");
    expect(main(docs).machine.network).toEqual({ hostname: "cp-1" });
    expect(byKind(docs, "HostnameConfig")).toEqual([]);
  });
});

describe("YAML encoding", () => {
  it("uses 4-space indentation, --- separators and literal PEM blocks, and parses back", () => {
    const docs = generateMachineConfig(input({ contract: parseContract("v1.14") }));
    const text = encodeDocuments(docs);
    expect(text.startsWith("version: v1alpha1\ndebug: false\npersist: true\nmachine:\n    type: controlplane\n")).toBe(true);
    expect(text).toContain("\n---\napiVersion: v1alpha1\nkind: DiscoveryServiceConfig\n");
    expect(text).toContain("    cert: |\n        -----BEGIN CERTIFICATE-----\n");
    expect(text).toContain("podSubnets:\n    - 10.244.0.0/16\n");
    expect(decodeDocuments(text)).toEqual(docs);
  });
});
