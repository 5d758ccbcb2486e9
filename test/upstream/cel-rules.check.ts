/**
 * Upstream-data check (reads ../shared/reference; run via scripts/check-upstream.sh or
 * `bun test ./test/upstream/cel-rules.check.ts`): every distinct `x-kubernetes-validations` rule
 * and every `(?i)` pattern in the reference CRDs under ../shared/reference/capi/crds runs against a
 * real daemon. Each distinct schema node that carries one (deep-copied as is, with its sibling
 * constraints and nested rules) becomes `spec.value` of a test CRD `r<N>s.rules.check.capx.dev`;
 * then hand-picked values from RULES / PATTERNS below are created: valid ones get 201, violating
 * ones 422 with the rule's message and cause, and transition rules (`oldSelf`) are checked with
 * create-then-update. A rule or `(?i)` pattern in the reference that the tables do not cover fails
 * the drift test, so a new upstream rule cannot slip through unchecked.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { adminFetch, REPO, startTestDaemon, type TestDaemon } from "../harness/daemon.ts";
import type { JSONSchemaProps, ValidationRule } from "../../src/registry/schema/types.ts";

const CRD_DIR = join(REPO, "../shared/reference/capi/crds");
const GROUP = "rules.check.capx.dev";

// ---------------------------------------------------------------------------------------------
// Hand-written expectations, keyed by rule text / pattern.
// ---------------------------------------------------------------------------------------------

/** A value, or a function of the carrying schema node when variants of the node differ. */
type Val<T> = T | ((node: JSONSchemaProps) => T);

interface Violation {
  value: Val<unknown>;
  /** Total causes in the 422 (default 1: the rule's own). */
  causes?: Val<number>;
  /**
   * The rule cannot evaluate (e.g. `no such key: x` on an absent field): the cause is then
   * `<evalError> evaluating rule: <message>`, as kube-apiserver reports runtime errors.
   */
  evalError?: string;
}

interface RuleCase {
  /** Values created as `spec.value`; each must be accepted (201). */
  valid: Val<unknown>[];
  /** Values whose create must be rejected (422) by this rule. */
  violating?: Violation[];
  /** Transition rules: create `from` (201), update to `from` again (200), update to `to` (422). */
  transition?: { from: Val<unknown>; to: Val<unknown>; causes?: Val<number> };
  /** The expected `messageExpression` result, for rules that have one. */
  message?: string;
}

interface PatternCase {
  valid: string[];
  /** Accepted only because of `(?i)`: a case-sensitive match would reject them. */
  caseInsensitive: string[];
  violating: string[];
}

const poolRef = (kind = "InClusterIPPool", apiGroup = "ipam.cluster.x-k8s.io") => ({ apiGroup, kind, name: "pool" });

/** capmox v1alpha2 machine specs require `network.networkDevices` (absent in v1alpha1). */
const machine =
  (fields: Record<string, unknown>) =>
  (node: JSONSchemaProps): unknown =>
    node.required?.includes("network") ? { ...fields, network: { networkDevices: [{ name: "net0", bridge: "vmbr0" }] } } : fields;

const hasRule = (node: JSONSchemaProps, rule: string) => (node["x-kubernetes-validations"] ?? []).some((r) => r.rule === rule);

const EXISTS_ONE_SOURCE_NODE = "[has(self.sourceNode), has(self.templateSelector)].exists_one(c, c)";
const EXISTS_ONE_TEMPLATE_ID = "[has(self.templateID), has(self.templateSelector)].exists_one(c, c)";
const TEMPLATE_OR_SELECTOR = "has(self.templateSelector) || (has(self.templateID) && has(self.sourceNode))";

const MTU: RuleCase = {
  valid: [1, 576, 1500, 9000, 65520],
  violating: [{ value: 0 }, { value: 575 }, { value: 65521 }],
};

const RULES: Record<string, RuleCase> = {
  // capmox ProxmoxMachine spec (v1alpha1 and v1alpha2, machines, templates, clusters' machineSpec).
  [EXISTS_ONE_SOURCE_NODE]: {
    valid: [machine({ sourceNode: "pve1", templateID: 100 }), machine({ templateSelector: { matchTags: ["ubuntu"] } })],
    violating: [{ value: machine({ sourceNode: "pve1", templateSelector: { matchTags: ["ubuntu"] } }) }],
  },
  [EXISTS_ONE_TEMPLATE_ID]: {
    valid: [machine({ sourceNode: "pve1", templateID: 100 }), machine({ templateSelector: { matchTags: ["ubuntu"] } })],
    violating: [{ value: machine({ templateID: 100, templateSelector: { matchTags: ["ubuntu"] } }) }],
  },
  [TEMPLATE_OR_SELECTOR]: {
    valid: [machine({ sourceNode: "pve1", templateID: 100 }), machine({ templateSelector: { matchTags: ["ubuntu"] } })],
    // Without sourceNode and templateSelector, the v1alpha2 ProxmoxMachine's exists_one rule fails too.
    violating: [{ value: machine({ templateID: 100 }), causes: (n) => (hasRule(n, EXISTS_ONE_SOURCE_NODE) ? 2 : 1) }],
  },
  "self.full || !has(self.format)": {
    // `full` defaults to true before validation.
    valid: [machine({ sourceNode: "pve1", templateID: 100, format: "qcow2" }), machine({ sourceNode: "pve1", templateID: 100, full: false })],
    violating: [{ value: machine({ sourceNode: "pve1", templateID: 100, full: false, format: "qcow2" }) }],
  },
  "self.full || !has(self.storage)": {
    valid: [machine({ sourceNode: "pve1", templateID: 100, storage: "local-lvm" }), machine({ sourceNode: "pve1", templateID: 100, full: false })],
    violating: [{ value: machine({ sourceNode: "pve1", templateID: 100, full: false, storage: "local-lvm" }) }],
  },
  "self == oldSelf": {
    valid: [{ disk: "scsi0", sizeGb: 10 }, { disk: "virtio0", sizeGb: 50 }],
    transition: { from: { disk: "scsi0", sizeGb: 10 }, to: { disk: "scsi0", sizeGb: 20 } },
  },
  "self.ipv4PoolRef != null || self.ipv6PoolRef != null": {
    valid: [
      { bridge: "vmbr1", name: "net1", ipv4PoolRef: poolRef() },
      // `self.ipv4PoolRef` is an error (no such key), but `error || true` is true.
      { bridge: "vmbr1", name: "net1", ipv6PoolRef: poolRef("GlobalInClusterIPPool") },
    ],
    violating: [{ value: { bridge: "vmbr1", name: "net1" }, evalError: "no such key: ipv4PoolRef" }],
  },
  "self.apiGroup == 'ipam.cluster.x-k8s.io'": {
    valid: [poolRef()],
    violating: [
      { value: poolRef("InClusterIPPool", "ipam.example.com") },
      { value: { kind: "InClusterIPPool", name: "pool" }, evalError: "no such key: apiGroup" },
    ],
  },
  "self.kind == 'InClusterIPPool' || self.kind == 'GlobalInClusterIPPool'": {
    valid: [poolRef("InClusterIPPool"), poolRef("GlobalInClusterIPPool")],
    violating: [{ value: poolRef("IPAddressPool") }, { value: poolRef("inclusterippool") }],
  },
  "self == 1 || ( self >= 576 && self <= 65520)": MTU,
  "self == 1 || (self >= 576 && self <= 65520)": MTU,
  "self != 'net0'": { valid: ["net1", "net10"], violating: [{ value: "net0" }] },
  "(self > 0 && self < 32765) || (self > 32766)": {
    valid: [1, 100, 32764, 32767, 4294967295],
    violating: [{ value: 0 }, { value: 32765 }, { value: 32766 }],
  },
  "(self > 0 && self < 254) || (self > 255)": {
    valid: [1, 100, 253, 256, 4294967295],
    violating: [{ value: 254 }, { value: 255 }],
  },
  "self.end >= self.start": {
    valid: [{ start: 100, end: 100 }, { start: 100, end: 200 }],
    violating: [{ value: { start: 200, end: 100 } }],
  },
  "self.port > 0 && self.port < 65536": {
    valid: [{ host: "10.0.0.10", port: 6443 }, { host: "cp.example.com", port: 1 }, { host: "cp.example.com", port: 65535 }],
    // Where `port` also has minimum/maximum, that schema error is reported as well (not blocking).
    violating: [
      { value: { host: "10.0.0.10", port: 0 }, causes: (n) => (n.properties?.port?.minimum !== undefined ? 2 : 1) },
      { value: { host: "10.0.0.10", port: 65536 }, causes: (n) => (n.properties?.port?.maximum !== undefined ? 2 : 1) },
    ],
  },
  "self.addresses.size() > 0": {
    // `metric` is required in v1alpha1 and defaulted (100).
    valid: [{ addresses: ["10.0.0.10-10.0.0.20"], prefix: 24, gateway: "10.0.0.1" }],
    violating: [{ value: { addresses: [], prefix: 24, gateway: "10.0.0.1" } }],
  },
  "self.ipv4Config != null || self.ipv6Config != null": {
    valid: [
      { dnsServers: ["10.0.0.1"], ipv4Config: { addresses: ["10.0.0.10-10.0.0.20"], prefix: 24, gateway: "10.0.0.1" } },
      { dnsServers: ["fd00::1"], ipv6Config: { addresses: ["fd00::10-fd00::20"], prefix: 64, gateway: "fd00::1" } },
    ],
    violating: [{ value: { dnsServers: ["10.0.0.1"] }, evalError: "no such key: ipv4Config" }],
  },
  "self.all(x, self.exists_one(y, x == y))": {
    // MachineDrainRule spec.machines / spec.pods: both item kinds have `selector`.
    valid: [[{ selector: { matchLabels: { role: "a" } } }, { selector: { matchLabels: { role: "b" } } }], [{ selector: {} }]],
    violating: [
      { value: [{ selector: { matchLabels: { role: "a" } } }, { selector: { matchLabels: { role: "a" } } }] },
      {
        value: [
          { selector: { matchExpressions: [{ key: "k", operator: "In", values: ["x", "y"] }] } },
          { selector: { matchLabels: { role: "b" } } },
          { selector: { matchExpressions: [{ key: "k", operator: "In", values: ["x", "y"] }] } },
        ],
      },
    ],
  },
  "self.matches('^(Linux|LinuxSwap|LinuxRAID|LVM|Fat32|NTFS|LinuxExtended|[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})$')": {
    valid: ["Linux", "LinuxSwap", "LVM", "LinuxExtended", "0FC63DAF-8483-4772-8E79-3d69d8477de4"],
    violating: [{ value: "linux" }, { value: "LinuxFoo" }, { value: "0FC63DAF-8483-4772-8E79" }, { value: "xFat32" }],
  },
  "self.all(x, self.exists_one(y, x.name == y.name))": {
    valid: [[{ name: "v", value: "2" }, { name: "feature-gates", value: "A=true" }], [{ name: "v", value: "" }]],
    violating: [{ value: [{ name: "v", value: "2" }, { name: "feature-gates", value: "A=true" }, { name: "v", value: "4" }] }],
  },
  "[has(self.layout),has(self.diskLayout)].filter(x,x==true).size() == 1": {
    valid: [
      { device: "/dev/sda", layout: true },
      { device: "/dev/sda", layout: false },
      { device: "/dev/sdb", diskLayout: [{ percentage: 40, partitionType: "Linux" }, { percentage: 60 }] },
    ],
    violating: [{ value: { device: "/dev/sda" } }, { value: { device: "/dev/sda", layout: true, diskLayout: [{ percentage: 100 }] } }],
  },
  "!(self in ['Ready','Available','HealthCheckSucceeded','OwnerRemediated','ExternallyRemediated'])": {
    valid: ["DiskPressure", "example.com/Ready", "ready"],
    violating: [{ value: "Ready" }, { value: "Available" }, { value: "HealthCheckSucceeded" }, { value: "OwnerRemediated" }, { value: "ExternallyRemediated" }],
  },
  "has(self.controlPlane)": {
    // ProxmoxCluster v1alpha1 (v0.7.7) spec.cloneSpec.machineSpec: a map of machine specs.
    valid: [{ controlPlane: { sourceNode: "pve1", templateID: 100 } }, { controlPlane: {}, workers: { templateID: 101 } }],
    violating: [{ value: { workers: { sourceNode: "pve1", templateID: 100 } } }, { value: {} }],
  },
};

const PATTERNS: Record<string, PatternCase> = {
  // capmox ProxmoxMachine spec.tags[] and templateSelector.matchTags[].
  "^(?i)[a-z0-9_][a-z0-9_\\-\\+\\.]*$": {
    valid: ["ubuntu", "k8s_1.32+rc-1", "_tag", "0"],
    caseInsensitive: ["Ubuntu", "UBUNTU-22.04", "K8S_1.32+RC"],
    violating: ["-ubuntu", "ubuntu 22.04", "ub@ntu", ".tag", ""],
  },
};

// ---------------------------------------------------------------------------------------------
// Reading the reference.
// ---------------------------------------------------------------------------------------------

interface Variant {
  /** The carrying node, deep-copied from the first place it occurs. */
  node: JSONSchemaProps;
  /** The rule as written on this node (message, messageExpression, reason, fieldPath). */
  rule: ValidationRule;
  /** Where this node occurs: `<dir>/<file> <Kind>/<version>.<path>`. */
  sites: string[];
  /** Index of the test CRD for this node. */
  crd: number;
}

interface Found {
  rules: Map<string, Variant[]>;
  patterns: Map<string, { node: JSONSchemaProps; sites: string[]; crd: number }[]>;
  /** Distinct carrying nodes (one test CRD each). */
  nodes: JSONSchemaProps[];
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
    });
}

function withoutDescriptions(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutDescriptions);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "description").map(([k, x]) => [k, withoutDescriptions(x)]));
  }
  return v;
}

function collect(dir: string): Found {
  const found: Found = { rules: new Map(), patterns: new Map(), nodes: [] };
  const nodeIndex = new Map<string, number>();
  const crdOf = (node: JSONSchemaProps): number => {
    const key = JSON.stringify(withoutDescriptions(node));
    let i = nodeIndex.get(key);
    if (i === undefined) {
      i = found.nodes.length;
      nodeIndex.set(key, i);
      found.nodes.push(structuredClone(node));
    }
    return i;
  };
  const visit = (node: JSONSchemaProps | undefined, site: string) => {
    if (!node || typeof node !== "object") return;
    for (const rule of node["x-kubernetes-validations"] ?? []) {
      const crd = crdOf(node);
      const variants = found.rules.get(rule.rule) ?? [];
      const same = variants.find((v) => v.crd === crd && JSON.stringify(v.rule) === JSON.stringify(rule));
      if (same) same.sites.push(site);
      else variants.push({ node: found.nodes[crd], rule: structuredClone(rule), sites: [site], crd });
      found.rules.set(rule.rule, variants);
    }
    if (typeof node.pattern === "string" && node.pattern.includes("(?i)")) {
      const crd = crdOf(node);
      const variants = found.patterns.get(node.pattern) ?? [];
      const same = variants.find((v) => v.crd === crd);
      if (same) same.sites.push(site);
      else variants.push({ node: found.nodes[crd], sites: [site], crd });
      found.patterns.set(node.pattern, variants);
    }
    for (const [k, sub] of Object.entries(node.properties ?? {})) visit(sub, `${site}.${k}`);
    visit(node.items, `${site}[]`);
    if (typeof node.additionalProperties === "object") visit(node.additionalProperties, `${site}{}`);
    for (const k of ["allOf", "anyOf", "oneOf"] as const) node[k]?.forEach((sub, i) => visit(sub, `${site}.${k}[${i}]`));
    visit(node.not, `${site}.not`);
  };
  for (const file of yamlFiles(dir)) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      const crd = doc.toJS() as { kind?: string; spec?: { names: { kind: string }; versions: { name: string; schema?: { openAPIV3Schema?: JSONSchemaProps } }[] } };
      if (crd?.kind !== "CustomResourceDefinition" || !crd.spec) continue;
      for (const v of crd.spec.versions) visit(v.schema?.openAPIV3Schema, `${relative(dir, file)} ${crd.spec.names.kind}/${v.name}`);
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Talking to the daemon.
// ---------------------------------------------------------------------------------------------

interface Cause {
  reason?: string;
  message?: string;
  field?: string;
}

interface Reply {
  status: number;
  body: { kind?: string; reason?: string; message?: string; code?: number; details?: { causes?: Cause[] }; metadata?: { resourceVersion?: string } } & Record<string, unknown>;
}

const resolve = <T>(v: Val<T>, node: JSONSchemaProps): T => (typeof v === "function" ? (v as (n: JSONSchemaProps) => T)(node) : v);

let d: TestDaemon;
let seq = 0;

async function call(method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await adminFetch(d, path, {
    method,
    headers: { "content-type": "application/json", accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Reply["body"];
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { message: text };
  }
  return { status: res.status, body: parsed };
}

const crdName = (i: number) => `r${i}s.${GROUP}`;
const resourcePath = (i: number, name?: string) => `/apis/${GROUP}/v1/r${i}s${name ? `/${name}` : ""}?fieldValidation=Strict`;

function testCrd(i: number, node: JSONSchemaProps) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: crdName(i) },
    spec: {
      group: GROUP,
      scope: "Cluster",
      names: { plural: `r${i}s`, singular: `r${i}`, kind: `R${i}`, listKind: `R${i}List` },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", properties: { value: structuredClone(node) } } } } },
        },
      ],
    },
  };
}

/** Creates `spec.value = value` in CRD `i`; returns the reply and the object name. */
async function create(i: number, value: unknown): Promise<Reply & { name: string }> {
  const name = `o${++seq}`;
  const r = await call("POST", resourcePath(i), { apiVersion: `${GROUP}/v1`, kind: `R${i}`, metadata: { name }, spec: { value } });
  return { ...r, name };
}

/** The reply with the value that produced it, so a failed status assertion shows both. */
const shown = (r: Reply, value: unknown) => ({ status: r.status, value, body: r.body });

/** The message a failing rule must produce (message, messageExpression result, or `failed rule: <rule>`). */
function ruleMessage(rule: ValidationRule, c: RuleCase): string {
  if (rule.messageExpression !== undefined) {
    if (c.message === undefined) throw new Error(`rule ${JSON.stringify(rule.rule)} has a messageExpression: give its expected result as \`message\``);
    return c.message;
  }
  return rule.message?.trim() ? rule.message.trim() : `failed rule: ${rule.rule.trim()}`;
}

/** Asserts a 422 whose causes include exactly one from `rule` (at its field, with its reason and message). */
function expectRuleRejection(r: Reply, value: unknown, v: Variant, c: RuleCase, causes: number, evalError?: string): void {
  expect(shown(r, value)).toMatchObject({ status: 422, body: { kind: "Status", reason: "Invalid", code: 422 } });
  const all = r.body.details?.causes ?? [];
  const msg = ruleMessage(v.rule, c);
  const fp = v.rule.fieldPath;
  const field = evalError || !fp ? "spec.value" : fp.startsWith("[") ? `spec.value${fp}` : `spec.value.${fp.replace(/^\./, "")}`;
  const reason = evalError ? "FieldValueInvalid" : (v.rule.reason ?? "FieldValueInvalid");
  const type = v.node.type ?? "";
  let want: string;
  if (evalError) want = `Invalid value: "${type}": ${evalError} evaluating rule: ${v.rule.message?.trim() || v.rule.rule.trim()}`;
  else if (reason === "FieldValueInvalid") want = `Invalid value: "${type}": ${msg}`;
  else if (reason === "FieldValueForbidden") want = `Forbidden: ${msg}`;
  else if (reason === "FieldValueRequired") want = `Required value: ${msg}`;
  else want = `Duplicate value: "${type}"`;
  const expected = { reason, field, message: want };
  const hits = all.filter((x) => x.reason === reason && x.field === field && x.message === want);
  expect({ value, hits: hits.length, causes: all }).toMatchObject({ hits: 1 });
  expect({ value, expected, causes: all.length, all }).toMatchObject({ causes });
  expect(r.body.message).toContain(want.replace(/^Duplicate value: .*/, ""));
}

// ---------------------------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------------------------

const present = existsSync(CRD_DIR);
if (!present) {
  console.warn(`cel-rules check: ${CRD_DIR} not found; nothing to check`);
  if (process.env.CI === "true") {
    it("the upstream reference is present (CI=true)", () => {
      throw new Error(`${CRD_DIR} not found`);
    });
  }
}
const found: Found = present ? collect(CRD_DIR) : { rules: new Map(), patterns: new Map(), nodes: [] };
const suite = present ? describe : describe.skip;

/** Test CRDs that failed to be created or established, with the reason. */
const crdErrors = new Map<number, string>();

const short = (s: string, n = 70) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const where = (sites: string[]) => `${sites[0]}${sites.length > 1 ? ` (+${sites.length - 1} more)` : ""}`;

suite("upstream CEL rules and (?i) patterns (../shared/reference/capi/crds)", () => {
  beforeAll(async () => {
    d = await startTestDaemon({ config: "storage:\n  synchronous: NORMAL\n" });
    const used = new Set<number>();
    for (const [rule, variants] of found.rules) if (RULES[rule]) for (const v of variants) used.add(v.crd);
    for (const [p, variants] of found.patterns) if (PATTERNS[p]) for (const v of variants) used.add(v.crd);
    await Promise.all(
      [...used].map(async (i) => {
        const r = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", testCrd(i, found.nodes[i]));
        if (r.status !== 201) {
          crdErrors.set(i, `create ${crdName(i)}: ${r.status} ${r.body.message}`);
          return;
        }
        const end = Date.now() + 15_000;
        for (;;) {
          const g = await call("GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName(i)}`);
          const conds = (g.body.status as { conditions?: { type: string; status: string; message?: string }[] } | undefined)?.conditions ?? [];
          if (conds.some((c) => c.type === "Established" && c.status === "True")) {
            // The resource must also be served.
            const list = await call("GET", `/apis/${GROUP}/v1/r${i}s`);
            if (list.status === 200) return;
          }
          if (Date.now() > end) {
            crdErrors.set(i, `${crdName(i)} not established in 15 s: ${JSON.stringify(conds)}`);
            return;
          }
          await Bun.sleep(50);
        }
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await d?.stop();
    d?.cleanup();
  });

  it("drift: every distinct rule and (?i) pattern of the reference has hand-written cases", () => {
    const missing: string[] = [];
    for (const [rule, variants] of found.rules) {
      if (!RULES[rule]) missing.push(`rule ${JSON.stringify(rule)} (message ${JSON.stringify(variants[0].rule.message)}) at ${where(variants.flatMap((v) => v.sites))}`);
      else if (rule.includes("oldSelf") && !RULES[rule].transition) missing.push(`transition rule ${JSON.stringify(rule)} has no \`transition\` case`);
      else if (!rule.includes("oldSelf") && !RULES[rule].violating?.length) missing.push(`rule ${JSON.stringify(rule)} has no \`violating\` case`);
    }
    for (const [p, variants] of found.patterns) if (!PATTERNS[p]) missing.push(`pattern ${JSON.stringify(p)} at ${where(variants.flatMap((v) => v.sites))}`);
    const stale = [...Object.keys(RULES).filter((r) => !found.rules.has(r)), ...Object.keys(PATTERNS).filter((p) => !found.patterns.has(p))];
    if (stale.length) console.warn(`cel-rules check: table entries no longer in the reference:\n  ${stale.join("\n  ")}`);
    console.log(
      `cel-rules check: ${found.rules.size} distinct rules (${[...found.rules.values()].reduce((n, v) => n + v.length, 0)} rule/node variants), ` +
        `${found.patterns.size} distinct (?i) patterns, ${found.nodes.length} test CRDs`,
    );
    expect(found.rules.size).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  let ruleNo = 0;
  for (const [rule, variants] of found.rules) {
    const c = RULES[rule];
    const n = ruleNo++;
    if (!c) continue;
    variants.forEach((v, vi) => {
      it(`rule ${n}.${vi} ${short(rule)} @ ${short(where(v.sites), 90)}`, async () => {
        expect(crdErrors.get(v.crd)).toBeUndefined();
        for (const raw of c.valid) {
          const value = resolve(raw, v.node);
          expect(shown(await create(v.crd, value), value)).toMatchObject({ status: 201 });
        }
        for (const bad of c.violating ?? []) {
          const value = resolve(bad.value, v.node);
          expectRuleRejection(await create(v.crd, value), value, v, c, resolve(bad.causes ?? 1, v.node), bad.evalError);
        }
        if (c.transition) {
          const from = resolve(c.transition.from, v.node);
          const to = resolve(c.transition.to, v.node);
          // Transition rules do not run on create: the target value alone is fine.
          expect(shown(await create(v.crd, to), to)).toMatchObject({ status: 201 });
          const made = await create(v.crd, from);
          expect(shown(made, from)).toMatchObject({ status: 201 });
          const obj = made.body as { spec: { value: unknown } };
          const same = await call("PUT", resourcePath(v.crd, made.name), obj);
          expect(shown(same, from)).toMatchObject({ status: 200 });
          const changed = await call("PUT", resourcePath(v.crd, made.name), { ...same.body, spec: { ...obj.spec, value: to } });
          expectRuleRejection(changed, to, v, c, resolve(c.transition.causes ?? 1, v.node));
        }
      });
    });
  }

  let patNo = 0;
  for (const [pattern, variants] of found.patterns) {
    const c = PATTERNS[pattern];
    const n = patNo++;
    if (!c) continue;
    variants.forEach((v, vi) => {
      it(`pattern ${n}.${vi} ${short(pattern)} @ ${short(where(v.sites), 90)}`, async () => {
        expect(crdErrors.get(v.crd)).toBeUndefined();
        for (const value of [...c.valid, ...c.caseInsensitive]) {
          expect(shown(await create(v.crd, value), value)).toMatchObject({ status: 201 });
        }
        // The case-insensitive values really need (?i): they fail the pattern without it.
        const withoutFlag = new RegExp(pattern.replace("(?i)", ""));
        for (const value of c.caseInsensitive) expect({ value, matches: withoutFlag.test(value) }).toEqual({ value, matches: false });
        for (const value of c.violating) {
          const r = await create(v.crd, value);
          expect(shown(r, value)).toMatchObject({ status: 422, body: { kind: "Status", reason: "Invalid", code: 422 } });
          const causes = r.body.details?.causes ?? [];
          const want = `spec.value in body should match '${pattern}'`;
          expect({ value, causes }).toMatchObject({ causes: [{ reason: "FieldValueInvalid", field: "spec.value", message: `Invalid value: ${JSON.stringify(value)}: ${want}` }] });
          expect(r.body.message).toContain(want);
        }
      });
    });
  }
});
