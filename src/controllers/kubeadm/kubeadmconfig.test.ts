import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, X509Certificate } from "node:crypto";
import { parse, parseAllDocuments } from "yaml";
import type { KObject } from "../../lib/kobject.ts";
import { generateCA } from "../../providers/kubeadm/certificate-generation.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { KUBEADMCONFIG_VERSION } from "./kubeadmconfig.ts";
import { createCluster, machineWithConfig, NS, setClusterStatus, startKubeadmEnv, waitFor, type KubeadmTestEnv } from "./testenv.ts";

type Cond = { type: string; status: string; reason: string; message: string };
type CloudConfig = { write_files: { path: string; permissions: string; content: string }[]; runcmd: string[]; users?: { name: string; passwd?: string }[] };

const b64d = (s: unknown) => (typeof s === "string" ? Buffer.from(s, "base64").toString() : "");
const b64 = (s: string) => Buffer.from(s).toString("base64");

let env: KubeadmTestEnv;
const cfgOf = (name: string) => env.client.get({ apiVersion: KUBEADMCONFIG_VERSION, kind: "KubeadmConfig", namespace: NS, name });
const secret = (name: string) => env.client.get({ apiVersion: "v1", kind: "Secret", namespace: NS, name });
const cond = (o: KObject | undefined, type: string) => (o?.status as { conditions?: Cond[] } | undefined)?.conditions?.find((c) => c.type === type);
const dataOf = (name: string) => b64d((secret(name)?.data as Record<string, string> | undefined)?.value);
const written = (name: string) => Boolean((cfgOf(name)?.status as { initialization?: { dataSecretCreated?: boolean } } | undefined)?.initialization?.dataSecretCreated);

beforeAll(async () => {
  env = await startKubeadmEnv({ tokenTtlMs: 3_000 });
});
afterAll(async () => {
  await env.close();
});

describe("KubeadmConfig controller", () => {
  test("one init machine (lock), certificates once, joins wait for the initialized control plane, then get tokens", async () => {
    await createCluster(env.client, "k1");
    await env.client.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "extra", namespace: NS }, data: { conf: b64("from secret\n"), pw: b64("$6$hash") } } as KObject);
    const common = {
      files: [{ path: "/etc/extra.conf", permissions: "0644", contentFrom: { secret: { name: "extra", key: "conf" } } }],
      users: [{ name: "ops", passwdFrom: { secret: { name: "extra", key: "pw" } } }],
      preKubeadmCommands: ["pre-1"],
      postKubeadmCommands: ["post-1"],
    };
    await machineWithConfig(env.client, "k1", "cp-a", { ...common, initConfiguration: { nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "proxmox://{{ ds.meta_data.instance_id }}" }] } } }, { controlPlane: true });
    await machineWithConfig(env.client, "k1", "cp-b", { ...common }, { controlPlane: true });
    await machineWithConfig(env.client, "k1", "w-1", { joinConfiguration: { nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "proxmox://x" }] } } });

    // Exactly one control plane gets init data; the lock names it.
    const initName = await waitFor("init data", () => ["cp-a", "cp-b"].find(written));
    const other = initName === "cp-a" ? "cp-b" : "cp-a";
    const lock = env.client.get({ apiVersion: "v1", kind: "ConfigMap", namespace: NS, name: "k1-lock" })!;
    expect(JSON.parse((lock.data as Record<string, string>)["lock-information"]!)).toEqual({ machineName: initName });
    expect(lock.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Cluster", name: "k1" });
    await Bun.sleep(400);
    expect(written(other)).toBe(false);
    expect(written("w-1")).toBe(false);
    expect(cond(cfgOf("w-1"), "DataSecretAvailable")).toMatchObject({ status: "False", reason: "NotAvailable", message: "Waiting for Cluster control plane to be initialized" });
    expect(cond(cfgOf("w-1"), "Ready")?.status).toBe("False");

    // The certificates: four Secrets owned by the init KubeadmConfig.
    const initCfg = cfgOf(initName)!;
    for (const p of ["ca", "etcd", "proxy", "sa"]) {
      const s = secret(`k1-${p}`)!;
      expect(s.type).toBe("cluster.x-k8s.io/secret");
      expect(s.metadata.labels?.["cluster.x-k8s.io/cluster-name"]).toBe("k1");
      expect(s.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "KubeadmConfig", name: initName, uid: initCfg.metadata.uid, controller: true })]);
    }
    const caPem = b64d((secret("k1-ca")!.data as Record<string, string>)["tls.crt"]);
    expect(new X509Certificate(caPem).subject).toBe("CN=kubernetes");
    expect(b64d((secret("k1-sa")!.data as Record<string, string>)["tls.crt"])).toStartWith("-----BEGIN PUBLIC KEY-----");

    // The init data: a Secret named as the config, owned by it; kubeadm init with the certificates.
    const data = secret(initName)!;
    expect(data.type).toBe("cluster.x-k8s.io/secret");
    expect(b64d((data.data as Record<string, string>).format)).toBe("cloud-config");
    expect(data.metadata.ownerReferences?.[0]).toMatchObject({ apiVersion: KUBEADMCONFIG_VERSION, kind: "KubeadmConfig", name: initName, controller: true });
    const st = initCfg.status as { dataSecretName: string };
    expect(st.dataSecretName).toBe(initName);
    expect(cond(initCfg, "DataSecretAvailable")).toMatchObject({ status: "True", reason: "Available" });
    expect(cond(initCfg, "CertificatesAvailable")).toMatchObject({ status: "True", reason: "Available" });
    expect(cond(initCfg, "Ready")).toMatchObject({ status: "True", reason: "Ready" });
    const init = parse(dataOf(initName)) as CloudConfig;
    expect(init.write_files.find((f) => f.path === "/etc/kubernetes/pki/ca.crt")?.content).toBe(caPem);
    expect(init.write_files.find((f) => f.path === "/etc/kubernetes/pki/ca.key")?.permissions).toBe("0600");
    expect(init.write_files.find((f) => f.path === "/etc/extra.conf")?.content).toBe("from secret\n");
    expect(init.users).toEqual([{ name: "ops", passwd: "$6$hash" }]);
    expect(init.runcmd).toEqual(["pre-1", "kubeadm init --config /run/kubeadm/kubeadm.yaml  && echo success > /run/cluster-api/bootstrap-success.complete", "post-1"]);
    const docs = parseAllDocuments(init.write_files.find((f) => f.path === "/run/kubeadm/kubeadm.yaml")!.content).map((d) => d.toJSON());
    expect(docs[0]).toMatchObject({
      apiVersion: "kubeadm.k8s.io/v1beta4",
      kind: "ClusterConfiguration",
      clusterName: "k1",
      controlPlaneEndpoint: "10.10.0.5:6443",
      kubernetesVersion: "v1.33.1",
      networking: { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", dnsDomain: "cluster.local" },
    });
    expect(docs[1].kind).toBe("InitConfiguration");
    const events = env.client.list("v1", "Event", NS).filter((e) => (e as { reason?: string }).reason === "BootstrapDataGenerated");
    expect(events.length).toBeGreaterThan(0);

    // Control plane initialized: the lock goes, the others join with a token made in the workload cluster.
    await setClusterStatus(env.client, "k1", { initialization: { infrastructureProvisioned: true, controlPlaneInitialized: true } });
    await waitFor("joins", () => written(other) && written("w-1"));
    await waitFor("lock released", () => !env.client.get({ apiVersion: "v1", kind: "ConfigMap", namespace: NS, name: "k1-lock" }));
    const hash = `sha256:${createHash("sha256").update(new X509Certificate(caPem).publicKey.export({ type: "spki", format: "der" })).digest("hex")}`;
    for (const name of [other, "w-1"]) {
      const bt = (cfgOf(name)!.spec as { joinConfiguration: { discovery: { bootstrapToken: { token: string; caCertHashes: string[]; apiServerEndpoint: string } } } }).joinConfiguration.discovery.bootstrapToken;
      expect(bt.caCertHashes).toEqual([hash]);
      expect(bt.apiServerEndpoint).toBe("10.10.0.5:6443");
      const tokenSecret = env.workload.secrets.get(`kube-system/bootstrap-token-${bt.token.slice(0, 6)}`)!;
      expect(tokenSecret.type).toBe("bootstrap.kubernetes.io/token");
      expect(b64d((tokenSecret.data as Record<string, string>)["token-secret"])).toBe(bt.token.slice(7));
      const cc = parse(dataOf(name)) as CloudConfig;
      const join = parse(cc.write_files.find((f) => f.path === "/run/kubeadm/kubeadm-join-config.yaml")!.content);
      expect(join.discovery.bootstrapToken).toEqual({ token: bt.token, apiServerEndpoint: "10.10.0.5:6443", caCertHashes: [hash] });
      expect(cc.runcmd).toContain("kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml  && echo success > /run/cluster-api/bootstrap-success.complete");
    }
    const cpJoin = parse(dataOf(other)) as CloudConfig;
    expect(cpJoin.write_files.filter((f) => f.path.startsWith("/etc/kubernetes/pki/")).length).toBe(8);
    expect(parse(cpJoin.write_files.find((f) => f.path === "/run/kubeadm/kubeadm-join-config.yaml")!.content).controlPlane).toEqual({ localAPIEndpoint: {} });
    const worker = parse(dataOf("w-1")) as CloudConfig;
    expect(worker.write_files.some((f) => f.path.startsWith("/etc/kubernetes/pki/"))).toBe(false);
    const wJoin = parse(worker.write_files.find((f) => f.path === "/run/kubeadm/kubeadm-join-config.yaml")!.content);
    expect(wJoin.nodeRegistration.taints).toEqual([{ key: "node.cluster.x-k8s.io/uninitialized", effect: "NoSchedule" }]);
    // The taint is only in the generated data, not written into the spec.
    expect((cfgOf("w-1")!.spec as { joinConfiguration: { nodeRegistration: { taints?: unknown } } }).joinConfiguration.nodeRegistration.taints).toBeUndefined();
    // Certificates were made once.
    expect(secret("k1-ca")!.metadata.ownerReferences?.[0]?.name).toBe(initName);
  });

  test("bootstrap tokens are refreshed while the Machine has no Node, not after", async () => {
    const bt = (cfgOf("w-1")!.spec as { joinConfiguration: { discovery: { bootstrapToken: { token: string } } } }).joinConfiguration.discovery.bootstrapToken;
    const key = `kube-system/bootstrap-token-${bt.token.slice(0, 6)}`;
    const expiration = () => Date.parse(b64d((env.workload.secrets.get(key)!.data as Record<string, string>).expiration));
    const first = expiration();
    // TTL 3s: refreshed once less than 2.5s are left (checked every second).
    const refreshed = await waitFor("refresh", () => (expiration() > first ? expiration() : undefined), 10_000);
    expect(refreshed).toBeGreaterThan(Date.now() + 1_000);
    await env.client.patch({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name: "w-1" }, "merge", { status: { nodeRef: { name: "w-1" } } }, { subresource: "status" });
    await Bun.sleep(300);
    const frozen = expiration();
    await Bun.sleep(2_500);
    expect(expiration()).toBe(frozen);
  });

  test("an unreachable workload cluster delays the join until it answers", async () => {
    env.workload.state = "unreachable";
    await machineWithConfig(env.client, "k1", "w-2", { format: "cloud-config" });
    await Bun.sleep(500);
    expect(written("w-2")).toBe(false);
    expect(env.workload.tokenSecrets().length).toBe(2);
    env.workload.state = "no-kubeconfig";
    await Bun.sleep(300);
    expect(written("w-2")).toBe(false);
    env.workload.state = "ok";
    await waitFor("w-2 data", () => written("w-2"));
    expect(env.workload.tokenSecrets().length).toBe(3);
  });

  test("a user-provided CA is used as is; the missing certificates are generated", async () => {
    const ca = await generateCA();
    await env.client.create({ apiVersion: "v1", kind: "Secret", type: "cluster.x-k8s.io/secret", metadata: { name: "k2-ca", namespace: NS }, data: { "tls.crt": b64(ca.cert), "tls.key": b64(ca.key) } } as KObject);
    await createCluster(env.client, "k2");
    await machineWithConfig(env.client, "k2", "k2-cp", { format: "cloud-config" }, { controlPlane: true, version: "v1.30.4" });
    await waitFor("init data", () => written("k2-cp"));
    const userCa = secret("k2-ca")!;
    expect(userCa.metadata.ownerReferences ?? []).toEqual([]);
    expect(b64d((userCa.data as Record<string, string>)["tls.crt"])).toBe(ca.cert);
    expect(secret("k2-etcd")!.metadata.ownerReferences?.[0]?.name).toBe("k2-cp");
    const init = parse(dataOf("k2-cp")) as CloudConfig;
    expect(init.write_files.find((f) => f.path === "/etc/kubernetes/pki/ca.crt")?.content).toBe(ca.cert);
    // Kubernetes 1.30: kubeadm v1beta3.
    expect(init.write_files.find((f) => f.path === "/run/kubeadm/kubeadm.yaml")?.content).toContain("apiVersion: kubeadm.k8s.io/v1beta3");
  });

  test("a lock held by a Machine that is gone is released and taken", async () => {
    const cluster = await createCluster(env.client, "k4");
    await env.client.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "k4-lock", namespace: NS, ownerReferences: [{ apiVersion: CAPI_VERSION, kind: "Cluster", name: "k4", uid: cluster.metadata.uid! }] },
      data: { "lock-information": JSON.stringify({ machineName: "ghost" }) },
    } as KObject);
    await machineWithConfig(env.client, "k4", "k4-cp", { format: "cloud-config" }, { controlPlane: true });
    await waitFor("init data", () => written("k4-cp"));
    const lock = env.client.get({ apiVersion: "v1", kind: "ConfigMap", namespace: NS, name: "k4-lock" })!;
    expect(JSON.parse((lock.data as Record<string, string>)["lock-information"]!)).toEqual({ machineName: "k4-cp" });
  });

  test("waits for the Cluster's infrastructure", async () => {
    await createCluster(env.client, "k3", { provisioned: false });
    await machineWithConfig(env.client, "k3", "k3-cp", { format: "cloud-config" }, { controlPlane: true });
    await waitFor("waiting condition", () => cond(cfgOf("k3-cp"), "DataSecretAvailable")?.message === "Waiting for Cluster status.infrastructureReady to be true");
    const legacy = (cfgOf("k3-cp")!.status as { deprecated?: { v1beta1?: { conditions?: Cond[] } } }).deprecated?.v1beta1?.conditions?.find((c) => c.type === "DataSecretAvailable");
    expect(legacy).toMatchObject({ status: "False", reason: "WaitingForClusterInfrastructure" });
    expect(secret("k3-ca")).toBeUndefined();
    await setClusterStatus(env.client, "k3", { initialization: { infrastructureProvisioned: true } });
    await waitFor("init data", () => written("k3-cp"));
  });
});
