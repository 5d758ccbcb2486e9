/**
 * The in-cluster IPAM through the whole daemon, driven by the real kubectl: InClusterIPPool and
 * GlobalInClusterIPPool served with upstream's columns and admission rules, and the in-process
 * controller fulfilling IPAddressClaims — 50 at once, exhaustion, release only after the pool's
 * grace period, a pool shared across namespaces, refusals of pool changes that would strand
 * allocated addresses, and a daemon killed in the middle of allocating, restarted on the same data
 * directory, never handing an address out twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Api } from "../harness/api.ts";
import { startTestDaemon, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("in-cluster IPAM");
const G = "ipam.cluster.x-k8s.io";
const CONFIG = "storage:\n  synchronous: NORMAL\n";

let d: TestDaemon;
let k: Kubectl;

type Obj = { metadata: { name: string; namespace?: string; deletionTimestamp?: string; creationTimestamp?: string }; spec?: Record<string, unknown>; status?: Record<string, unknown> };
type Condition = { type: string; status: string; reason: string; message: string };

const list = (objs: unknown[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items: objs });
const apply = (objs: unknown[]) => k.ok(["apply", "-f", "-"], { input: list(objs) });

function pool(name: string, ns: string | undefined, spec: Record<string, unknown>, version = "v1alpha2") {
  return { apiVersion: `${G}/${version}`, kind: ns ? "InClusterIPPool" : "GlobalInClusterIPPool", metadata: ns ? { name, namespace: ns } : { name }, spec };
}

function claim(name: string, ns: string, poolName: string, kind = "InClusterIPPool") {
  return { apiVersion: `${G}/v1beta2`, kind: "IPAddressClaim", metadata: { name, namespace: ns }, spec: { poolRef: { apiGroup: G, kind, name: poolName } } };
}

async function getJson<T = Obj>(args: string[]): Promise<T> {
  return JSON.parse(await k.ok(["get", ...args, "-o", "json"])) as T;
}

async function items(resource: string, ns: string): Promise<Obj[]> {
  return (await getJson<{ items: Obj[] }>([resource, "-n", ns])).items;
}

/** claim name → allocated address, from the IPAddresses of a namespace. */
async function addressesIn(ns: string): Promise<Map<string, string>> {
  return new Map((await items("ipaddresses", ns)).map((a) => [a.metadata.name, String(a.spec!.address)]));
}

const ready = (o: Obj | undefined) => ((o?.status?.conditions ?? []) as Condition[]).find((c) => c.type === "Ready");

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await Bun.sleep(100);
  }
}

const ipv4 = (a: string) => a.split(".").reduce((n, o) => n * 256 + Number(o), 0);

beforeAll(async () => {
  if (!binary) return;
  d = await startTestDaemon({ config: CONFIG });
  k = new Kubectl(binary, d.kubeconfig);
  await k.ok(["create", "namespace", "ipam-a"]);
  await k.ok(["create", "namespace", "ipam-b"]);
}, 60_000);

afterAll(async () => {
  await d?.stop();
  d?.cleanup();
});

describe.skipIf(!binary)("in-cluster IPAM (kubectl against the daemon)", () => {
  it("50 claims applied at once get 50 distinct addresses of the pool, never the gateway; the pool counts them", async () => {
    const spec = { addresses: ["10.10.0.1-10.10.0.40", "10.10.0.64/28", "10.10.0.100"], prefix: 24, gateway: "10.10.0.1" };
    expect(await apply([pool("nodes", "ipam-a", spec)])).toBe(`inclusterippool.${G}/nodes created\n`);
    await apply(Array.from({ length: 50 }, (_, i) => claim(`m-${i}`, "ipam-a", "nodes")));
    await k.ok(["wait", "--for=condition=Ready", "ipaddressclaims", "--all", "-n", "ipam-a", "--timeout=90s"]);

    const byClaim = await addressesIn("ipam-a");
    expect(byClaim.size).toBe(50);
    const addresses = [...byClaim.values()];
    expect(new Set(addresses).size).toBe(50);
    const inPool = (a: string) => {
      const n = ipv4(a);
      return (n >= ipv4("10.10.0.2") && n <= ipv4("10.10.0.40")) || (n >= ipv4("10.10.0.64") && n <= ipv4("10.10.0.79")) || a === "10.10.0.100";
    };
    expect(addresses.filter((a) => !inPool(a))).toEqual([]);
    expect(addresses).not.toContain("10.10.0.1");
    // Every claim points at its own IPAddress, which carries the pool's prefix and gateway.
    for (const c of await items("ipaddressclaims", "ipam-a")) expect(c.status!.addressRef).toEqual({ name: c.metadata.name });
    const one = await getJson(["ipaddress", "m-7", "-n", "ipam-a"]);
    expect(one.spec).toMatchObject({ prefix: 24, gateway: "10.10.0.1", claimRef: { name: "m-7" }, poolRef: { apiGroup: G, kind: "InClusterIPPool", name: "nodes" } });

    // 39 + 16 + 1 addresses, minus the gateway .1 and the subnet's network address .0 (not in the list anyway).
    const status = await waitFor("pool counts", async () => {
      const s = (await getJson(["inclusterippool", "nodes", "-n", "ipam-a"])).status?.ipAddresses as Record<string, number> | undefined;
      return s?.used === 50 ? s : undefined;
    });
    expect(status).toEqual({ total: 56, used: 50, free: 6, outOfRange: 0 });
    const table = await k.ok(["get", "inclusterippools", "-n", "ipam-a"]);
    expect(table.split("\n")[0]!.trim().split(/\s{2,}/)).toEqual(["NAME", "ADDRESSES", "TOTAL", "FREE", "USED"]);
    const row = table.split("\n")[1]!;
    // (How a list cell is printed is the table code's business: kube-apiserver prints it as JSON.)
    for (const entry of spec.addresses) expect(row).toContain(entry);
    expect(row).toMatch(/^nodes\s.*\s56\s+6\s+50$/);
  }, 120_000);

  it("pool changes that would strand allocated addresses, deleting a pool in use and invalid pools are refused", async () => {
    const shrink = await k.run(["patch", "inclusterippool", "nodes", "-n", "ipam-a", "--type=merge", "-p", JSON.stringify({ spec: { addresses: ["10.10.0.64/28"] } })]);
    expect(shrink.code).not.toBe(0);
    expect(shrink.stderr).toMatch(
      /^Error from server \(BadRequest\): admission webhook "validation\.inclusterippool\.ipam\.cluster\.x-k8s\.io" denied the request: pool addresses do not contain allocated addresses: \[10\.10\.0\.2-/,
    );
    const del = await k.run(["delete", "inclusterippool", "nodes", "-n", "ipam-a", "--wait=false"]);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toBe(
      'Error from server (BadRequest): admission webhook "validation.inclusterippool.ipam.cluster.x-k8s.io" denied the request: Pool has IPAddresses allocated. Cannot delete Pool until all IPAddresses have been removed.\n',
    );
    const bad = await k.run(["apply", "-f", "-"], { input: list([pool("bad", "ipam-a", { addresses: ["10.0.0.1", "fd00::1"], prefix: 24, gateway: "10.0.0.1" })]) });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('spec.addresses: Invalid value: ["10.0.0.1","fd00::1"]: provided addresses are of mixed IP families');
    expect(bad.stderr).toContain('spec.gateway: Invalid value: "10.0.0.1": provided gateway and addresses are of mixed IP families');
    const outside = await k.run(["apply", "-f", "-"], { input: list([pool("bad", "ipam-a", { addresses: ["10.0.0.10", "10.0.1.10"], prefix: 24 })]) });
    expect(outside.stderr).toContain('spec.addresses: Invalid value: "10.0.1.10": provided address belongs to a different subnet than others');
  });

  it("an exhausted pool says so; a released address is handed out again only after the grace period", async () => {
    const grace = 3;
    await apply([pool("tiny", "ipam-a", { addresses: ["10.20.0.10-10.20.0.11"], prefix: 24, addressReuseGracePeriodSeconds: grace })]);
    await apply([claim("t-1", "ipam-a", "tiny"), claim("t-2", "ipam-a", "tiny")]);
    await k.ok(["wait", "--for=condition=Ready", "ipaddressclaim/t-1", "ipaddressclaim/t-2", "-n", "ipam-a", "--timeout=60s"]);
    const before = await addressesIn("ipam-a");
    expect([before.get("t-1"), before.get("t-2")]).toEqual(["10.20.0.10", "10.20.0.11"]);

    await apply([claim("t-3", "ipam-a", "tiny")]);
    const exhausted = await waitFor("PoolExhausted", async () => {
      const c = ready(await getJson(["ipaddressclaim", "t-3", "-n", "ipam-a"]));
      return c?.reason === "PoolExhausted" ? c : undefined;
    });
    expect(exhausted).toMatchObject({ status: "False", message: "InClusterIPPool ipam-a/tiny: no address available: all 2 addresses of the pool are in use" });

    await k.ok(["delete", "ipaddressclaim", "t-1", "-n", "ipam-a", "--wait=false"]);
    const deleting = await getJson(["ipaddressclaim", "t-1", "-n", "ipam-a"]);
    expect(deleting.metadata.deletionTimestamp).toBeString();
    // During the grace period the claim waits and its address stays taken.
    expect((await addressesIn("ipam-a")).get("t-1")).toBe("10.20.0.10");

    await k.ok(["wait", "--for=condition=Ready", "ipaddressclaim/t-3", "-n", "ipam-a", "--timeout=60s"]);
    const reused = await getJson(["ipaddress", "t-3", "-n", "ipam-a"]);
    expect(reused.spec!.address).toBe("10.20.0.10");
    const waited = (Date.parse(reused.metadata.creationTimestamp!) - Date.parse(deleting.metadata.deletionTimestamp!)) / 1000;
    expect(waited).toBeGreaterThanOrEqual(grace);
    expect((await k.run(["get", "ipaddressclaim", "t-1", "-n", "ipam-a"])).code).not.toBe(0);
  }, 90_000);

  it("a GlobalInClusterIPPool serves claims of several namespaces without handing an address out twice", async () => {
    await apply([pool("shared", undefined, { addresses: ["10.30.0.0/28"], prefix: 28, gateway: "10.30.0.1" })]);
    await apply([...["g-1", "g-2", "g-3"].map((n) => claim(n, "ipam-a", "shared", "GlobalInClusterIPPool")), ...["g-4", "g-5", "g-6"].map((n) => claim(n, "ipam-b", "shared", "GlobalInClusterIPPool"))]);
    await k.ok(["wait", "--for=condition=Ready", "ipaddressclaim/g-1", "ipaddressclaim/g-2", "ipaddressclaim/g-3", "-n", "ipam-a", "--timeout=60s"]);
    await k.ok(["wait", "--for=condition=Ready", "ipaddressclaims", "--all", "-n", "ipam-b", "--timeout=60s"]);
    const a = await addressesIn("ipam-a");
    const b = await addressesIn("ipam-b");
    const got = [a.get("g-1"), a.get("g-2"), a.get("g-3"), b.get("g-4"), b.get("g-5"), b.get("g-6")];
    expect(new Set(got).size).toBe(6);
    expect([...got].sort((x, y) => ipv4(x!) - ipv4(y!))).toEqual(["10.30.0.2", "10.30.0.3", "10.30.0.4", "10.30.0.5", "10.30.0.6", "10.30.0.7"]);
    const table = await k.ok(["get", "globalinclusterippools"]);
    expect(table.split("\n")[1]).toMatch(/^shared\s.*10\.30\.0\.0\/28.*\s13\s+7\s+6$/);
  }, 90_000);

  it("a v1alpha1 pool with a subnet is served converted, and fulfils claims", async () => {
    await apply([pool("legacy", "ipam-b", { subnet: "10.40.0.0/29", gateway: "10.40.0.1" }, "v1alpha1")]);
    const v2 = await getJson(["inclusterippools.v1alpha2.ipam.cluster.x-k8s.io", "legacy", "-n", "ipam-b"]);
    expect(v2.spec).toEqual({ addresses: ["10.40.0.1-10.40.0.6"], prefix: 29, gateway: "10.40.0.1" });
    const v1 = await getJson(["inclusterippools.v1alpha1.ipam.cluster.x-k8s.io", "legacy", "-n", "ipam-b"]);
    expect(v1.spec).toEqual({ subnet: "10.40.0.0/29", gateway: "10.40.0.1" });
    await apply([claim("l-1", "ipam-b", "legacy")]);
    await k.ok(["wait", "--for=condition=Ready", "ipaddressclaim/l-1", "-n", "ipam-b", "--timeout=60s"]);
    expect((await addressesIn("ipam-b")).get("l-1")).toBe("10.40.0.2");
  });

  it("a daemon killed while claims are being applied and allocated, restarted on the same data directory, never hands an address out twice", async () => {
    await apply([pool("crash", "ipam-b", { addresses: ["10.50.0.0/24"], prefix: 24, gateway: "10.50.0.1" })]);
    await apply(Array.from({ length: 10 }, (_, i) => claim(`early-${i}`, "ipam-b", "crash")));
    await k.ok(["wait", "--for=condition=Ready", ...Array.from({ length: 10 }, (_, i) => `ipaddressclaim/early-${i}`), "-n", "ipam-b", "--timeout=60s"]);
    const early = await addressesIn("ipam-b");
    const otherNamespace = await addressesIn("ipam-a");

    // 100 more claims; SIGKILL as soon as the first of them has an address (kubectl is still creating the rest).
    const late = Array.from({ length: 100 }, (_, i) => claim(`late-${i}`, "ipam-b", "crash"));
    const applying = k.run(["apply", "-f", "-"], { input: list(late) });
    const api = new Api(d);
    const seen = await waitFor("the first late allocation", async () => {
      const r = await api.get<{ items: Obj[] }>(`/apis/${G}/v1beta2/namespaces/ipam-b/ipaddresses`);
      const m = new Map(r.body.items.map((a) => [a.metadata.name, String(a.spec!.address)]));
      return [...m.keys()].some((n) => n.startsWith("late-")) ? m : undefined;
    }, 30_000);
    await d.stop("SIGKILL");
    await applying;

    d = await startTestDaemon({ dataDir: d.dataDir, config: CONFIG });
    k = new Kubectl(binary!, d.kubeconfig);
    await apply(late);
    const restarted = new Api(d);
    await waitFor("all 110 claims Ready after the restart", async () => {
      const r = await restarted.get<{ items: Obj[] }>(`/apis/${G}/v1beta2/namespaces/ipam-b/ipaddressclaims`);
      const mine = r.body.items.filter((c) => /^(early|late)-/.test(c.metadata.name));
      return mine.length === 110 && mine.every((c) => ready(c)?.status === "True");
    }, 90_000);
    const after = await addressesIn("ipam-b");
    // What was allocated before the crash (including late claims) stays as it was.
    for (const [name, address] of [...early, ...seen]) expect(after.get(name)).toBe(address);
    const crash = [...after].filter(([n]) => /^(early|late)-/.test(n)).map(([, a]) => a);
    expect(crash).toHaveLength(110);
    expect(new Set(crash).size).toBe(110);
    expect(crash).not.toContain("10.50.0.1");
    expect(crash.every((a) => a.startsWith("10.50.0."))).toBe(true);
    // The other pools' addresses are untouched.
    expect(await addressesIn("ipam-a")).toEqual(otherNamespace);

    // New claims after the restart still get fresh addresses.
    await apply([claim("post-restart", "ipam-b", "crash")]);
    await k.ok(["wait", "--for=condition=Ready", "ipaddressclaim/post-restart", "-n", "ipam-b", "--timeout=60s"]);
    expect(crash).not.toContain((await addressesIn("ipam-b")).get("post-restart"));
  }, 180_000);
});
