import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { KObject } from "../../lib/kobject.ts";
import { startWorkloadServer, type WorkloadServer } from "../../lab/workload-server.ts";
import { bootstrapTokenSecretData, generateBootstrapToken, tokenSecretName } from "../../providers/kubeadm/bootstrap-token.ts";
import { generateCA } from "../../providers/kubeadm/certificate-generation.ts";
import { issueCertificate } from "../../providers/pki/certs.ts";
import { LabNetwork } from "../../providers/workload/dialer.ts";
import { NS, startKubeadmEnv, type KubeadmTestEnv } from "./testenv.ts";
import { KubeconfigSecretAccess, WorkloadSecretError } from "./workload-secrets.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

let env: KubeadmTestEnv;
let server: WorkloadServer;
let dir: string;
const network = new LabNetwork();

function kubeconfig(server: string, ca: string, crt: string, key: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "w", cluster: { server, "certificate-authority-data": b64(ca) } }],
    users: [{ name: "admin", user: { "client-certificate-data": b64(crt), "client-key-data": b64(key) } }],
    contexts: [{ name: "w", context: { cluster: "w", user: "admin" } }],
    "current-context": "w",
  });
}

beforeAll(async () => {
  env = await startKubeadmEnv();
  dir = mkdtempSync(join(tmpdir(), "capx-kubeadm-wl-"));
  // A cluster CA as this controller generates it (RSA, PKCS#1) serves the lab workload API and signs the admin.
  const ca = await generateCA();
  server = await startWorkloadServer({ dir, caPem: ca.cert, caKeyPem: ca.key, host: "10.10.0.50", port: 6443, network });
  const admin = await issueCertificate({ certPem: ca.cert, keyPem: ca.key }, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client", days: 1 });
  for (const [name, endpoint] of [["wl", "https://10.10.0.50:6443"], ["gone", "https://10.10.0.51:6443"]] as const) {
    await env.client.create({ apiVersion: "v1", kind: "Secret", metadata: { name: `${name}-kubeconfig`, namespace: NS }, data: { value: b64(kubeconfig(endpoint, ca.cert, admin.certPem, admin.keyPem)) } } as KObject);
  }
});
afterAll(async () => {
  await server.close();
  await env.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("workload Secret access through the kubeconfig Secret", () => {
  test("creates, reads and updates a bootstrap token Secret in the lab workload API", async () => {
    const access = new KubeconfigSecretAccess(env.client, network, 5_000);
    expect(await access.forCluster(NS, "nokubeconfig")).toBeUndefined();
    const remote = (await access.forCluster(NS, "wl"))!;
    const token = generateBootstrapToken();
    const name = tokenSecretName(token)!;
    const data = Object.fromEntries(Object.entries(bootstrapTokenSecretData(token, new Date(Date.now() + 60_000))).map(([k, v]) => [k, b64(v)]));
    await remote.create({ apiVersion: "v1", kind: "Secret", type: "bootstrap.kubernetes.io/token", metadata: { name, namespace: "kube-system" }, data } as KObject);
    const got = (await remote.get("kube-system", name))!;
    expect(got.type).toBe("bootstrap.kubernetes.io/token");
    await remote.update({ ...got, data: { ...(got.data as Record<string, string>), expiration: b64("2099-01-01T00:00:00Z") } });
    const stored = (await remote.get("kube-system", name))!;
    expect(Buffer.from((stored.data as Record<string, string>).expiration!, "base64").toString()).toBe("2099-01-01T00:00:00Z");
    expect(stored.metadata.resourceVersion).not.toBe(got.metadata.resourceVersion);
    expect(await remote.get("kube-system", "bootstrap-token-nothere")).toBeUndefined();
    // A second create of the same name is an API error with its status.
    const dup = await remote.create({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: "kube-system" }, data } as KObject).catch((e) => e);
    expect(dup).toBeInstanceOf(WorkloadSecretError);
    expect((dup as WorkloadSecretError).status).toBe(409);
  });

  test("an unreachable cluster fails with a connection error, not an API status", async () => {
    const access = new KubeconfigSecretAccess(env.client, network, 2_000);
    const remote = (await access.forCluster(NS, "gone"))!;
    const err = await remote.get("kube-system", "x").catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(WorkloadSecretError);
  });
});
