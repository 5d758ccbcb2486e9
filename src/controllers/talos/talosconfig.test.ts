import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { parse } from "yaml";
import type { KObject } from "../../lib/kobject.ts";
import { TalosClient } from "../../providers/talos/api/client.ts";
import { decodeDocuments } from "../../providers/talos/yaml.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { DEFAULT_CONTRACT, type Contract } from "../../providers/talos/contract.ts";
import { generateSecretsBundle } from "../../providers/talos/secrets.ts";
import { ensureSecretsBundle, ensureTalosconfig, parseTalosconfig, readSecretsBundle, syncTalosconfigEndpoints } from "./cluster-secrets.ts";
import { secretValue, talosApiServerName, TALOSCONFIG_VERSION } from "./common.ts";
import { withCertSAN } from "./talosconfig.ts";
import { CLUSTER, clusterObject, createProvisionedCluster, NS, seedBundle, startTalosEnv, waitFor, type TalosTestEnv } from "./testenv.ts";

let env: TalosTestEnv;

beforeAll(async () => {
  env = await startTalosEnv();
  await seedBundle(env.client);
  await createProvisionedCluster(env.client);
});
afterAll(async () => {
  await env.close();
});

async function machineWithConfig(name: string, tcSpec: Record<string, unknown>, controlPlane = true): Promise<void> {
  const machine = await env.client.create({
    apiVersion: CAPI_VERSION,
    kind: "Machine",
    metadata: { name, namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": CLUSTER, ...(controlPlane ? { "cluster.x-k8s.io/control-plane": "" } : {}) } },
    spec: {
      clusterName: CLUSTER,
      version: "v1.33.1",
      bootstrap: { configRef: { apiGroup: "bootstrap.cluster.x-k8s.io", kind: "TalosConfig", name } },
      infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachine", name },
    },
  });
  await env.client.create({
    apiVersion: TALOSCONFIG_VERSION,
    kind: "TalosConfig",
    metadata: {
      name,
      namespace: NS,
      ownerReferences: [{ apiVersion: CAPI_VERSION, kind: "Machine", name, uid: machine.metadata.uid!, controller: true }],
    },
    spec: tcSpec,
  });
}

const tcOf = (name: string) => env.client.get({ apiVersion: TALOSCONFIG_VERSION, kind: "TalosConfig", namespace: NS, name });
const secret = (name: string) => env.client.get({ apiVersion: "v1", kind: "Secret", namespace: NS, name });
const cond = (o: KObject | undefined, type: string) => (o?.status as { conditions?: { type: string; status: string; reason: string; message: string }[] })?.conditions?.find((c) => c.type === type);

describe("TalosConfig controller", () => {
  test("writes bootstrap data a lab Talos node boots from and answers with mTLS", async () => {
    await machineWithConfig("cp-a", { generateType: "controlplane", talosVersion: "v1.13" });
    const tc = await waitFor("dataSecretName", () => ((tcOf("cp-a")?.status as { dataSecretName?: string })?.dataSecretName ? tcOf("cp-a") : undefined));
    const st = tc!.status as { dataSecretName: string; initialization: { dataSecretCreated: boolean } };
    expect(st.dataSecretName).toBe("cp-a-bootstrap-data");
    expect(st.initialization.dataSecretCreated).toBe(true);
    expect(cond(tc, "DataSecretAvailable")?.status).toBe("True");
    // The v1alpha3 view (v1beta1 contract): status.ready.
    const old = env.client.get({ apiVersion: "bootstrap.cluster.x-k8s.io/v1alpha3", kind: "TalosConfig", namespace: NS, name: "cp-a" });
    expect(old?.status).toMatchObject({ ready: true, dataSecretName: "cp-a-bootstrap-data" });

    const data = secret("cp-a-bootstrap-data")!;
    expect(data.type).toBe("cluster.x-k8s.io/secret");
    expect(data.metadata.labels?.["cluster.x-k8s.io/cluster-name"]).toBe(CLUSTER);
    expect(data.metadata.ownerReferences?.[0]).toMatchObject({ kind: "TalosConfig", name: "cp-a", controller: true });
    const docs = decodeDocuments(secretValue(data, "value"));
    const v1 = docs[0] as { version: string; machine: { type: string; certSANs: string[]; ca: { crt: string } }; cluster: { clusterName: string; controlPlane: { endpoint: string } } };
    expect(v1.version).toBe("v1alpha1");
    expect(v1.machine.type).toBe("controlplane");
    expect(v1.machine.certSANs).toContain(talosApiServerName(CLUSTER));
    expect(v1.cluster.clusterName).toBe(CLUSTER);
    expect(v1.cluster.controlPlane.endpoint).toBe("https://10.10.0.5:6443");
    // Hostname = the Machine name (contract 1.13: a HostnameConfig document).
    expect(docs.find((d) => d.kind === "HostnameConfig")).toMatchObject({ hostname: "cp-a", auto: "off" });

    // The cluster secrets: bundle, Kubernetes CA (same as in the config), talosconfig.
    const bundle = parse(secretValue(secret(`${CLUSTER}-talos`), "bundle")) as { certs: { os: { crt: string }; k8s: { crt: string } } };
    expect(Buffer.from(bundle.certs.os.crt, "base64").toString()).toBe(Buffer.from(v1.machine.ca.crt, "base64").toString());
    const ca = secret(`${CLUSTER}-ca`)!;
    expect(secretValue(ca, "tls.crt")).toBe(Buffer.from(bundle.certs.k8s.crt, "base64").toString());
    expect(secretValue(ca, "tls.key")).toContain("PRIVATE KEY");

    // Boot a lab node from exactly that config, report its address; the talosconfig follows it.
    await env.provision();
    const address = env.nodes.get("cp-a")!.address;
    const tcfg = await waitFor("talosconfig endpoints", () => {
      const c = parseTalosconfig(secretValue(secret(`${CLUSTER}-talosconfig`), "talosconfig"));
      return c.contexts[c.context]?.endpoints.includes(address) ? c : undefined;
    });
    const ctx = tcfg.contexts[CLUSTER]!;
    const crt = new X509Certificate(Buffer.from(ctx.crt, "base64").toString());
    expect(crt.subject).toBe("O=os:admin");
    expect(crt.toLegacyObject().ext_key_usage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    const client = new TalosClient({ endpoints: [address], ca: ctx.ca, crt: ctx.crt, key: ctx.key, serverName: talosApiServerName(CLUSTER), dialer: env.network, timeoutMs: 5_000 });
    try {
      const [version] = await client.version();
      expect(version?.version?.tag).toBe("v1.13.9");
      const [services] = await client.serviceList();
      expect(services!.services.find((s) => s.id === "etcd")?.state).toBe("Preparing");
    } finally {
      client.close();
    }
  });

  test("a second machine shares the cluster's secrets bundle", async () => {
    const before = secret(`${CLUSTER}-talos`)!.metadata.uid;
    await machineWithConfig("w-b", { generateType: "worker", talosVersion: "v1.13" }, false);
    await waitFor("worker data", () => secret("w-b-bootstrap-data"));
    expect(secret(`${CLUSTER}-talos`)!.metadata.uid).toBe(before);
    const docs = decodeDocuments(secretValue(secret("w-b-bootstrap-data"), "value"));
    const a = decodeDocuments(secretValue(secret("cp-a-bootstrap-data"), "value"));
    expect((docs[0] as { machine: { type: string; token: string } }).machine.type).toBe("worker");
    expect((docs[0] as { machine: { token: string } }).machine.token).toBe((a[0] as { machine: { token: string } }).machine.token);
  });

  test("empty talosVersion: default contract, with an Event asking to pin it", async () => {
    await machineWithConfig("cp-c", { generateType: "controlplane" });
    await waitFor("data", () => secret("cp-c-bootstrap-data"));
    const events = await waitFor("event", () => {
      const ev = env.client.list("v1", "Event", NS).filter((e) => (e as { reason?: string }).reason === "TalosVersionNotSet" && (e as { involvedObject?: { name?: string } }).involvedObject?.name === "cp-c");
      return ev.length ? ev : undefined;
    });
    expect((events[0] as unknown as { message: string }).message).toContain("pin talosVersion");
  });

  test("a JSON patch refused on a multi-document config says to use strategicPatches", async () => {
    await machineWithConfig("cp-d", { generateType: "controlplane", talosVersion: "v1.14", configPatches: [{ op: "add", path: "/machine/kubelet/extraArgs", value: { foo: "bar" } }] });
    const c = await waitFor("failure condition", () => {
      const x = cond(tcOf("cp-d"), "DataSecretAvailable");
      return x?.status === "False" && x.reason === "DataSecretGenerationFailed" ? x : undefined;
    });
    expect(c.message).toContain("strategicPatches");
    expect(secret("cp-d-bootstrap-data")).toBeUndefined();
  });

  test("strategic patches apply", async () => {
    await machineWithConfig("cp-e", { generateType: "controlplane", talosVersion: "v1.14", strategicPatches: ["machine:\n  kubelet:\n    extraArgs:\n      foo: bar\n"] });
    await waitFor("data", () => secret("cp-e-bootstrap-data"));
    const docs = decodeDocuments(secretValue(secret("cp-e-bootstrap-data"), "value"));
    expect((docs[0] as { machine: { kubelet: { extraArgs: Record<string, string> } } }).machine.kubelet.extraArgs.foo).toBe("bar");
  });
});

describe("withCertSAN", () => {
  test("adds once to the v1alpha1 document", () => {
    const docs: Record<string, unknown>[] = [{ version: "v1alpha1", machine: { certSANs: ["a"] } }, { apiVersion: "v1alpha1", kind: "HostnameConfig" }];
    const once = withCertSAN(docs, "talos-api.x.internal");
    expect(withCertSAN(once, "talos-api.x.internal")).toEqual(once);
    expect((once[0] as { machine: { certSANs: string[] } }).machine.certSANs).toEqual(["a", "talos-api.x.internal"]);
    expect((docs[0] as { machine: { certSANs: string[] } }).machine.certSANs).toEqual(["a"]);
  });
});

describe("TalosConfig controller, before the infrastructure", () => {
  test("waits for the Cluster's infrastructure, then writes the data", async () => {
    const e = await startTalosEnv();
    try {
      await e.client.create({ ...clusterObject("t2") });
      const machine = await e.client.create({
        apiVersion: CAPI_VERSION,
        kind: "Machine",
        metadata: { name: "m1", namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": "t2" } },
        spec: { clusterName: "t2", version: "v1.33.1", bootstrap: { configRef: { apiGroup: "bootstrap.cluster.x-k8s.io", kind: "TalosConfig", name: "m1" } }, infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachine", name: "m1" } },
      });
      await e.client.create({
        apiVersion: TALOSCONFIG_VERSION,
        kind: "TalosConfig",
        metadata: { name: "m1", namespace: NS, ownerReferences: [{ apiVersion: CAPI_VERSION, kind: "Machine", name: "m1", uid: machine.metadata.uid!, controller: true }] },
        spec: { generateType: "worker", talosVersion: "v1.12" },
      });
      const get = () => e.client.get({ apiVersion: TALOSCONFIG_VERSION, kind: "TalosConfig", namespace: NS, name: "m1" });
      await waitFor("waiting condition", () => cond(get(), "DataSecretAvailable")?.reason === "WaitingForClusterInfrastructure");
      expect(e.client.get({ apiVersion: "v1", kind: "Secret", namespace: NS, name: "t2-talos" })).toBeUndefined();
      await e.client.patch({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: "t2" }, "merge", { status: { initialization: { infrastructureProvisioned: true } } }, { subresource: "status" });
      await waitFor("data", () => (get()?.status as { dataSecretName?: string } | undefined)?.dataSecretName === "m1-bootstrap-data");
      // Generated bundle (no user-provided one): stored once, with the Kubernetes CA and talosconfig.
      for (const s of ["t2-talos", "t2-ca", "t2-talosconfig"]) expect(e.client.get({ apiVersion: "v1", kind: "Secret", namespace: NS, name: s })).toBeDefined();
      const docs = decodeDocuments(secretValue(e.client.get({ apiVersion: "v1", kind: "Secret", namespace: NS, name: "m1-bootstrap-data" }), "value"));
      expect(docs.find((d) => d.kind === "HostnameConfig")).toMatchObject({ hostname: "m1" });
    } finally {
      await e.close();
    }
  });
});

describe("the cluster's secrets bundle", () => {
  test("reconciles of one cluster that need it at once share one generation", async () => {
    const cluster = await createProvisionedCluster(env.client, "shared-bundle");
    let generated = 0;
    const slowGenerate = async (contract: Contract) => {
      generated++;
      await Bun.sleep(50);
      return generateSecretsBundle(contract);
    };
    const bundles = await Promise.all([1, 2, 3].map(() => ensureSecretsBundle(env.client, cluster, DEFAULT_CONTRACT, slowGenerate)));
    expect(generated).toBe(1);
    expect(new Set(bundles.map((b) => b.certs.k8s.crt)).size).toBe(1);
    // Stored: later calls read it without generating.
    await ensureSecretsBundle(env.client, cluster, DEFAULT_CONTRACT, slowGenerate);
    expect(generated).toBe(1);
    expect(readSecretsBundle(secretValue(secret("shared-bundle-talos"), "bundle")).certs.k8s.crt).toBe(bundles[0]!.certs.k8s.crt);
  });

  test("the talosconfig reads the bundle only to be created: later reconciles do not parse it", async () => {
    const cluster = await createProvisionedCluster(env.client, "lazy-bundle");
    const bundle = await ensureSecretsBundle(env.client, cluster, DEFAULT_CONTRACT);
    let reads = 0;
    const read = () => (reads++, bundle);
    const first = await ensureTalosconfig(env.client, cluster, read);
    expect(reads).toBe(1);
    expect(await ensureTalosconfig(env.client, cluster, read)).toEqual(first);
    expect(reads).toBe(1);
    // no bundle yet and no talosconfig: nothing is written
    const bare = await createProvisionedCluster(env.client, "no-bundle-yet");
    expect(await ensureTalosconfig(env.client, bare, () => undefined)).toBeUndefined();
    expect(secret("no-bundle-yet-talosconfig")).toBeUndefined();
  });

  test("keeping the endpoints current reads the talosconfig only when it or the endpoints changed", async () => {
    const cluster = await createProvisionedCluster(env.client, "sync-endpoints");
    const bundle = await ensureSecretsBundle(env.client, cluster, DEFAULT_CONTRACT);
    const client = env.client;
    const get = client.get.bind(client);
    const stored = () => get({ apiVersion: "v1", kind: "Secret", namespace: NS, name: "sync-endpoints-talosconfig" });
    let reads = 0;
    client.get = (ref) => {
      if (ref.kind === "Secret" && ref.name === "sync-endpoints-talosconfig") reads++;
      return get(ref);
    };
    try {
      await syncTalosconfigEndpoints(client, cluster, () => bundle);
      expect(stored()).toBeDefined();
      const afterCreate = reads;
      await syncTalosconfigEndpoints(client, cluster, () => bundle);
      await syncTalosconfigEndpoints(client, cluster, () => bundle);
      expect(reads).toBe(afterCreate); // known from its creation: not read again
      // someone rewrites the endpoints: the next sync reads it and puts the current ones back
      const cfg = parseTalosconfig(secretValue(stored(), "talosconfig"));
      const ctx = cfg.contexts[cfg.context]!;
      const stale = { ...cfg, contexts: { [cfg.context]: { ...ctx, endpoints: ["10.10.0.250"] } } };
      await client.patch({ apiVersion: "v1", kind: "Secret", namespace: NS, name: "sync-endpoints-talosconfig" }, "merge", { data: { talosconfig: Buffer.from(JSON.stringify(stale)).toString("base64") } });
      await syncTalosconfigEndpoints(client, cluster, () => bundle);
      expect(reads).toBe(afterCreate + 1);
      const fixed = parseTalosconfig(secretValue(stored(), "talosconfig"));
      expect(fixed.contexts[fixed.context]!.endpoints).toEqual(ctx.endpoints);
      await syncTalosconfigEndpoints(client, cluster, () => bundle);
      expect(reads).toBe(afterCreate + 1);
      // another controller's client on the same store knows it too
      const other = env.m.client("another-controller");
      const otherGet = other.get.bind(other);
      other.get = (ref) => {
        if (ref.kind === "Secret" && ref.name === "sync-endpoints-talosconfig") reads++;
        return otherGet(ref);
      };
      await syncTalosconfigEndpoints(other, cluster, () => bundle);
      expect(reads).toBe(afterCreate + 1);
    } finally {
      client.get = get;
    }
  });
});
