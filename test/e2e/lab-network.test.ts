/**
 * Lab mode's network: a Cluster whose endpoint is on the lab LAN (with its CA) gets a workload
 * API server there, and kubectl reaches it from the host through the CONNECT proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCA, issueCertificate } from "../../src/providers/pki/certs.ts";
import { buildKubeconfig } from "../../src/providers/pki/kubeconfig.ts";
import { Api } from "../harness/api.ts";
import { startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("lab network");
let d: TestDaemon;
let api: Api;
const b64 = (s: string) => Buffer.from(s).toString("base64");
let workloadKubeconfig: (proxyUrl: string) => string;

beforeAll(async () => {
  d = await startTestDaemon({ extraArgs: ["--lab"], config: "storage:\n  synchronous: NORMAL\n" });
  api = new Api(d);
});

afterAll(async () => {
  await d?.stop();
  d?.cleanup();
});

describe.skipIf(!binary)("lab network", () => {
  it("serves a workload API at the cluster endpoint, reachable through the proxy", async () => {
    expect(d.labProxy).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ca = await createCA("lab-cluster-ca");
    const ns = "/api/v1/namespaces/default";
    expect((await api.post(`${ns}/secrets`, { apiVersion: "v1", kind: "Secret", metadata: { name: "c1-ca" }, data: { "tls.crt": b64(ca.certPem), "tls.key": b64(ca.keyPem) } })).status).toBe(201);
    const cluster = { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", metadata: { name: "c1" }, spec: { controlPlaneEndpoint: { host: "10.10.0.10", port: 6443 }, infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "LabCluster", name: "c1" } } };
    expect((await api.post("/apis/cluster.x-k8s.io/v1beta2/namespaces/default/clusters", cluster)).status).toBe(201);

    const admin = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client", days: 1 });
    const kubeconfig = join(tempDir("capx-lab-kc-"), "c1.kubeconfig");
    writeFileSync(kubeconfig, buildKubeconfig({ server: "https://10.10.0.10:6443", caPem: ca.certPem, clusterName: "c1", userName: "c1-admin", certPem: admin.certPem, keyPem: admin.keyPem, proxyUrl: d.labProxy }));
    workloadKubeconfig = (proxyUrl) => {
      const path = join(tempDir("capx-lab-kc-"), "c1.kubeconfig");
      writeFileSync(path, buildKubeconfig({ server: "https://10.10.0.10:6443", caPem: ca.certPem, clusterName: "c1", userName: "c1-admin", certPem: admin.certPem, keyPem: admin.keyPem, proxyUrl }));
      return path;
    };
    const k = new Kubectl(binary!, kubeconfig);
    const end = Date.now() + 15_000;
    let r = await k.run(["get", "ns", "-o", "name"]);
    while (r.code !== 0 && Date.now() < end) {
      await Bun.sleep(200);
      r = await k.run(["get", "ns", "-o", "name"]);
    }
    expect(r.stdout).toContain("namespace/kube-node-lease");
    const node = `apiVersion: v1\nkind: Node\nmetadata:\n  name: worker-1\n  labels: {node-role.kubernetes.io/worker: ""}\nspec:\n  providerID: proxmox://4c4c4544-0000-0000-0000-000000000001\n`;
    expect(await k.ok(["apply", "-f", "-"], { input: node })).toBe("node/worker-1 created\n");
    expect(await k.ok(["get", "nodes"])).toMatch(/worker-1\s+Unknown\s+worker\s+\d+s/);
    const pod = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\n  namespace: default\nspec:\n  nodeName: worker-1\n  containers: [{name: c, image: busybox}]\n`;
    await k.ok(["apply", "-f", "-"], { input: pod });
    expect((await k.ok(["get", "pods", "-A", "--field-selector", "spec.nodeName=worker-1", "-o", "name"])).trim()).toBe("pod/p1");
    // What a CNI manifest (or a ClusterResourceSet) applies is accepted like a real API server would.
    const cni = [
      "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: cni, namespace: kube-system}",
      "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cni}\nrules: [{apiGroups: [''], resources: [nodes], verbs: [get, list, watch]}]",
      "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: cni}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cni}\nsubjects: [{kind: ServiceAccount, name: cni, namespace: kube-system}]",
      "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: cni-agent, namespace: kube-system}\nspec:\n  selector: {matchLabels: {app: cni}}\n  template:\n    metadata: {labels: {app: cni}}\n    spec: {serviceAccountName: cni, containers: [{name: agent, image: cni:1}]}",
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cni-operator, namespace: kube-system}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: op}}\n  template:\n    metadata: {labels: {app: op}}\n    spec: {containers: [{name: op, image: op:1}]}",
      "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: ippools.cni.example.com}\nspec:\n  group: cni.example.com\n  scope: Cluster\n  names: {kind: IPPool, plural: ippools, singular: ippool, listKind: IPPoolList}\n  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]",
    ].join("\n---\n");
    expect(await k.ok(["apply", "-f", "-"], { input: cni })).toBe(
      "serviceaccount/cni created\nclusterrole.rbac.authorization.k8s.io/cni created\nclusterrolebinding.rbac.authorization.k8s.io/cni created\ndaemonset.apps/cni-agent created\ndeployment.apps/cni-operator created\ncustomresourcedefinition.apiextensions.k8s.io/ippools.cni.example.com created\n",
    );
    await k.ok(["wait", "--for=condition=Established", "crd/ippools.cni.example.com", "--timeout=10s"]);
    expect(await k.ok(["apply", "-f", "-"], { input: "apiVersion: cni.example.com/v1\nkind: IPPool\nmetadata: {name: default}\nspec: {cidr: 10.244.0.0/16}\n" })).toBe("ippool.cni.example.com/default created\n");
    expect(await k.ok(["get", "ds,deploy", "-n", "kube-system", "-o", "name"])).toBe("daemonset.apps/cni-agent\ndeployment.apps/cni-operator\n");
    expect(await k.ok(["get", "ippools", "-o", "jsonpath={.items[0].spec.cidr}"])).toBe("10.244.0.0/16");
    // The wrong CA is refused, as a real API server would.
    const other = await createCA("someone-else");
    const stranger = await issueCertificate(other, { commonName: "x", organizations: ["system:masters"], usage: "client", days: 1 });
    const bad = join(tempDir("capx-lab-kc-"), "bad.kubeconfig");
    writeFileSync(bad, buildKubeconfig({ server: "https://10.10.0.10:6443", caPem: ca.certPem, clusterName: "c1", userName: "x", certPem: stranger.certPem, keyPem: stranger.keyPem, proxyUrl: d.labProxy }));
    expect((await new Kubectl(binary!, bad).run(["get", "nodes"])).code).toBe(1);
    // Nothing listens elsewhere on the LAN.
    const nowhere = join(tempDir("capx-lab-kc-"), "nowhere.kubeconfig");
    writeFileSync(nowhere, buildKubeconfig({ server: "https://10.10.0.99:6443", caPem: ca.certPem, clusterName: "x", userName: "x", certPem: admin.certPem, keyPem: admin.keyPem, proxyUrl: d.labProxy }));
    expect((await new Kubectl(binary!, nowhere).run(["get", "nodes", "--request-timeout=5s"])).code).toBe(1);
  }, 60_000);

  it("keeps the workload cluster's objects across a daemon restart", async () => {
    const dataDir = d.dataDir;
    await d.stop();
    d = await startTestDaemon({ dataDir, extraArgs: ["--lab"], config: "storage:\n  synchronous: NORMAL\n" });
    api = new Api(d);
    const k = new Kubectl(binary!, workloadKubeconfig(d.labProxy!));
    const end = Date.now() + 15_000;
    let r = await k.run(["get", "nodes", "-o", "name"]);
    while (r.code !== 0 && Date.now() < end) {
      await Bun.sleep(200);
      r = await k.run(["get", "nodes", "-o", "name"]);
    }
    expect(r.stdout).toBe("node/worker-1\n");
    expect(await k.ok(["get", "pods,ds,ippools", "-A", "-o", "name"])).toBe("pod/p1\ndaemonset.apps/cni-agent\nippool.cni.example.com/default\n");
    // The kubeconfig the Cluster controller wrote follows the proxy to its new port.
    const proxyOf = async () => {
      const r = await api.get<{ data?: { value?: string } }>("/api/v1/namespaces/default/secrets/c1-kubeconfig");
      return /proxy-url: "?([^"\s]+)/.exec(Buffer.from(r.body.data?.value ?? "", "base64").toString())?.[1];
    };
    const until = Date.now() + 15_000;
    while ((await proxyOf()) !== d.labProxy && Date.now() < until) await Bun.sleep(200);
    expect(await proxyOf()).toBe(d.labProxy);
  }, 60_000);

  it("removes the workload cluster with its Cluster", async () => {
    expect((await api.delete("/apis/cluster.x-k8s.io/v1beta2/namespaces/default/clusters/c1")).status).toBe(200);
    const end = Date.now() + 15_000;
    while ((await api.get("/apis/cluster.x-k8s.io/v1beta2/namespaces/default/clusters/c1")).status !== 404 && Date.now() < end) await Bun.sleep(100);
    expect((await api.get("/apis/cluster.x-k8s.io/v1beta2/namespaces/default/clusters/c1")).status).toBe(404);
    await Bun.sleep(300);
    expect(d.logs()).toContain('"msg":"lab workload cluster removed"');
  }, 30_000);
});
