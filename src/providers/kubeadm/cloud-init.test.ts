import { describe, expect, test } from "bun:test";
import { createPublicKey, createPrivateKey, X509Certificate, createHash } from "node:crypto";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { parse, parseAllDocuments } from "yaml";
import { bootstrapTokenSecretData, generateBootstrapToken, TOKEN_PATTERN, tokenSecretName } from "./bootstrap-token.ts";
import { generateCA, generateServiceAccountKeys } from "./certificate-generation.ts";
import { caCertHashes, certificateFiles, type ClusterCertificates } from "./certificates.ts";
import { goQuote, initControlPlaneCloudConfig, joinControlPlaneCloudConfig, nodeCloudConfig, SENTINEL_FILE } from "./cloud-init.ts";
import { clusterConfigurationYaml, initConfigurationYaml, joinConfigurationYaml } from "./kubeadm-api.ts";

type CloudConfig = { write_files: { path: string; owner?: string; permissions?: string; content: string; encoding?: string; append?: boolean }[]; runcmd: string[]; bootcmd?: string[]; users?: Record<string, unknown>[]; ntp?: Record<string, unknown> };

const certs: ClusterCertificates = {
  ca: { cert: "CA CERT\n", key: "CA KEY\n" },
  etcd: { cert: "ETCD CERT\n", key: "ETCD KEY\n" },
  proxy: { cert: "PROXY CERT\n", key: "PROXY KEY\n" },
  sa: { cert: "SA PUB\n", key: "SA KEY\n" },
};

const CERT_FILES = [
  ["/etc/kubernetes/pki/ca.crt", "0640", "CA CERT\n"],
  ["/etc/kubernetes/pki/ca.key", "0600", "CA KEY\n"],
  ["/etc/kubernetes/pki/etcd/ca.crt", "0640", "ETCD CERT\n"],
  ["/etc/kubernetes/pki/etcd/ca.key", "0600", "ETCD KEY\n"],
  ["/etc/kubernetes/pki/front-proxy-ca.crt", "0640", "PROXY CERT\n"],
  ["/etc/kubernetes/pki/front-proxy-ca.key", "0600", "PROXY KEY\n"],
  ["/etc/kubernetes/pki/sa.pub", "0640", "SA PUB\n"],
  ["/etc/kubernetes/pki/sa.key", "0600", "SA KEY\n"],
];

const base = {
  bootCommands: ["echo $(date)", "echo 'hello BootCommands!'"],
  preKubeadmCommands: [`"echo $(date) ': hello PreKubeadmCommands!'"`, "second pre"],
  postKubeadmCommands: ["echo $(date) ': hello PostKubeadmCommands!'"],
  additionalFiles: [{ path: "/etc/extra.conf", owner: "root:root", permissions: "0644", content: "a: 1\nb: 2\n" }, { path: "/etc/b64", encoding: "base64", append: true, content: "aGk=" }],
  users: [{ name: "capi", sudo: "ALL=(ALL) NOPASSWD:ALL", sshAuthorizedKeys: ["ssh-ed25519 AAAA key1", "ssh-ed25519 BBBB key2"], lockPassword: false }],
  ntp: { enabled: true, servers: ["0.pool.ntp.org", "1.pool.ntp.org"] },
};

describe("cloud-config bootstrap data", () => {
  const clusterYaml = clusterConfigurationYaml({ controlPlaneEndpoint: "10.10.0.5:6443" }, "v1.33.1", { clusterName: "c1", kubernetesVersion: "v1.33.1", podSubnet: "10.244.0.0/16" });
  const initYaml = initConfigurationYaml({ nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "proxmox://{{ ds.meta_data.instance_id }}" }] } }, "v1.33.1");

  test("init: header, certificate files with upstream paths and modes, kubeadm.yaml with both documents, sentinel", () => {
    const out = initControlPlaneCloudConfig({ ...base, certificateFiles: certificateFiles(certs), clusterConfiguration: clusterYaml, initConfiguration: initYaml });
    expect(out.startsWith("## template: jinja\n#cloud-config\n\nwrite_files:\n-   path: /etc/kubernetes/pki/ca.crt\n    owner: root:root\n    permissions: '0640'\n    content: |\n      CA CERT\n      \n")).toBe(true);
    const doc = parse(out) as CloudConfig;
    const paths = doc.write_files.map((f) => f.path);
    expect(paths).toEqual([...CERT_FILES.map((f) => f[0]), "/etc/extra.conf", "/etc/b64", "/run/kubeadm/kubeadm.yaml", "/run/cluster-api/placeholder"]);
    for (const [path, mode, content] of CERT_FILES) expect(doc.write_files.find((f) => f.path === path)).toMatchObject({ owner: "root:root", permissions: mode, content });
    expect(doc.write_files.find((f) => f.path === "/etc/b64")).toEqual({ path: "/etc/b64", encoding: "base64", append: true, content: "aGk=\n" });
    const kubeadm = doc.write_files.find((f) => f.path === "/run/kubeadm/kubeadm.yaml")!;
    expect(kubeadm.permissions).toBe("0640");
    const docs = parseAllDocuments(kubeadm.content).map((d) => d.toJSON());
    expect(docs.map((d) => d.kind)).toEqual(["ClusterConfiguration", "InitConfiguration"]);
    expect(docs[0]).toMatchObject({ apiVersion: "kubeadm.k8s.io/v1beta4", clusterName: "c1", controlPlaneEndpoint: "10.10.0.5:6443", kubernetesVersion: "v1.33.1", networking: { podSubnet: "10.244.0.0/16" } });
    // The jinja expression stays for cloud-init to render.
    expect(docs[1].nodeRegistration.kubeletExtraArgs).toEqual([{ name: "provider-id", value: "proxmox://{{ ds.meta_data.instance_id }}" }]);
    // Commands in order, quoted as Go's %q; the kubeadm command then the sentinel (upstream test text).
    expect(out).toContain(`bootcmd:\n  - "echo $(date)"\n  - "echo 'hello BootCommands!'"`);
    expect(out).toContain(
      `runcmd:\n  - "\\"echo $(date) ': hello PreKubeadmCommands!'\\""\n  - "second pre"\n  - 'kubeadm init --config /run/kubeadm/kubeadm.yaml  && echo success > /run/cluster-api/bootstrap-success.complete'\n  - "echo $(date) ': hello PostKubeadmCommands!'"`,
    );
    expect(doc.runcmd).toEqual([`"echo $(date) ': hello PreKubeadmCommands!'"`, "second pre", `kubeadm init --config /run/kubeadm/kubeadm.yaml  && echo success > ${SENTINEL_FILE}`, "echo $(date) ': hello PostKubeadmCommands!'"]);
    expect(doc.users).toEqual([{ name: "capi", lock_passwd: false, sudo: "ALL=(ALL) NOPASSWD:ALL", ssh_authorized_keys: ["ssh-ed25519 AAAA key1", "ssh-ed25519 BBBB key2"] }]);
    expect(doc.ntp).toEqual({ enabled: true, servers: ["0.pool.ntp.org", "1.pool.ntp.org"] });
  });

  test("control-plane join: certificates and the JoinConfiguration with token discovery", () => {
    const joinYaml = joinConfigurationYaml(
      { controlPlane: {}, discovery: { bootstrapToken: { token: "abcdef.0123456789abcdef", apiServerEndpoint: "10.10.0.5:6443", caCertHashes: ["sha256:00ff"] } } },
      "v1.33.1",
    );
    const out = joinControlPlaneCloudConfig({ certificateFiles: certificateFiles(certs), joinConfiguration: joinYaml, verbosity: 5 });
    const doc = parse(out) as CloudConfig;
    expect(doc.write_files.map((f) => f.path)).toEqual([...CERT_FILES.map((f) => f[0]), "/run/kubeadm/kubeadm-join-config.yaml", "/run/cluster-api/placeholder"]);
    const join = parse(doc.write_files.find((f) => f.path === "/run/kubeadm/kubeadm-join-config.yaml")!.content);
    expect(join).toMatchObject({ kind: "JoinConfiguration", controlPlane: { localAPIEndpoint: {} }, discovery: { bootstrapToken: { token: "abcdef.0123456789abcdef", apiServerEndpoint: "10.10.0.5:6443", caCertHashes: ["sha256:00ff"] } } });
    expect(doc.runcmd).toEqual([`kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml --v 5 && echo success > ${SENTINEL_FILE}`]);
  });

  test("worker join: no certificates, a '---' document start, join then sentinel", () => {
    const joinYaml = joinConfigurationYaml({ discovery: { bootstrapToken: { token: "abcdef.0123456789abcdef", apiServerEndpoint: "10.10.0.5:6443" } } }, "v1.29.3");
    const out = nodeCloudConfig({ joinConfiguration: joinYaml, preKubeadmCommands: ["p1"], postKubeadmCommands: ["p2"] });
    expect(out).toContain("    content: |\n      ---\n      apiVersion: kubeadm.k8s.io/v1beta3\n");
    const doc = parse(out) as CloudConfig;
    expect(doc.write_files.map((f) => f.path)).toEqual(["/run/kubeadm/kubeadm-join-config.yaml", "/run/cluster-api/placeholder"]);
    expect(doc.runcmd).toEqual(["p1", `kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml  && echo success > ${SENTINEL_FILE}`, "p2"]);
    expect(doc.users).toBeUndefined();
    expect(doc.ntp).toBeUndefined();
  });

  test("disk setup, filesystems and mounts as upstream renders them", () => {
    const out = nodeCloudConfig({
      joinConfiguration: "kind: JoinConfiguration\n",
      diskSetup: {
        partitions: [
          { device: "test-device", layout: true, overwrite: false, tableType: "gpt" },
          { device: "d2", tableType: "gpt", diskLayout: [{ percentage: 30, partitionType: "Linux" }, { percentage: 20 }, { percentage: 50, partitionType: "LinuxRAID" }] },
        ],
        filesystems: [{ device: "test-device", filesystem: "ext4", label: "test_disk", extraOpts: ["-F", "-E", "lazy_itable_init=1,lazy_journal_init=1"] }],
      },
      mounts: [["test_disk", "/var/lib/testdir"]],
    });
    expect(out).toContain("disk_setup:\n  test-device:\n    table_type: gpt\n    layout: true\n    overwrite: false");
    expect(out).toContain("  d2:\n    table_type: gpt\n    layout:\n      - [30, 83]\n      - 20\n      - [50, fd]");
    expect(out).toContain("fs_setup:\n  - label: test_disk\n    filesystem: ext4\n    device: test-device\n    extra_opts:\n      - -F\n      - -E\n      - lazy_itable_init=1,lazy_journal_init=1");
    expect(out).toContain("mounts:\n  - - test_disk\n    - /var/lib/testdir");
    expect((parse(out) as { mounts: string[][] }).mounts).toEqual([["test_disk", "/var/lib/testdir"]]);
  });

  test("goQuote escapes as Go's %q", () => {
    expect(goQuote(`a "b" \\ \n\t\x01 é`)).toBe(`"a \\"b\\" \\\\ \\n\\t\\x01 é"`);
  });
});

describe("cluster certificates", () => {
  test("CA: RSA-2048, CN=kubernetes, CA with path length 0, ten years; key in PKCS#1", async () => {
    const ca = await generateCA();
    const x = new X509Certificate(ca.cert);
    expect(x.subject).toBe("CN=kubernetes");
    expect(x.ca).toBe(true);
    const bc = new x509.X509Certificate(ca.cert).getExtension(x509.BasicConstraintsExtension)!;
    expect(bc.pathLength).toBe(0);
    expect(bc.critical).toBe(true);
    expect(x.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(ca.key).toStartWith("-----BEGIN RSA PRIVATE KEY-----");
    expect(x.checkPrivateKey(createPrivateKey(ca.key))).toBe(true);
    const years = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / (365 * 24 * 3600 * 1000);
    expect(Math.round(years)).toBe(10);
    expect(x.toLegacyObject()).toBeDefined();
  });

  test("ECDSA when encryptionAlgorithm says so; SA key pair: public key PEM matches the private key", async () => {
    const ec = await generateCA({ algorithm: "ECDSA-P256", validityDays: 30 });
    expect(ec.key).toStartWith("-----BEGIN EC PRIVATE KEY-----");
    expect(new X509Certificate(ec.cert).publicKey.asymmetricKeyType).toBe("ec");
    const sa = await generateServiceAccountKeys();
    expect(sa.cert).toStartWith("-----BEGIN PUBLIC KEY-----");
    const fromPriv = createPublicKey(createPrivateKey(sa.key)).export({ type: "spki", format: "pem" });
    expect(fromPriv).toBe(sa.cert);
  });

  test("caCertHashes: sha256 of the SubjectPublicKeyInfo", async () => {
    const ca = await generateCA({ algorithm: "ECDSA-P256" });
    const spki = new X509Certificate(ca.cert).publicKey.export({ type: "spki", format: "der" });
    expect(caCertHashes(ca.cert)).toEqual([`sha256:${createHash("sha256").update(spki).digest("hex")}`]);
    expect(() => caCertHashes("nothing")).toThrow();
  });
});

describe("bootstrap tokens", () => {
  test("form and Secret data as kubeadm expects", () => {
    const t = generateBootstrapToken();
    expect(t).toMatch(TOKEN_PATTERN);
    expect(tokenSecretName(t)).toBe(`bootstrap-token-${t.slice(0, 6)}`);
    expect(tokenSecretName("bad")).toBeUndefined();
    const d = bootstrapTokenSecretData(t, new Date("2030-01-02T03:04:05.678Z"));
    expect(d).toEqual({
      "token-id": t.slice(0, 6),
      "token-secret": t.slice(7),
      expiration: "2030-01-02T03:04:05Z",
      "usage-bootstrap-signing": "true",
      "usage-bootstrap-authentication": "true",
      "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
      description: "token generated by cluster-api-bootstrap-provider-kubeadm",
    });
  });
});
