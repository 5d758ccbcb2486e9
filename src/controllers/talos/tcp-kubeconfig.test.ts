import { describe, expect, test } from "bun:test";
import { createCA, issueCertificate } from "../../providers/pki/certs.ts";
import { buildKubeconfig } from "../../providers/pki/kubeconfig.ts";
import { kubeconfigStale } from "./tcp-kubeconfig.ts";

describe("kubeconfigStale", () => {
  test("missing, endpoint changed, expiring within six months, current", async () => {
    const ca = await createCA("kubernetes");
    const make = async (days: number, server = "https://10.0.0.5:6443", proxyUrl?: string) => {
      const c = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client", days });
      return buildKubeconfig({ server, caPem: ca.certPem, clusterName: "c", userName: "c-admin", certPem: c.certPem, keyPem: c.keyPem, proxyUrl });
    };
    expect(kubeconfigStale("", "https://10.0.0.5:6443")).toBe("missing");
    expect(kubeconfigStale(await make(365), "https://10.0.0.6:6443")).toBe("endpoint changed");
    expect(kubeconfigStale(await make(100), "https://10.0.0.5:6443")).toBe("client certificate expires within six months");
    expect(kubeconfigStale(await make(365), "https://10.0.0.5:6443")).toBeUndefined();
  });

  test("lab mode: a kubeconfig naming another proxy (the previous life's port) is stale", async () => {
    const ca = await createCA("kubernetes");
    const c = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client", days: 365 });
    const kc = (proxyUrl?: string) => buildKubeconfig({ server: "https://10.0.0.5:6443", caPem: ca.certPem, clusterName: "c", userName: "c-admin", certPem: c.certPem, keyPem: c.keyPem, proxyUrl });
    const now = Date.now();
    expect(kubeconfigStale(kc("http://127.0.0.1:4000"), "https://10.0.0.5:6443", now, { url: "http://127.0.0.1:4001" })).toBe("lab proxy changed");
    expect(kubeconfigStale(kc("http://127.0.0.1:4000"), "https://10.0.0.5:6443", now, { url: undefined })).toBe("lab proxy changed");
    expect(kubeconfigStale(kc(), "https://10.0.0.5:6443", now, { url: "http://127.0.0.1:4001" })).toBe("lab proxy changed");
    expect(kubeconfigStale(kc("http://127.0.0.1:4001"), "https://10.0.0.5:6443", now, { url: "http://127.0.0.1:4001" })).toBeUndefined();
    expect(kubeconfigStale(kc(), "https://10.0.0.5:6443", now, { url: undefined })).toBeUndefined();
  });
});
