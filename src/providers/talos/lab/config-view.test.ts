import { describe, expect, test } from "bun:test";
import { buildBootstrapData } from "../bootstrap-data.ts";
import { generateSecretsBundle } from "../secrets.ts";
import { configView, effectiveConfig, labTalosVersion } from "./config-view.ts";

const bundle = await generateSecretsBundle();
const gen = (generateType: "controlplane" | "worker", talosVersion: string) =>
  buildBootstrapData({ generateType, bundle, clusterName: "cv", endpoint: "https://10.0.0.10:6443", kubernetesVersion: "v1.34.2", talosVersion, hostname: "cv-0" }).documents;

describe("configView: each field from the document of its contract", () => {
  test("v1.13 (v1alpha1 only) and v1.15 (multi-document) control planes give the same view", () => {
    const legacy = configView(gen("controlplane", "v1.13"));
    const multi = configView(gen("controlplane", "v1.15"));
    expect(legacy.multiDocument).toBe(false);
    expect(multi.multiDocument).toBe(true);
    for (const v of [legacy, multi]) {
      expect(v.machineType).toBe("controlplane");
      expect(v.endpoint).toBe("https://10.0.0.10:6443");
      expect(v.clusterName).toBe("cv");
      expect(v.clusterId).toBe(bundle.cluster.id);
      expect(v.kubeletImage).toBe("ghcr.io/siderolabs/kubelet:v1.34.2");
      expect(v.hostname).toBe("cv-0");
      expect(v.machineCA?.key).toBeTruthy();
      expect(v.kubernetesCA?.key).toBeTruthy();
    }
    // the same Kubernetes CA, base64 in v1alpha1, PEM in KubeAPIServerCAConfig
    expect(Buffer.from(legacy.kubernetesCA!.crt, "base64").toString("utf8").trim()).toBe(multi.kubernetesCA!.crt.trim());
    expect(multi.nodeTaints).toEqual({ "node-role.kubernetes.io/control-plane": "NoSchedule" });
    expect(labTalosVersion(multi)).toBe("v1.14.0");
    expect(labTalosVersion(legacy)).toBe("v1.13.9");
  });

  test("a v1.14 worker: Kubernetes CA from acceptedCAs (no key); effectiveConfig fills the v1alpha1 shape", () => {
    const docs = gen("worker", "v1.14");
    const view = configView(docs);
    expect(view.machineType).toBe("worker");
    expect(view.kubernetesCA?.crt).toContain("BEGIN CERTIFICATE");
    expect(view.kubernetesCA?.key).toBeUndefined();
    const cfg = effectiveConfig(docs);
    expect(cfg.cluster.controlPlane.endpoint).toBe("https://10.0.0.10:6443");
    expect(cfg.cluster.id).toBe(bundle.cluster.id);
    expect(cfg.cluster.ca?.crt).toBe(view.kubernetesCA!.crt);
    // the input documents are left alone
    expect((docs[0] as { cluster: Record<string, unknown> }).cluster.controlPlane).toBeUndefined();
  });
});
