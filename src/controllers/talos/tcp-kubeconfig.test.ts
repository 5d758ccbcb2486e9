import { describe, expect, test } from "bun:test";
import { createCA, issueCertificate } from "../../providers/pki/certs.ts";
import { buildKubeconfig } from "../../providers/pki/kubeconfig.ts";
import { kubeconfigStale } from "./tcp-kubeconfig.ts";

describe("kubeconfigStale", () => {
  test("missing, endpoint changed, expiring within six months, current", async () => {
    const ca = await createCA("kubernetes");
    const make = async (days: number, server = "https://10.0.0.5:6443") => {
      const c = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client", days });
      return buildKubeconfig({ server, caPem: ca.certPem, clusterName: "c", userName: "c-admin", certPem: c.certPem, keyPem: c.keyPem });
    };
    expect(kubeconfigStale("", "https://10.0.0.5:6443")).toBe("missing");
    expect(kubeconfigStale(await make(365), "https://10.0.0.6:6443")).toBe("endpoint changed");
    expect(kubeconfigStale(await make(100), "https://10.0.0.5:6443")).toBe("client certificate expires within six months");
    expect(kubeconfigStale(await make(365), "https://10.0.0.5:6443")).toBeUndefined();
  });
});
