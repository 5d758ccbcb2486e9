/**
 * Field sets: the ownership unit of server-side apply, with the FieldsV1 wire format
 * (`{"f:spec":{"f:replicas":{}}}`) and the path rendering used in conflict messages
 * (`.spec.replicas`, `.spec.conditions[type="Ready"].status`), following
 * sigs.k8s.io/structured-merge-diff/v4 (fieldpath package).
 *
 * A set is a tree. At each node, `members` are the path elements that are themselves in the set
 * and `children` hold the nested sets of path elements that have members below them (a path
 * element can be both: FieldsV1 writes that as a child with a `".": {}` marker).
 *
 * Path elements are kept in their FieldsV1 serialisation, which is canonical:
 * - `f:<name>` a field of a map/struct;
 * - `k:{"name":"a","port":80}` an item of a list-map, keys sorted by name;
 * - `v:"x"` an item of a set (the JSON of the value);
 * - `i:3` an index into an atomic list (never produced here, accepted when read).
 *
 * Sets are immutable once built; operations return new sets and may share subtrees.
 * @module
 */
import { type Atom, type ListAtom, type MapAtom, rootAtom } from "./atoms.ts";
import { goJson, goJsonString, goNumber, goQuote, isObject } from "../../lib/go-format.ts";
import type { JSONSchemaProps } from "../schema/types.ts";
import { hasOwn } from "../schema/own.ts";

// --- path elements ---------------------------------------------------------------------------

export type PathElement = string;

export const fieldPE = (name: string): PathElement => `f:${name}`;
export const valuePE = (v: unknown): PathElement => `v:${goJson(v)}`;
export const indexPE = (i: number): PathElement => `i:${i}`;
/** `fields` must be sorted by name. */
export function keyPE(fields: ReadonlyArray<readonly [string, unknown]>): PathElement {
  let s = "k:{";
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) s += ",";
    s += `${goJsonString(fields[i][0])}:${goJson(fields[i][1])}`;
  }
  return `${s}}`;
}

interface ParsedPE {
  type: 0 | 1 | 2 | 3; // f, k, v, i (the sort order of element kinds)
  name?: string;
  fields?: Array<[string, unknown]>;
  value?: unknown;
  index?: number;
}

const parsedCache = new Map<string, ParsedPE>();

export class PathElementError extends Error {}

/** Parses a serialised path element; `null` for an unknown element type (skipped when read). */
function parsePE(s: string): ParsedPE | null {
  const hit = parsedCache.get(s);
  if (hit) return hit;
  if (s.length < 2) throw new PathElementError("key must be 2 characters long:");
  if (s[1] !== ":") throw new PathElementError(`missing colon: ${s}`);
  const body = s.slice(2);
  let p: ParsedPE;
  switch (s[0]) {
    case "f":
      p = { type: 0, name: body };
      break;
    case "k": {
      let obj: unknown;
      try {
        obj = JSON.parse(body);
      } catch (e) {
        throw new PathElementError(`parsing key as path element: ${(e as Error).message}`);
      }
      if (!isObject(obj)) throw new PathElementError(`parsing key as path element: expected an object: ${body}`);
      const fields = Object.entries(obj).sort((a, b) => cmpStr(a[0], b[0]));
      p = { type: 1, fields };
      break;
    }
    case "v": {
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch (e) {
        throw new PathElementError(`parsing key as path element: ${(e as Error).message}`);
      }
      p = { type: 2, value };
      break;
    }
    case "i": {
      if (!/^[+-]?\d+$/.test(body)) throw new PathElementError(`strconv.Atoi: parsing ${goQuote(body)}: invalid syntax`);
      p = { type: 3, index: Number.parseInt(body, 10) };
      break;
    }
    default:
      return null;
  }
  if (parsedCache.size > 50_000) parsedCache.clear();
  parsedCache.set(s, p);
  return p;
}

function mustParse(s: string): ParsedPE {
  const p = parsePE(s);
  if (!p) throw new PathElementError(`unknown path element type: ${s}`);
  return p;
}

/** The canonical serialisation of a path element read from FieldsV1 (null: unknown type). */
function canonicalPE(s: string): PathElement | null {
  const p = parsePE(s);
  if (!p) return null;
  switch (p.type) {
    case 0:
      return s;
    case 1:
      return keyPE(p.fields!);
    case 2:
      return valuePE(p.value);
    default:
      return indexPE(p.index!);
  }
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function valueRank(v: unknown): number {
  if (typeof v === "number") return 0;
  if (typeof v === "string") return 1;
  if (typeof v === "boolean") return 2;
  if (Array.isArray(v)) return 3;
  if (isObject(v)) return 4;
  return 5; // null
}

/** The total order of structured-merge-diff values: numbers, strings, bools, lists, maps, null. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 1:
      return cmpStr(a as string, b as string);
    case 2:
      return a === b ? 0 : a === false ? -1 : 1;
    case 3: {
      const la = a as unknown[];
      const lb = b as unknown[];
      for (let i = 0; i < Math.min(la.length, lb.length); i++) {
        const c = compareValues(la[i], lb[i]);
        if (c !== 0) return c;
      }
      return la.length - lb.length < 0 ? -1 : la.length > lb.length ? 1 : 0;
    }
    case 4: {
      const ka = Object.keys(a as object).sort();
      const kb = Object.keys(b as object).sort();
      for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
        const c = cmpStr(ka[i], kb[i]);
        if (c !== 0) return c;
        const d = compareValues((a as Record<string, unknown>)[ka[i]], (b as Record<string, unknown>)[kb[i]]);
        if (d !== 0) return d;
      }
      return ka.length < kb.length ? -1 : ka.length > kb.length ? 1 : 0;
    }
    default:
      return 0;
  }
}

/** The order of path elements (fields, then keys, then values, then indices). */
export function comparePE(a: PathElement, b: PathElement): number {
  if (a === b) return 0;
  const pa = mustParse(a);
  const pb = mustParse(b);
  if (pa.type !== pb.type) return pa.type < pb.type ? -1 : 1;
  switch (pa.type) {
    case 0:
      return cmpStr(pa.name!, pb.name!);
    case 1: {
      const fa = pa.fields!;
      const fb = pb.fields!;
      for (let i = 0; ; i++) {
        if (i >= fa.length && i >= fb.length) return 0;
        if (i >= fa.length) return -1;
        if (i >= fb.length) return 1;
        const c = cmpStr(fa[i][0], fb[i][0]);
        if (c !== 0) return c;
        const d = compareValues(fa[i][1], fb[i][1]);
        if (d !== 0) return d;
      }
    }
    case 2:
      return compareValues(pa.value, pb.value);
    default:
      return pa.index! < pb.index! ? -1 : pa.index! > pb.index! ? 1 : 0;
  }
}

/** value.ToString of structured-merge-diff, used inside rendered paths. */
function valueToString(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return goQuote(v);
  if (typeof v === "number") return goNumber(v);
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(valueToString).join(",")}]`;
  return Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${k}=${valueToString(x)}`)
    .join("");
}

/** A path element as printed in conflict messages: `.name`, `[key="v"]`, `[="v"]`, `[3]`. */
export function renderPE(pe: PathElement): string {
  const p = mustParse(pe);
  switch (p.type) {
    case 0:
      return `.${p.name}`;
    case 1:
      return `[${p.fields!.map(([k, v]) => `${k}=${valueToString(v)}`).join(",")}]`;
    case 2:
      return `[=${valueToString(p.value)}]`;
    default:
      return `[${p.index}]`;
  }
}

export function renderPath(path: readonly PathElement[]): string {
  return path.map(renderPE).join("");
}

/** Parses a rendered-free path given as field names (`["spec","replicas"]` → f:spec, f:replicas). */
export function fieldPath(...names: string[]): PathElement[] {
  return names.map(fieldPE);
}

// --- sets ------------------------------------------------------------------------------------

function sortedPEs(it: Iterable<PathElement>): PathElement[] {
  return [...it].sort(comparePE);
}

export class FieldSet {
  /** Path elements that are members of the set at this level. */
  readonly members: Set<PathElement>;
  /** Nested sets of path elements with members below them. */
  readonly children: Map<PathElement, FieldSet>;

  constructor(members?: Set<PathElement>, children?: Map<PathElement, FieldSet>) {
    this.members = members ?? new Set();
    this.children = children ?? new Map();
  }

  static empty(): FieldSet {
    return new FieldSet();
  }

  /** A set holding the given paths (each a list of serialised path elements). */
  static fromPaths(paths: ReadonlyArray<readonly PathElement[]>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insertMut(p);
    return s;
  }

  /**
   * The fields an object sets, as structured-merge-diff's ToFieldSet computes them against the
   * kind's schema: every scalar; every item of a set or list-map (the item itself and, for
   * list-map items, its fields); atomic lists and maps as one leaf; map entries that are not
   * declared fields (labels, data, preserve-unknown parts); empty maps and nulls.
   */
  static fromObject(obj: unknown, schema: JSONSchemaProps): FieldSet {
    return toFieldSet(obj, rootAtom(schema));
  }

  /** Decodes FieldsV1. Throws PathElementError on malformed content. */
  static fromFieldsV1(fields: unknown): FieldSet {
    if (fields === null || fields === undefined) return new FieldSet();
    if (!isObject(fields)) throw new PathElementError("ReadMapCB: expect { or n");
    const [set] = readV1(fields);
    return set ?? new FieldSet();
  }

  /** Mutating insert, for builders only (sets handed out must not change). */
  insertMut(path: readonly PathElement[]): void {
    if (path.length === 0) return;
    let s: FieldSet = this;
    for (let i = 0; i < path.length - 1; i++) {
      let c = s.children.get(path[i]);
      if (!c) {
        c = new FieldSet();
        s.children.set(path[i], c);
      }
      s = c;
    }
    s.members.add(path[path.length - 1]);
  }

  /** A new set with `path` added. */
  withPath(path: readonly PathElement[]): FieldSet {
    return this.union(FieldSet.fromPaths([path]));
  }

  isEmpty(): boolean {
    if (this.members.size > 0) return false;
    for (const c of this.children.values()) if (!c.isEmpty()) return false;
    return true;
  }

  /** Number of member paths. */
  size(): number {
    let n = this.members.size;
    for (const c of this.children.values()) n += c.size();
    return n;
  }

  has(path: readonly PathElement[]): boolean {
    if (path.length === 0) return false;
    let s: FieldSet | undefined = this;
    for (let i = 0; i < path.length - 1; i++) {
      s = s.children.get(path[i]);
      if (!s) return false;
    }
    return s.members.has(path[path.length - 1]);
  }

  /** The subset below `pe` (paths without the prefix). */
  withPrefix(pe: PathElement): FieldSet {
    return this.children.get(pe) ?? EMPTY;
  }

  union(o: FieldSet): FieldSet {
    if (o.isEmptyShallow()) return this;
    if (this.isEmptyShallow()) return o;
    const members = new Set(this.members);
    for (const m of o.members) members.add(m);
    const children = new Map(this.children);
    for (const [pe, c] of o.children) {
      const mine = children.get(pe);
      children.set(pe, mine ? mine.union(c) : c);
    }
    return new FieldSet(members, children);
  }

  intersection(o: FieldSet): FieldSet {
    const members = new Set<PathElement>();
    for (const m of this.members) if (o.members.has(m)) members.add(m);
    const children = new Map<PathElement, FieldSet>();
    for (const [pe, c] of this.children) {
      const other = o.children.get(pe);
      if (!other) continue;
      const r = c.intersection(other);
      if (!r.isEmpty()) children.set(pe, r);
    }
    return new FieldSet(members, children);
  }

  /**
   * Members of this set not in `o`. As upstream, only `o`'s members at the same level and its
   * nested sets count: `a.b − {a}` keeps `a.b`; use recursiveDifference to drop subtrees.
   */
  difference(o: FieldSet): FieldSet {
    if (o.isEmptyShallow()) return this;
    const members = new Set<PathElement>();
    for (const m of this.members) if (!o.members.has(m)) members.add(m);
    const children = new Map<PathElement, FieldSet>();
    for (const [pe, c] of this.children) {
      const other = o.children.get(pe);
      if (!other) {
        children.set(pe, c);
        continue;
      }
      const d = c.difference(other);
      if (!d.isEmpty()) children.set(pe, d);
    }
    return new FieldSet(members, children);
  }

  /** Like difference, but a member of `o` also removes everything below it. */
  recursiveDifference(o: FieldSet): FieldSet {
    const members = new Set<PathElement>();
    for (const m of this.members) if (!o.members.has(m)) members.add(m);
    const children = new Map<PathElement, FieldSet>();
    for (const [pe, c] of this.children) {
      if (o.members.has(pe)) continue;
      const other = o.children.get(pe);
      if (!other) {
        children.set(pe, c);
        continue;
      }
      const d = c.recursiveDifference(other);
      if (!d.isEmpty()) children.set(pe, d);
    }
    return new FieldSet(members, children);
  }

  /** Only the members that have no members below them. */
  leaves(): FieldSet {
    const members = new Set<PathElement>();
    for (const m of this.members) {
      const c = this.children.get(m);
      if (!c || c.isEmpty()) members.add(m);
    }
    const children = new Map<PathElement, FieldSet>();
    for (const [pe, c] of this.children) children.set(pe, c.leaves());
    return new FieldSet(members, children);
  }

  equals(o: FieldSet): boolean {
    const a = this.prune();
    const b = o.prune();
    if (a.members.size !== b.members.size || a.children.size !== b.children.size) return false;
    for (const m of a.members) if (!b.members.has(m)) return false;
    for (const [pe, c] of a.children) {
      const d = b.children.get(pe);
      if (!d || !c.equals(d)) return false;
    }
    return true;
  }

  /** Every member path, in upstream iteration order (members of a node, then its children). */
  pathList(): PathElement[][] {
    const out: PathElement[][] = [];
    const walk = (s: FieldSet, prefix: PathElement[]) => {
      for (const m of sortedPEs(s.members)) out.push([...prefix, m]);
      for (const pe of sortedPEs(s.children.keys())) walk(s.children.get(pe)!, [...prefix, pe]);
    };
    walk(this, []);
    return out;
  }

  /** Member paths rendered as in conflict messages (`.spec.replicas`). */
  paths(): string[] {
    return this.pathList().map(renderPath);
  }

  /** The FieldsV1 JSON object (keys in upstream order, `"."` marking a member that has children). */
  toFieldsV1(): Record<string, unknown> {
    return emitV1(this, false);
  }

  private isEmptyShallow(): boolean {
    return this.members.size === 0 && this.children.size === 0;
  }

  private prune(): FieldSet {
    const children = new Map<PathElement, FieldSet>();
    for (const [pe, c] of this.children) if (!c.isEmpty()) children.set(pe, c);
    return children.size === this.children.size ? this : new FieldSet(this.members, children);
  }
}

const EMPTY = new FieldSet();

function emitV1(s: FieldSet, includeSelf: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (includeSelf && (s.members.size > 0 || s.children.size > 0)) out["."] = {};
  const keys = new Set<PathElement>(s.members);
  for (const k of s.children.keys()) keys.add(k);
  for (const pe of sortedPEs(keys)) {
    const child = s.children.get(pe);
    if (child === undefined) out[pe] = {};
    else out[pe] = emitV1(child, s.members.has(pe));
  }
  return out;
}

/** readIterV1: returns [children or undefined, isMember]. */
function readV1(obj: Record<string, unknown>): [FieldSet | undefined, boolean] {
  let children: FieldSet | undefined;
  let isMember = false;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (key === ".") {
      isMember = true;
      continue;
    }
    const pe = canonicalPE(key);
    if (pe === null) continue; // unknown element type: skipped, as upstream
    let grand: FieldSet | undefined;
    let childIsMember: boolean;
    if (v === null || v === undefined) {
      childIsMember = true;
    } else if (isObject(v)) {
      [grand, childIsMember] = readV1(v);
    } else {
      throw new PathElementError("ReadMapCB: expect { or n");
    }
    if (childIsMember) {
      children ??= new FieldSet();
      children.members.add(pe);
    }
    if (grand) {
      children ??= new FieldSet();
      const existing = children.children.get(pe);
      children.children.set(pe, existing ? existing.union(grand) : grand);
    }
  }
  if (!children) isMember = true;
  return [children, isMember];
}

// --- values against atoms --------------------------------------------------------------------

export type Kind = "scalar" | "list" | "map";

/** deduceAtom + handleAtom: how a value is treated under an atom (null: no usable type). */
export function pickKind(atom: Atom, v: unknown): Kind | null {
  if (v !== null && v !== undefined) {
    if (Array.isArray(v)) {
      if (atom.list) return "list";
    } else if (typeof v === "object") {
      if (atom.map) return "map";
    } else if (atom.scalar) return "scalar";
  }
  if (atom.map) return "map";
  if (atom.scalar) return "scalar";
  if (atom.list) return "list";
  return null;
}

/** The atom of a map entry: the declared field's, else the element type's (undefined: not allowed). */
export function mapEntryAtom(m: MapAtom, key: string): Atom | undefined {
  return m.field(key) ?? m.elem();
}

export interface ItemKey {
  pe?: PathElement;
  error?: string;
}

/** listItemToPathElement: the path element of an item of an associative list. */
export function listItemPE(list: ListAtom, item: unknown): ItemKey {
  if (list.keys.length > 0) {
    if (item === null || item === undefined) return { error: "associative list with keys may not have a null element" };
    if (!isObject(item)) return { error: "associative list with keys may not have non-map elements" };
    const elemMap = list.elem().map;
    const fields: Array<[string, unknown]> = [];
    for (const k of list.keys) {
      if (hasOwn(item, k)) fields.push([k, item[k]]);
      else {
        const def = elemMap?.fieldDefault(k);
        if (def !== undefined && def !== null) fields.push([k, def]);
        else return { error: `associative list with keys has an element that omits key field ${goQuote(k)} (and doesn't have default value)` };
      }
    }
    if (fields.length > 1) fields.sort((a, b) => cmpStr(a[0], b[0]));
    return { pe: keyPE(fields) };
  }
  if (Array.isArray(item)) return { error: "not supported: associative list with lists as elements" };
  if (isObject(item)) return { error: "associative list without keys has an element that's a map type" };
  if (item === null || item === undefined) return { error: "associative list without keys has an element that's an explicit null" };
  return { pe: valuePE(item) };
}

function childOf(parent: FieldSet, pe: PathElement): FieldSet {
  let c = parent.children.get(pe);
  if (!c) {
    c = new FieldSet();
    parent.children.set(pe, c);
  }
  return c;
}


/**
 * ToFieldSet of a whole object under the root atom. With `ensureNamed`, declared fields that have
 * members below them are members too (ToFieldSet followed by EnsureNamedFieldsAreMembers).
 */
export function toFieldSet(obj: unknown, root: Atom, ensureNamed = false): FieldSet {
  const out = new FieldSet();
  if (isObject(obj) && root.map && !root.map.atomic) tfsMap(obj, root.map, out, ensureNamed);
  return out;
}

/** ToFieldSet of a value at `parent`+`pe`. */
function tfsValue(v: unknown, atom: Atom, parent: FieldSet, pe: PathElement, enf: boolean, declared: boolean): void {
  switch (pickKind(atom, v)) {
    case "scalar":
      parent.members.add(pe);
      return;
    case "list": {
      const l = atom.list!;
      if (l.atomic) {
        parent.members.add(pe);
        return;
      }
      if (!Array.isArray(v)) return;
      tfsList(v, l, childOf(parent, pe), enf);
      settle(parent, pe, enf && declared);
      return;
    }
    case "map": {
      const m = atom.map!;
      if (m.atomic) {
        parent.members.add(pe);
        return;
      }
      if (!isObject(v)) return;
      tfsMap(v, m, childOf(parent, pe), enf);
      settle(parent, pe, enf && declared);
      return;
    }
    default:
      return;
  }
}

/** Drops an empty child node; with `named`, a non-empty one makes its element a member. */
function settle(parent: FieldSet, pe: PathElement, named: boolean): void {
  const c = parent.children.get(pe);
  if (!c) return;
  if (c.members.size === 0 && c.children.size === 0) parent.children.delete(pe);
  else if (named) parent.members.add(pe);
}

function tfsMap(obj: Record<string, unknown>, m: MapAtom, node: FieldSet, enf: boolean): void {
  for (const key of Object.keys(obj)) {
    const val = obj[key];
    if (val === undefined) continue;
    const pe = fieldPE(key);
    const declared = m.field(key);
    const atom = declared ?? m.elem();
    if (atom) tfsValue(val, atom, node, pe, enf, declared !== undefined);
    if (val === null || (isObject(val) && isEmptyObject(val))) node.members.add(pe);
    else if (!declared) node.members.add(pe);
  }
}

function isEmptyObject(o: Record<string, unknown>): boolean {
  for (const k of Object.keys(o)) if (o[k] !== undefined) return false;
  return true;
}

function tfsList(arr: unknown[], l: ListAtom, node: FieldSet, enf: boolean): void {
  const pes: Array<PathElement | undefined> = new Array(arr.length);
  const seen = new Set<PathElement>();
  const dups = new Set<PathElement>();
  for (let i = 0; i < arr.length; i++) {
    const pe = listItemPE(l, arr[i]).pe;
    pes[i] = pe;
    if (pe === undefined) continue;
    if (seen.has(pe)) {
      if (!dups.has(pe)) {
        node.members.add(pe);
        dups.add(pe);
      }
    } else seen.add(pe);
  }
  const elem = l.elem();
  for (let i = 0; i < arr.length; i++) {
    const pe = pes[i];
    if (pe === undefined || dups.has(pe)) continue;
    tfsValue(arr[i], elem, node, pe, enf, false);
    node.members.add(pe);
  }
}
