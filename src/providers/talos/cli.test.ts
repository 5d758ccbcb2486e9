/** `capx-appliance talos gen-config / gen-secrets` (src/cli/talos.ts), in-process and as a process. */
import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../cli/args.ts";
import { talosCommand } from "../../cli/talos.ts";
import { parseSecretsBundle } from "./secrets.ts";
import { decodeDocuments } from "./yaml.ts";

const dir = mkdtempSync(join(tmpdir(), "talos-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secretsFile = join(dir, "secrets.yaml");
const secretsText = await talosCommand(["gen-secrets", "--talos-version", "v1.13"]);
writeFileSync(secretsFile, secretsText);
const bundle = parseSecretsBundle(secretsText);

const base = ["gen-config", "--secrets", secretsFile, "--cluster", "c1", "--endpoint", "https://10.0.0.5:6443", "--kubernetes-version", "1.33.1"];
type Any = Record<string, any>;

async function usageError(argv: string[]): Promise<string> {
  try {
    await talosCommand(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const msg = (e as Error).message;
    expect(msg).not.toContain("\n");
    return msg;
  }
  throw new Error(`no error for ${argv.join(" ")}`);
}

describe("talos gen-secrets", () => {
  it("prints a loadable secrets.yaml", () => {
    expect(secretsText.startsWith("cluster:\n    id: ")).toBe(true);
    expect(bundle.certs.k8sServiceAccount.key).toStartWith("-----BEGIN RSA PRIVATE KEY-----");
  });
});

describe("talos gen-config", () => {
  it("prints the configuration with every option applied", async () => {
    const patch = join(dir, "strategic.yaml");
    writeFileSync(patch, "machine:\n  kubelet:\n    extraArgs:\n      rotate-server-certificates: 'true'\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nhostname: cp-1\n");
    const text = await talosCommand([
      ...base,
      "--talos-version", "v1.13.2",
      "--type", "controlplane",
      "--additional-sans", "a.example,b.example",
      "--dns-domain", "k8s.example",
      "--install-disk", "/dev/vda",
      "--kernel-args", 'net.ifnames=0,"console=ttyS0,115200n8"',
      "--kernel-args", "talos.platform=nocloud",
      "--local-api-port", "7443",
      "--sysctl", "vm.max_map_count=262144",
      "--sysctl", "net.core.somaxconn=1024",
      "--cni-url", "https://example.com/cni.yaml",
      "--registry-mirror", "docker.io=https://mirror.example",
      "--registry-mirror", "docker.io=https://mirror2.example",
      "--allow-scheduling-on-control-planes",
      "--patch", `@${patch}`,
    ]);
    const docs = decodeDocuments(text) as Any[];
    expect(docs.map((d) => d.kind ?? "v1alpha1")).toEqual(["v1alpha1", "RegistryMirrorConfig", "HostnameConfig"]);
    const m = docs[0]!;
    expect(m.machine.token).toBe(bundle.trustdInfo.token);
    expect(m.machine.certSANs).toEqual(["a.example", "b.example"]);
    expect(m.machine.install).toEqual({ disk: "/dev/vda", extraKernelArgs: ["net.ifnames=0", "console=ttyS0,115200n8", "talos.platform=nocloud"], wipe: false, grubUseUKICmdline: true });
    expect(m.machine.sysctls).toEqual({ "vm.max_map_count": "262144", "net.core.somaxconn": "1024" });
    expect(m.machine.kubelet.extraArgs).toEqual({ "rotate-server-certificates": "true" });
    expect(m.cluster.controlPlane).toEqual({ endpoint: "https://10.0.0.5:6443", localAPIServerPort: 7443 });
    expect(m.cluster.network.dnsDomain).toBe("k8s.example");
    expect(m.cluster.allowSchedulingOnControlPlanes).toBe(true);
    expect(docs[1]!.endpoints).toEqual([{ url: "https://mirror.example" }, { url: "https://mirror2.example" }]);
    expect(docs[2]).toEqual({ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname: "cp-1" });
  });

  it("applies JSON patch files on single-document contracts and refuses them on multi-document ones", async () => {
    const patch = join(dir, "json.yaml");
    writeFileSync(patch, "- op: add\n  path: /machine/network/hostname\n  value: w-1\n");
    const text = await talosCommand([...base, "--talos-version", "v1.11", "--type", "worker", "--patch", patch]);
    expect((decodeDocuments(text)[0] as Any).machine.network).toEqual({ hostname: "w-1" });
    const msg = await usageError([...base, "--talos-version", "v1.13", "--type", "worker", "--patch", patch]);
    expect(msg).toBe("JSON6902 patches are not supported for multi-document machine configuration (use strategicPatches instead of configPatches)");
  });

  it("refuses bad flags with one line", async () => {
    expect(await usageError([...base, "--talos-version", "v1.13"])).toContain("--type is required");
    expect(await usageError([...base, "--talos-version", "v1.13", "--type", "master"])).toContain("--type must be controlplane or worker");
    expect(await usageError([...base, "--talos-version", "v1.9", "--type", "worker"])).toContain("not supported");
    expect(await usageError([...base, "--talos-version", "v1.13", "--type", "worker", "--local-api-port", "x"])).toContain("--local-api-port");
    expect(await usageError([...base, "--talos-version", "v1.13", "--type", "worker", "--sysctl", "novalue"])).toContain("KEY=VALUE");
    expect(await usageError([...base, "--talos-version", "v1.13", "--type", "worker", "--registry-mirror", "docker.io=ftp://x"])).toContain("--registry-mirror");
    expect(await usageError([...base, "--talos-version", "v1.13", "--type", "worker", "--patch", join(dir, "missing.yaml")])).toContain("no such file");
    expect(await usageError([...base, "--talos-version", "v1.13", "--type", "worker", "--frob"])).toBe("unknown flag --frob");
    const broken = join(dir, "broken.yaml");
    writeFileSync(broken, "machine: [unclosed\n  x: y\n");
    expect(await usageError([...base, "--talos-version", "v1.13", "--type", "worker", "--patch", broken])).toContain("strategic patch");
    const badSecrets = join(dir, "bad-secrets.yaml");
    writeFileSync(badSecrets, "cluster:\n  id: x\n");
    expect(await usageError(["gen-config", "--secrets", badSecrets, "--cluster", "c", "--endpoint", "https://h:6443", "--kubernetes-version", "1.33.1", "--talos-version", "v1.13", "--type", "worker"])).toContain("secrets bundle");
    expect(await usageError(["gen-nothing"])).toContain("unknown talos command");
    expect(await usageError([...base, "--talos-version", "v1.13", "--type", "worker", "--kernel-args", '"a=b'])).toContain("unbalanced quote");
  });

  it("runs as `capx-appliance talos gen-config` with exit codes", () => {
    const main = join(import.meta.dir, "../../main.ts");
    const ok = Bun.spawnSync([process.execPath, main, "talos", ...base, "--talos-version", "v1.15", "--type", "worker"], { stdout: "pipe", stderr: "pipe" });
    expect(ok.exitCode).toBe(0);
    const docs = decodeDocuments(ok.stdout.toString()) as Any[];
    expect(docs[0]!.machine.type).toBe("worker");
    expect(docs.some((d) => d.kind === "KubeClusterConfig" && d.clusterName === "c1")).toBe(true);
    const bad = Bun.spawnSync([process.execPath, main, "talos", ...base, "--talos-version", "v1.15", "--type", "nope"], { stdout: "pipe", stderr: "pipe" });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stdout.toString()).toBe("");
    expect(bad.stderr.toString().trimEnd().split("\n")).toEqual(['capx-appliance: --type must be controlplane or worker, not "nope"']);
  });
});
