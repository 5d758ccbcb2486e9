/**
 * Manifests used by the whole-process suites.
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const TEST_CRDS = readFileSync(join(import.meta.dir, "fixtures/crds.yaml"), "utf8");

export function testCluster(name: string, opts: { ns?: string; labels?: Record<string, string>; host?: string; extraSpec?: string } = {}): string {
  const labels = Object.entries(opts.labels ?? {})
    .map(([k, v]) => `    ${k}: "${v}"`)
    .join("\n");
  return `apiVersion: e2e.capx.dev/v1beta2
kind: TestCluster
metadata:
  name: ${name}
  namespace: ${opts.ns ?? "default"}
${labels ? `  labels:\n${labels}\n` : ""}spec:
  controlPlaneEndpoint:
    host: ${opts.host ?? "10.0.0.10"}
    port: 6443
${opts.extraSpec ?? ""}`;
}

export function testMachineDeployment(name: string, cluster: string, replicas = 1, ns = "default"): string {
  return `apiVersion: e2e.capx.dev/v1beta2
kind: TestMachineDeployment
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  clusterName: ${cluster}
  replicas: ${replicas}
`;
}
