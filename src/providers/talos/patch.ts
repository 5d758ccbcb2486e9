/**
 * Machine-config patches as CABPT applies them: RFC 6902 JSON patches (`configPatches`, only on a
 * single-document config, as Talos' configpatcher) and Talos strategic merge patches
 * (`strategicPatches`, YAML, may hold several documents).
 *
 * Strategic merge semantics (Talos `config/merge`): documents are matched by apiVersion + kind
 * (+ name); a patch document without `kind` patches the v1alpha1 document; unmatched documents are
 * appended. Maps merge key by key; scalars replace unless the patch value is empty ("" / 0 / null);
 * lists append, except the fields Talos tags `merge:"replace"` (pod / service subnets, audit policy,
 * authentication / credential-provider configuration, static pod spec, ...), which replace;
 * `extraArgs` entries replace per argument; admission plugins merge by name, network interfaces by
 * `interface` / `deviceSelector`, VLANs by `vlanId`.
 * `$patch: delete` removes a key, the list items matching the marker's other fields, or a whole
 * document (deleting a key or item that is not there fails with Talos' "lookup failed"; a missing
 * document is fine). A HostnameConfig whose patch sets `hostname`
 * without `auto` ends with `auto: off`, and an `auto: stable` HostnameConfig does not survive next
 * to a static `machine.network.hostname`.
 * @module
 */
import type { ConfigDocument } from "./generate.ts";
import { decodeDocuments } from "./yaml.ts";
import { cloneData } from "../../lib/clone.ts";

export class PatchError extends Error {}

export interface JsonPatchOperation {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

/** Talos' refusal, with the way out for CABPT users. */
export const MULTIDOC_JSON_PATCH_ERROR =
  "JSON6902 patches are not supported for multi-document machine configuration (use strategicPatches instead of configPatches)";

type Json = unknown;
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

function parsePointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new PatchError(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function arrayIndex(arr: Json[], token: string, forAdd: boolean, path: string): number {
  if (forAdd && token === "-") return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(`invalid array index ${JSON.stringify(token)} in ${path}`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(`array index ${i} out of bounds in ${path}`);
  return i;
}

/** The container and last token for `path`; the container must exist. */
function locate(doc: Json, path: string, op: string): { parent: Obj | Json[]; key: string } {
  const tokens = parsePointer(path);
  if (!tokens.length) throw new PatchError(`${op} operation does not apply: the document root cannot be the target`);
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, path)];
    else if (isObj(cur) && t in cur) cur = cur[t];
    else throw new PatchError(`${op} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`);
  }
  if (!Array.isArray(cur) && !isObj(cur)) {
    throw new PatchError(`${op} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`);
  }
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

function getAt(doc: Json, path: string, op: string): Json {
  let cur: Json = doc;
  for (const t of parsePointer(path)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, path)];
    else if (isObj(cur) && t in cur) cur = cur[t];
    else throw new PatchError(`${op} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`);
  }
  return cur;
}

function addAt(doc: Json, path: string, value: Json, op = "add"): void {
  const { parent, key } = locate(doc, path, op);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, path), 0, value);
  else parent[key] = value;
}

function removeAt(doc: Json, path: string, op = "remove"): Json {
  const { parent, key } = locate(doc, path, op);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false, path), 1)[0];
  if (!(key in parent)) throw new PatchError(`${op} operation does not apply: doc is missing key: ${JSON.stringify(path)}: missing value`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Applies RFC 6902 operations to one document (returns a new document). */
export function applyJsonPatch(doc: ConfigDocument, ops: JsonPatchOperation[]): ConfigDocument {
  const out = cloneData(doc) as Json;
  for (const o of ops) {
    if (!isObj(o) || typeof o.path !== "string") throw new PatchError("invalid JSON patch operation: path is required");
    switch (o.op) {
      case "add":
        if (!("value" in o)) throw new PatchError(`add operation on ${o.path}: value is required`);
        if (o.path === "") throw new PatchError("add operation does not apply: the document root cannot be replaced");
        addAt(out, o.path, cloneData(o.value));
        break;
      case "remove":
        removeAt(out, o.path);
        break;
      case "replace": {
        if (!("value" in o)) throw new PatchError(`replace operation on ${o.path}: value is required`);
        const { parent, key } = locate(out, o.path, "replace");
        if (Array.isArray(parent)) parent[arrayIndex(parent, key, false, o.path)] = cloneData(o.value);
        else if (key in parent) parent[key] = cloneData(o.value);
        else throw new PatchError(`replace operation does not apply: doc is missing key: ${o.path}: missing value`);
        break;
      }
      case "move": {
        if (typeof o.from !== "string") throw new PatchError(`move operation on ${o.path}: from is required`);
        const v = removeAt(out, o.from, "move");
        addAt(out, o.path, v, "move");
        break;
      }
      case "copy": {
        if (typeof o.from !== "string") throw new PatchError(`copy operation on ${o.path}: from is required`);
        addAt(out, o.path, cloneData(getAt(out, o.from, "copy")), "copy");
        break;
      }
      case "test":
        if (!deepEqual(getAt(out, o.path, "test"), o.value)) throw new PatchError(`testing value ${o.path} failed: test failed`);
        break;
      default:
        throw new PatchError(`unexpected JSON patch operation ${JSON.stringify(o.op)}`);
    }
  }
  if (!isObj(out)) throw new PatchError("JSON patch result is not a mapping");
  return out;
}

/** CABPT `configPatches`: refused on multi-document configs, exactly where Talos refuses. */
export function applyConfigPatches(docs: ConfigDocument[], ops: JsonPatchOperation[]): ConfigDocument[] {
  if (!ops.length) return docs;
  if (docs.length !== 1) throw new PatchError(MULTIDOC_JSON_PATCH_ERROR);
  try {
    return [applyJsonPatch(docs[0]!, ops)];
  } catch (e) {
    throw new PatchError(`failure applying rfc6902 patches to talos machine config: ${e instanceof Error ? e.message : String(e)}`);
  }
}

// ---- strategic merge ----

const isV1Alpha1Main = (d: Obj) => d.kind === undefined;

/** Paths (within a document type) whose lists or objects replace instead of merging. */
const REPLACE_PATHS = new Set([
  "v1alpha1:cluster.network.podSubnets",
  "v1alpha1:cluster.network.serviceSubnets",
  "v1alpha1:cluster.apiServer.auditPolicy",
  "KubeNetworkConfig:podSubnets",
  "KubeNetworkConfig:serviceSubnets",
  "KubeAuditPolicyConfig:configuration",
  "KubeAuthenticationConfig:configuration",
  "KubeCredentialProviderConfig:configuration",
  "KubeStaticPodConfig:pod",
  "CRIBaseRuntimeSpecConfig:overrides",
  "NetworkRuleConfig:ingress",
  "NetworkRuleConfig:portSelector.ports",
]);

/** Lists merged element-wise by an identity function. */
const KEYED_LISTS: Record<string, (item: Obj) => unknown> = {
  "v1alpha1:cluster.apiServer.admissionControl": (i) => i.name,
  // Neither name nor selector: matches nothing (a fresh symbol), so the entry is appended.
  "v1alpha1:machine.network.interfaces": (i) =>
    i.interface ? `if:${String(i.interface)}` : isObj(i.deviceSelector) ? `sel:${JSON.stringify(i.deviceSelector)}` : Symbol("unnamed"),
  "v1alpha1:machine.network.interfaces.vlans": (i) => i.vlanId,
  "ExtensionServiceConfig:configFiles": (i) => i.mountPath,
};

const isDeleteMarker = (v: unknown) => isObj(v) && v.$patch === "delete";

function stripMarkers(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripMarkers);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === "$patch" || isDeleteMarker(x)) continue;
    out[k] = stripMarkers(x);
  }
  return out;
}

function isEmptyScalar(v: unknown): boolean {
  return v === null || v === undefined || v === "" || v === 0;
}

/** Merge context: the document's scope for path rules and its label for error messages. */
interface Ctx {
  scope: string;
  doc: string;
}

function lookupFailed(ctx: Ctx, path: string): PatchError {
  return new PatchError(`patch delete: path '${path}' in document '${ctx.doc}': failed to delete path '${path}': lookup failed`);
}

/**
 * `$patch: delete` on list items: an item `{field: value, $patch: delete}` removes the elements
 * whose `field` equals `value`. Returns the list without them and the remaining patch items.
 */
function deleteListItems(base: Json[], patch: Json[], ctx: Ctx, path: string): { base: Json[]; rest: Json[] } {
  let out = [...base];
  const rest: Json[] = [];
  for (const item of patch) {
    if (!isDeleteMarker(item)) {
      rest.push(item);
      continue;
    }
    const fields = Object.entries(item as Obj).filter(([k]) => k !== "$patch");
    const before = out.length;
    out = out.filter((x) => !(isObj(x) && fields.every(([k, v]) => deepEqual(x[k], v))));
    if (out.length === before) throw lookupFailed(ctx, path);
  }
  return { base: out, rest };
}

function mergeObject(left: Obj, right: Obj, ctx: Ctx, path: string): void {
  const scope = ctx.scope;
  for (const [k, rv] of Object.entries(right)) {
    if (k === "$patch") continue;
    const p = path ? `${path}.${k}` : k;
    const id = `${scope}:${p}`;
    if (isDeleteMarker(rv)) {
      if (!(k in left)) throw lookupFailed(ctx, p);
      delete left[k];
      continue;
    }
    const lv = left[k];
    if (k === "extraArgs" && isObj(rv) && isObj(lv)) {
      // Talos' Args merge: each given argument replaces the old value (string or list) as a whole.
      for (const [ak, av] of Object.entries(rv)) {
        if (ak === "$patch") continue;
        if (isDeleteMarker(av)) {
          if (!(ak in lv)) throw lookupFailed(ctx, `${p}.${ak}`);
          delete lv[ak];
        } else lv[ak] = stripMarkers(cloneData(av));
      }
      continue;
    }
    if (REPLACE_PATHS.has(id)) {
      if (rv !== null && rv !== undefined) left[k] = stripMarkers(cloneData(rv));
      continue;
    }
    if (isObj(rv)) {
      if (isObj(lv)) mergeObject(lv, rv, ctx, p);
      else left[k] = stripMarkers(cloneData(rv));
    } else if (Array.isArray(rv)) {
      const keyOf = KEYED_LISTS[id];
      const { base, rest } = deleteListItems(Array.isArray(lv) ? lv : [], rv, ctx, p);
      if (keyOf) left[k] = mergeKeyed(base, rest, keyOf, ctx, p);
      else left[k] = [...base, ...(stripMarkers(cloneData(rest)) as Json[])];
    } else if (!isEmptyScalar(rv)) {
      left[k] = rv;
    }
  }
}

function mergeKeyed(left: Json[], right: Json[], keyOf: (i: Obj) => unknown, ctx: Ctx, path: string): Json[] {
  const out = [...left];
  for (const item of right) {
    if (!isObj(item)) {
      out.push(cloneData(item));
      continue;
    }
    const key = keyOf(item);
    const at = out.findIndex((x) => isObj(x) && deepEqual(keyOf(x), key));
    if (at < 0) {
      out.push(stripMarkers(cloneData(item)));
    } else {
      const merged = cloneData(out[at]) as Obj;
      mergeObject(merged, item, ctx, path);
      out[at] = merged;
    }
  }
  return out;
}

function sameDocument(a: Obj, b: Obj): boolean {
  if (isV1Alpha1Main(a) || isV1Alpha1Main(b)) return isV1Alpha1Main(a) && isV1Alpha1Main(b);
  return a.apiVersion === b.apiVersion && a.kind === b.kind && (a.name ?? null) === (b.name ?? null);
}

function v1alpha1Hostname(docs: ConfigDocument[]): string | undefined {
  const main = docs.find(isV1Alpha1Main);
  const machine = main && isObj(main.machine) ? main.machine : undefined;
  const network = machine && isObj(machine.network) ? machine.network : undefined;
  return typeof network?.hostname === "string" && network.hostname ? network.hostname : undefined;
}

/** Applies one strategic merge patch (already parsed into documents). Returns new documents. */
export function applyStrategicPatch(docs: ConfigDocument[], patch: ConfigDocument[]): ConfigDocument[] {
  let out = cloneData(docs);
  for (const p of patch) {
    const at = out.findIndex((d) => sameDocument(d, p));
    if (p.$patch === "delete") {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    if (at < 0) {
      const fresh = stripMarkers(cloneData(p)) as ConfigDocument;
      if (isV1Alpha1Main(fresh)) out.unshift({ version: "v1alpha1", ...fresh });
      else out.push(fresh);
      continue;
    }
    const target = out[at]!;
    const ctx: Ctx = isV1Alpha1Main(target)
      ? { scope: "v1alpha1", doc: "/v1alpha1" }
      : { scope: String(target.kind), doc: `${String(target.apiVersion)}/${String(target.kind)}` };
    mergeObject(target, p, ctx, "");
    if (target.kind === "HostnameConfig" && target.apiVersion === "v1alpha1" && typeof p.hostname === "string" && p.hostname && p.auto === undefined) {
      target.auto = "off";
    }
  }
  if (v1alpha1Hostname(out) !== undefined) {
    out = out.filter((d) => !(d.kind === "HostnameConfig" && d.apiVersion === "v1alpha1" && d.auto === "stable" && !d.hostname));
  }
  return out;
}

/** Parses strategic patch texts (YAML, possibly multi-document) and applies them in order. */
export function applyStrategicPatches(docs: ConfigDocument[], patches: string[]): ConfigDocument[] {
  let out = docs;
  patches.forEach((text, i) => {
    let parsed: ConfigDocument[];
    try {
      parsed = decodeDocuments(text, `strategic patch ${i + 1}`);
    } catch (e) {
      throw new PatchError(e instanceof Error ? e.message : String(e));
    }
    out = applyStrategicPatch(out, parsed);
  });
  return out;
}
