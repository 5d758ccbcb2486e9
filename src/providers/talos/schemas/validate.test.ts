import { describe, expect, test } from "bun:test";
import { buildBootstrapData } from "../bootstrap-data.ts";
import { parseContract } from "../contract.ts";
import { generateMachineConfig } from "../generate.ts";
import { generateSecretsBundle } from "../secrets.ts";
import { schemaFor, validateMachineConfig } from "./validate.ts";

describe("Talos machine config schema validation (bundled schemas)", () => {
  test("the schema follows the Talos minor, clamped to the bundled ones", () => {
    expect(schemaFor("v1.12.3").version).toBe("v1.12.11");
    expect(schemaFor("v1.13.9").version).toBe("v1.13.9");
    expect(schemaFor("v1.14.0").version).toBe("v1.14.0-rc.1");
    expect(schemaFor("v1.9.5").version).toBe("v1.12.11");
    expect(schemaFor("v1.16.0").version).toBe("v1.14.0-rc.1");
    expect(schemaFor("latest").version).toBe("v1.13.9");
  });

  test("generated configs of each contract are valid against their minor's schema (persist and extraKernelArgs accepted)", async () => {
    const bundle = await generateSecretsBundle();
    for (const v of ["v1.12", "v1.13", "v1.14"]) {
      for (const type of ["controlplane", "worker"]) {
        const d = buildBootstrapData({ generateType: type, talosVersion: v, bundle, clusterName: "c1", endpoint: "https://10.10.0.50:6443", kubernetesVersion: "v1.33.1", hostname: "n1" });
        expect(d.documents[0]!.persist).toBe(true);
        expect(validateMachineConfig(d.documents, v)).toEqual({ schema: schemaFor(v).version, errors: [] });
        const withArgs = d.documents.map((x) => structuredClone(x));
        const install = (withArgs[0] as { machine: { install?: Record<string, unknown> } }).machine.install;
        if (install) install.extraKernelArgs = ["console=ttyS0"]; // (v1.14 moved install out of v1alpha1)
        expect(validateMachineConfig(withArgs, v).errors).toEqual([]);
      }
    }
  });

  test("unknown fields, wrong types, bad enum values and unknown documents are reported per document", async () => {
    const bundle = await generateSecretsBundle();
    const docs = buildBootstrapData({ generateType: "controlplane", talosVersion: "v1.13", bundle, clusterName: "c1", endpoint: "https://10.10.0.50:6443", kubernetesVersion: "v1.33.1" }).documents.map((d) => structuredClone(d));
    const v1 = docs[0] as { machine: Record<string, unknown>; cluster: Record<string, unknown> };
    v1.machine.bogus = 1;
    v1.machine.certSANs = "not-a-list";
    docs.push({ apiVersion: "v1alpha1", kind: "NoSuchConfig" });
    docs.push({ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "sometimes" });
    const r = validateMachineConfig(docs, "v1.13.9");
    expect(r.errors).toContain('v1alpha1 (document 1): /machine: unknown field "bogus"');
    expect(r.errors).toContain("v1alpha1 (document 1): /machine/certSANs: must be array");
    expect(r.errors).toContain("v1alpha1/NoSuchConfig: document type not known to Talos v1.13.9");
    expect(r.errors.some((e) => e.startsWith("v1alpha1/HostnameConfig: /auto: must be equal to one of the allowed values"))).toBe(true);
  });

  test("an UnattendedInstallConfig (what Talos emits; the 1.14 schema spells the kind UnattendedInstall) is valid", async () => {
    const bundle = await generateSecretsBundle();
    const docs = generateMachineConfig({ bundle, clusterName: "c1", endpoint: "https://10.10.0.50:6443", kubernetesVersion: "v1.33.1", contract: parseContract("v1.14"), type: "controlplane", installDisk: "/dev/vda" });
    expect(docs.some((d) => d.kind === "UnattendedInstallConfig")).toBe(true);
    expect(validateMachineConfig(docs, "v1.14").errors).toEqual([]);
  });
});
