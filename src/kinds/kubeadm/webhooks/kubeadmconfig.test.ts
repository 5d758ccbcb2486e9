import { describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import { IGNITION_GATE_MSG, validateKubeadmConfig, validateKubeadmConfigSpec, validateKubeadmConfigTemplate } from "./kubeadmconfig.ts";

const config = (spec: Record<string, unknown>): KObject => ({ apiVersion: "bootstrap.cluster.x-k8s.io/v1beta2", kind: "KubeadmConfig", metadata: { name: "c" }, spec });

describe("KubeadmConfig validation", () => {
  test("a plain cloud-config spec passes", () => {
    expect(validateKubeadmConfig(config({ format: "cloud-config", files: [{ path: "/a", content: "x" }] }), undefined)).toEqual([]);
  });
  test("files: content and contentFrom conflict, secret name and key required, paths unique", () => {
    const causes = validateKubeadmConfig(
      config({
        files: [
          { path: "/a", content: "x", contentFrom: { secret: { name: "s", key: "k" } } },
          { path: "/a", contentFrom: { secret: {} } },
        ],
      }),
      undefined,
    );
    expect(causes.map((c) => `${c.field} ${c.reason}`)).toEqual([
      "spec.files[0] FieldValueInvalid",
      "spec.files[1].contentFrom.secret.name FieldValueRequired",
      "spec.files[1].contentFrom.secret.key FieldValueRequired",
      "spec.files[1].path FieldValueInvalid",
    ]);
    expect(causes[0]?.message).toEndWith("only one of content or contentFrom may be specified for a single file");
    expect(causes[3]?.message).toEndWith("path property must be unique among all files");
  });
  test("users: passwd and passwdFrom conflict", () => {
    const causes = validateKubeadmConfig(config({ users: [{ name: "u", passwd: "x", passwdFrom: { secret: { name: "s", key: "k" } } }] }), undefined);
    expect(causes.map((c) => c.field)).toEqual(["spec.users[0]"]);
  });
  test("format ignition is refused: the feature gate is off (no ignition support)", () => {
    const causes = validateKubeadmConfig(config({ format: "ignition", ignition: { containerLinuxConfig: { additionalConfig: "x" } } }), undefined);
    expect(causes).toEqual([
      { reason: "FieldValueForbidden", field: "spec.format", message: `Forbidden: ${IGNITION_GATE_MSG}` },
      { reason: "FieldValueForbidden", field: "spec.ignition", message: `Forbidden: ${IGNITION_GATE_MSG}` },
    ]);
  });
  test("disk layouts may not exceed 100 %", () => {
    const spec = { diskSetup: { partitions: [{ device: "/dev/sdb", layout: true, diskLayout: [{ percentage: 60 }, { percentage: 50 }] }] } };
    expect(validateKubeadmConfig(config(spec), undefined)).toEqual([
      { reason: "FieldValueInvalid", field: "spec.diskSetup.partitions[0].diskLayout", message: "Invalid value: 110" },
    ]);
  });
  test("KCP only: the control-plane health-check timeout must be the same for init and join", () => {
    const spec = { initConfiguration: { timeouts: { controlPlaneComponentHealthCheckSeconds: 600 } } };
    expect(validateKubeadmConfigSpec(spec, false, "spec")).toEqual([]);
    const causes = validateKubeadmConfigSpec(spec, true, "spec.kubeadmConfigSpec");
    expect(causes.map((c) => c.field)).toEqual([
      "spec.kubeadmConfigSpec.initConfiguration.timeouts.controlPlaneComponentHealthCheckSeconds",
      "spec.kubeadmConfigSpec.joinConfiguration.timeouts.controlPlaneComponentHealthCheckSeconds",
    ]);
    expect(causes[0]?.message).toBe(
      'Invalid value: "600": controlPlaneComponentHealthCheckSeconds must be set to the same value both in initConfiguration.timeouts (600) and in joinConfiguration.timeouts (unset)',
    );
  });
});

describe("KubeadmConfigTemplate validation", () => {
  test("checks the template's spec and metadata", () => {
    const t: KObject = {
      apiVersion: "bootstrap.cluster.x-k8s.io/v1beta2",
      kind: "KubeadmConfigTemplate",
      metadata: { name: "t" },
      spec: { template: { metadata: { labels: { "bad key!": "v" } }, spec: { format: "ignition" } } },
    };
    expect(validateKubeadmConfigTemplate(t, undefined).map((c) => c.field)).toEqual(["spec.template.spec.format", "spec.template.metadata.labels"]);
  });
});
