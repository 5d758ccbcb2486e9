import { describe, expect, test } from "bun:test";
import { parse } from "yaml";
import { clusterConfigurationYaml, initConfigurationYaml, joinConfigurationYaml, kubeadmApiVersion, KubeadmVersionError } from "./kubeadm-api.ts";

// Expected texts are upstream's own (bootstrap/kubeadm/pkg/types/utils_test.go, release-1.14).
const data = { clusterName: "mycluster", dnsDomain: "myDNSDomain", serviceSubnet: "myServiceSubnet", podSubnet: "myPodSubnet", controlPlaneComponentHealthCheckSeconds: 30 };

describe("kubeadm API version", () => {
  test("v1beta3 from 1.22, v1beta4 from 1.31 (pre-releases as their release), older refused", () => {
    expect(kubeadmApiVersion("v1.22.0")).toBe("kubeadm.k8s.io/v1beta3");
    expect(kubeadmApiVersion("v1.30.9")).toBe("kubeadm.k8s.io/v1beta3");
    expect(kubeadmApiVersion("v1.31.0-rc.1")).toBe("kubeadm.k8s.io/v1beta4");
    expect(kubeadmApiVersion("99.99.99")).toBe("kubeadm.k8s.io/v1beta4");
    expect(() => kubeadmApiVersion("v1.21.14")).toThrow(KubeadmVersionError);
    expect(() => kubeadmApiVersion("latest")).toThrow(KubeadmVersionError);
  });
});

describe("kubeadm configuration documents", () => {
  test("ClusterConfiguration v1beta3 and v1beta4 as upstream marshals them", () => {
    expect(clusterConfigurationYaml({ controlPlaneEndpoint: "myControlPlaneEndpoint:6443" }, "1.22.0", { ...data, kubernetesVersion: "v1.22.0" })).toBe(
      "apiServer:\n  timeoutForControlPlane: 30s\napiVersion: kubeadm.k8s.io/v1beta3\nclusterName: mycluster\ncontrolPlaneEndpoint: myControlPlaneEndpoint:6443\n" +
        "controllerManager: {}\ndns: {}\netcd: {}\nkind: ClusterConfiguration\nkubernetesVersion: v1.22.0\n" +
        "networking:\n  dnsDomain: myDNSDomain\n  podSubnet: myPodSubnet\n  serviceSubnet: myServiceSubnet\nscheduler: {}\n",
    );
    expect(clusterConfigurationYaml({ controlPlaneEndpoint: "myControlPlaneEndpoint:6443" }, "1.31.0", { ...data, kubernetesVersion: "v1.31.0" })).toBe(
      "apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta4\nclusterName: mycluster\ncontrolPlaneEndpoint: myControlPlaneEndpoint:6443\n" +
        "controllerManager: {}\ndns: {}\netcd: {}\nkind: ClusterConfiguration\nkubernetesVersion: v1.31.0\n" +
        "networking:\n  dnsDomain: myDNSDomain\n  podSubnet: myPodSubnet\n  serviceSubnet: myServiceSubnet\nproxy: {}\nscheduler: {}\n",
    );
  });

  test("Init and Join configurations as upstream marshals them", () => {
    const nr = { ignorePreflightErrors: ["some-preflight-check"] };
    const timeouts = { controlPlaneComponentHealthCheckSeconds: 50 };
    expect(initConfigurationYaml({ nodeRegistration: nr }, "1.22.0")).toBe(
      "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nlocalAPIEndpoint: {}\nnodeRegistration:\n  ignorePreflightErrors:\n  - some-preflight-check\n  taints: null\n",
    );
    expect(initConfigurationYaml({ nodeRegistration: nr, timeouts }, "1.31.0")).toBe(
      "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint: {}\nnodeRegistration:\n  ignorePreflightErrors:\n  - some-preflight-check\n  taints: null\ntimeouts:\n  controlPlaneComponentHealthCheck: 50s\n",
    );
    expect(joinConfigurationYaml({ nodeRegistration: nr }, "1.22.0")).toBe(
      "apiVersion: kubeadm.k8s.io/v1beta3\ndiscovery: {}\nkind: JoinConfiguration\nnodeRegistration:\n  ignorePreflightErrors:\n  - some-preflight-check\n  taints: null\n",
    );
    expect(joinConfigurationYaml({ nodeRegistration: nr, timeouts }, "1.31.0")).toBe(
      "apiVersion: kubeadm.k8s.io/v1beta4\ndiscovery: {}\nkind: JoinConfiguration\nnodeRegistration:\n  ignorePreflightErrors:\n  - some-preflight-check\n  taints: null\ntimeouts:\n  controlPlaneComponentHealthCheck: 50s\n",
    );
  });

  test("extraArgs: lists in v1beta4, maps in v1beta3; days and seconds become durations", () => {
    const cc = {
      apiServer: { extraArgs: [{ name: "cloud-provider", value: "external" }], certSANs: ["a.example"] },
      etcd: { local: { extraArgs: [{ name: "quota-backend-bytes", value: "1" }] } },
      caCertificateValidityPeriodDays: 3650,
      encryptionAlgorithm: "ECDSA-P256",
    };
    const v4 = parse(clusterConfigurationYaml(cc, "v1.33.1", {}));
    expect(v4.apiServer).toEqual({ extraArgs: [{ name: "cloud-provider", value: "external" }], certSANs: ["a.example"] });
    expect(v4.etcd.local).toEqual({ dataDir: "", extraArgs: [{ name: "quota-backend-bytes", value: "1" }] });
    expect(v4.caCertificateValidityPeriod).toBe("87600h0m0s");
    expect(v4.encryptionAlgorithm).toBe("ECDSA-P256");
    const v3 = parse(clusterConfigurationYaml(cc, "v1.30.2", {}));
    expect(v3.apiServer.extraArgs).toEqual({ "cloud-provider": "external" });
    expect(v3.caCertificateValidityPeriod).toBeUndefined();
    expect(v3.proxy).toBeUndefined();
    const join = parse(
      joinConfigurationYaml(
        { nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "proxmox://x" }], taints: [] }, timeouts: { tlsBootstrapSeconds: 300 }, controlPlane: {} },
        "v1.30.2",
      ),
    );
    expect(join.nodeRegistration).toEqual({ kubeletExtraArgs: { "provider-id": "proxmox://x" }, taints: [] });
    expect(join.discovery).toEqual({ timeout: "5m0s" });
    expect(join.controlPlane).toEqual({ localAPIEndpoint: {} });
  });

  test("bootstrap tokens: ttlSeconds becomes ttl; a missing token is null", () => {
    const doc = parse(initConfigurationYaml({ bootstrapTokens: [{ ttlSeconds: 86400, groups: ["g"] }, { token: "abcdef.0123456789abcdef" }] }, "v1.32.0"));
    expect(doc.bootstrapTokens).toEqual([{ token: null, ttl: "24h0m0s", groups: ["g"] }, { token: "abcdef.0123456789abcdef" }]);
  });
});
