/**
 * Schema-aware walks over JSON values, following sigs.k8s.io/structured-merge-diff/v4 typed/:
 * validation (the typed conversion), comparison (added/modified/removed field sets), merge (the
 * server-side apply merge: maps merge, list-maps merge by key, sets union, atomic replace),
 * removal of a field set, and EnsureNamedFieldsAreMembers.
 *
 * Values: `undefined` means absent, `null` is an explicit null. Object keys are data, as in Go
 * maps: reads see own properties only and writes never reach a prototype (`__proto__` included).
 * @module
 */
import { type Atom, DEDUCED, EMPTY_ATOM } from "./atoms.ts";
import {
  FieldSet,
  type Kind,
  type PathElement,
  fieldPE,
  indexPE,
  listItemPE,
  pickKind,
  renderPE,
} from "./fieldpath.ts";
import { goTypeName, goV, isObject } from "../../lib/go-format.ts";
import { deepEqual } from "../../lib/kobject.ts";
import { getOwn, setOwn } from "../schema/own.ts";

// --- helpers ---------------------------------------------------------------------------------

type Deduced = Kind | "full" | null;

/** deduceAtom: the matching part of the atom for this value, or the whole atom ("full"). */
function deduce(atom: Atom, v: unknown): Deduced {
  if (v !== null && v !== undefined) {
    if (Array.isArray(v)) {
      if (atom.list) return "list";
    } else if (typeof v === "object") {
      if (atom.map) return "map";
    } else if (atom.scalar) return "scalar";
  }
  return atom.map || atom.scalar || atom.list ? "full" : null;
}

function handled(atom: Atom, d: Deduced): Kind | null {
  if (d === "full") return atom.map ? "map" : atom.scalar ? "scalar" : atom.list ? "list" : null;
  return d;
}

function entryAtom(atom: Atom, key: string, lenient: boolean): Atom | undefined {
  const m = atom.map!;
  return m.field(key) ?? m.elem() ?? (lenient ? DEDUCED : undefined);
}

function asList(v: unknown): unknown[] | null {
  return Array.isArray(v) ? v : null;
}

function asMap(v: unknown): Record<string, unknown> | null {
  return isObject(v) ? v : null;
}

function keysOf(o: Record<string, unknown>): string[] {
  const ks = Object.keys(o);
  let clean = true;
  for (const k of ks) if (o[k] === undefined) clean = false;
  return clean ? ks : ks.filter((k) => o[k] !== undefined);
}

// --- validation ------------------------------------------------------------------------------

export interface ValidationError {
  path: string;
  message: string;
}

export function formatValidationErrors(errs: ValidationError[]): string {
  const one = (e: ValidationError) => (e.path ? `${e.path}: ${e.message}` : e.message);
  if (errs.length === 1) return one(errs[0]);
  return ["errors:", ...errs.map((e) => `  ${one(e)}`)].join("\n");
}

export interface ValidateOptions {
  allowDuplicates: boolean;
  /** Treat undeclared fields as untyped instead of reporting "field not declared in schema". */
  lenientUndeclared: boolean;
}

/** The typed conversion's validation (typed.FromUnstructured → Validate). */
export function validateValue(v: unknown, atom: Atom, opts: ValidateOptions): ValidationError[] {
  const errs: ValidationError[] = [];
  validateNode(v, atom, "", opts, errs);
  return errs;
}

function valueRepr(v: unknown): string {
  return `&{${goV(v)}}`;
}

function validateNode(v: unknown, atom: Atom, path: string, opts: ValidateOptions, errs: ValidationError[]): void {
  const kind = handled(atom, deduce(atom, v));
  if (kind === null) {
    errs.push({ path, message: "schema error: no type found matching: inlined type" });
    return;
  }
  if (kind === "scalar") {
    if (v === null || v === undefined) return;
    switch (atom.scalar) {
      case "numeric":
        if (typeof v !== "number") errs.push({ path, message: `expected numeric (int or float), got ${goTypeName(v)}` });
        return;
      case "string":
        if (typeof v !== "string") errs.push({ path, message: `expected string, got &value.valueUnstructured{Value:${goV(v)}}` });
        return;
      case "boolean":
        if (typeof v !== "boolean") errs.push({ path, message: `expected boolean, got ${valueRepr(v)}` });
        return;
      default:
        if (typeof v === "object") errs.push({ path, message: `expected any scalar, got ${valueRepr(v)}` });
        return;
    }
  }
  if (kind === "list") {
    if (v === null || v === undefined) return;
    if (!Array.isArray(v)) {
      errs.push({ path, message: `expected list, got ${valueRepr(v)}` });
      return;
    }
    const l = atom.list!;
    const elem = l.elem();
    const associative = !l.atomic;
    const seen = new Set<PathElement>();
    for (let i = 0; i < v.length; i++) {
      let pe: PathElement;
      if (!associative) pe = indexPE(i);
      else {
        const k = listItemPE(l, v[i]);
        if (k.error !== undefined) {
          errs.push({ path, message: `element ${i}: ${k.error}` });
          return;
        }
        pe = k.pe!;
        if (seen.has(pe) && !opts.allowDuplicates) errs.push({ path, message: `duplicate entries for key ${renderPE(pe)}` });
        seen.add(pe);
      }
      validateNode(v[i], elem, path + renderPE(pe), opts, errs);
    }
    return;
  }
  // map
  if (v === null || v === undefined) return;
  if (!isObject(v)) {
    errs.push({ path, message: `expected map, got ${valueRepr(v)}` });
    return;
  }
  for (const key of keysOf(v)) {
    const a = entryAtom(atom, key, opts.lenientUndeclared);
    if (!a) {
      errs.push({ path: `${path}.${key}`, message: "field not declared in schema" });
      return;
    }
    validateNode(v[key], a, `${path}.${key}`, opts, errs);
  }
}

// --- comparison ------------------------------------------------------------------------------

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** TypedValue.Compare: fields added, modified and removed going from `lhs` to `rhs`. */
export function compareValues(lhs: unknown, rhs: unknown, root: Atom): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  const path: PathElement[] = [];
  const l = lhs === null ? undefined : lhs;
  const r = rhs === null ? undefined : rhs;
  if (l !== undefined || r !== undefined) cmpNode(l, r, root, path, c);
  return c;
}

function cmpNode(l: unknown, r: unknown, atom: Atom, path: PathElement[], c: Comparison): void {
  const dl = l === undefined ? null : deduce(atom, l);
  const dr = r === undefined ? null : deduce(atom, r);
  let inLeaf: boolean;
  if (r === undefined) inLeaf = cmpHandle(handled(atom, dl ?? "full"), l, r, atom, path, c);
  else if (l === undefined || dl === dr) inLeaf = cmpHandle(handled(atom, dr ?? "full"), l, r, atom, path, c);
  else {
    cmpHandle(handled(atom, dl ?? "full"), l, r, atom, path, c);
    inLeaf = cmpHandle(handled(atom, dr ?? "full"), l, r, atom, path, c);
  }
  if (!inLeaf && path.length > 0) {
    if (l === undefined) c.added.insertMut(path);
    else if (r === undefined) c.removed.insertMut(path);
  }
}

function cmpLeaf(l: unknown, r: unknown, path: PathElement[], c: Comparison): true {
  if (path.length === 0) return true;
  if (l === undefined) c.added.insertMut(path);
  else if (r === undefined) c.removed.insertMut(path);
  else if (!deepEqual(l, r)) c.modified.insertMut(path);
  return true;
}

function cmpHandle(kind: Kind | null, l: unknown, r: unknown, atom: Atom, path: PathElement[], c: Comparison): boolean {
  switch (kind) {
    case "scalar":
      return cmpLeaf(l, r, path, c);
    case "list": {
      const la = asList(l);
      const ra = asList(r);
      const emptyPromote = (!la || la.length === 0) && (!ra || ra.length === 0);
      if (atom.list!.atomic || emptyPromote) return cmpLeaf(l, r, path, c);
      cmpListItems(atom, la, ra, path, c);
      return false;
    }
    case "map": {
      const lm = asMap(l);
      const rm = asMap(r);
      const emptyPromote = (!lm || keysOf(lm).length === 0) && (!rm || keysOf(rm).length === 0);
      if (atom.map!.atomic || emptyPromote) return cmpLeaf(l, r, path, c);
      const seen = new Set<string>();
      if (lm)
        for (const k of keysOf(lm)) {
          seen.add(k);
          path.push(fieldPE(k));
          cmpNode(lm[k], rm ? getOwn(rm, k) : undefined, entryAtom(atom, k, true)!, path, c);
          path.pop();
        }
      if (rm)
        for (const k of keysOf(rm)) {
          if (seen.has(k)) continue;
          path.push(fieldPE(k));
          cmpNode(undefined, rm[k], entryAtom(atom, k, true)!, path, c);
          path.pop();
        }
      return false;
    }
    default:
      return false;
  }
}

function cmpListItems(atom: Atom, la: unknown[] | null, ra: unknown[] | null, path: PathElement[], c: Comparison): void {
  const l = atom.list!;
  const elem = l.elem();
  const order: PathElement[] = [];
  const lValues = new Map<PathElement, unknown[]>();
  const rValues = new Map<PathElement, unknown[]>();
  for (const item of la ?? []) {
    const pe = listItemPE(l, item).pe;
    if (pe === undefined) continue;
    const got = lValues.get(pe);
    if (got) got.push(item);
    else {
      lValues.set(pe, [item]);
      order.push(pe);
    }
  }
  for (const item of ra ?? []) {
    const pe = listItemPE(l, item).pe;
    if (pe === undefined) continue;
    const got = rValues.get(pe);
    if (got) got.push(item);
    else {
      rValues.set(pe, [item]);
      if (!lValues.has(pe)) order.push(pe);
    }
  }
  for (const pe of order) {
    const lList = lValues.get(pe) ?? [];
    const rList = rValues.get(pe) ?? [];
    path.push(pe);
    if (lList.length <= 1 && rList.length <= 1) {
      cmpNode(lList[0], rList[0], elem, path, c);
    } else if (lList.length >= 2 && rList.length >= 2) {
      if (!deepEqual(lList, rList)) c.modified.insertMut(path);
    } else if (lList.length >= 2) {
      if (rList.length !== 0) cmpNode(undefined, rList[0], elem, path, c);
      c.removed.insertMut(path);
    } else {
      if (lList.length !== 0) cmpNode(lList[0], undefined, elem, path, c);
      c.added.insertMut(path);
    }
    path.pop();
  }
}

// --- merge (apply) ---------------------------------------------------------------------------

/** TypedValue.Merge with the keep-RHS rule: the server-side apply merge of `rhs` into `lhs`. */
export function mergeValues(lhs: unknown, rhs: unknown, root: Atom): unknown {
  return mergeNode(lhs, rhs, root);
}

function mergeNode(l: unknown, r: unknown, atom: Atom): unknown {
  const dl = l === undefined ? null : deduce(atom, l);
  const dr = r === undefined ? null : deduce(atom, r);
  if (r === undefined) return mergeHandle(handled(atom, dl ?? "full"), l, r, atom);
  if (l === undefined || dl === dr) return mergeHandle(handled(atom, dr ?? "full"), l, r, atom);
  return mergeHandle(handled(atom, dr ?? "full"), l, r, atom);
}

function keepRHS(l: unknown, r: unknown): unknown {
  return r !== undefined ? r : l;
}

function mergeHandle(kind: Kind | null, l: unknown, r: unknown, atom: Atom): unknown {
  switch (kind) {
    case "list": {
      const la = asList(l);
      const ra = asList(r);
      const emptyPromote = (!la || la.length === 0) && (!ra || ra.length === 0);
      if (atom.list!.atomic || emptyPromote) return keepRHS(l, r);
      return mergeListItems(atom, la, ra);
    }
    case "map": {
      const lm = asMap(l);
      const rm = asMap(r);
      const emptyPromote = (!lm || keysOf(lm).length === 0) && (!rm || keysOf(rm).length === 0);
      if (atom.map!.atomic || emptyPromote) return keepRHS(l, r);
      const out: Record<string, unknown> = {};
      if (lm)
        for (const k of keysOf(lm)) {
          const v = mergeNode(lm[k], rm ? getOwn(rm, k) : undefined, entryAtom(atom, k, true)!);
          if (v !== undefined) setOwn(out, k, v);
        }
      if (rm)
        for (const k of keysOf(rm)) {
          if (lm && getOwn(lm, k) !== undefined) continue;
          const v = mergeNode(undefined, rm[k], entryAtom(atom, k, true)!);
          if (v !== undefined) setOwn(out, k, v);
        }
      return Object.keys(out).length > 0 ? out : undefined;
    }
    default:
      return keepRHS(l, r);
  }
}

/** The list-merge order of structured-merge-diff: LHS order, RHS items placed as RHS orders them. */
function mergeListItems(atom: Atom, la: unknown[] | null, ra: unknown[] | null): unknown[] | undefined {
  const l = atom.list!;
  const elem = l.elem();
  const rhsPEs: PathElement[] = [];
  const observedRHS = new Map<PathElement, unknown>();
  for (const item of ra ?? []) {
    const pe = listItemPE(l, item).pe;
    if (pe === undefined || observedRHS.has(pe)) continue; // errors/duplicates were rejected earlier
    observedRHS.set(pe, item);
    rhsPEs.push(pe);
  }
  const lhsPEs: PathElement[] = [];
  const lhsItems: unknown[] = [];
  const observedLHS = new Map<PathElement, unknown>();
  for (const item of la ?? []) {
    const pe = listItemPE(l, item).pe;
    if (pe === undefined) continue;
    // Duplicated LHS items are not merged with the new value: they become null.
    if (observedLHS.has(pe)) observedLHS.set(pe, null);
    else observedLHS.set(pe, item);
    lhsPEs.push(pe);
    lhsItems.push(item);
  }
  const sharedOrder = rhsPEs.filter((pe) => observedLHS.has(pe));
  let sharedIdx = 0;
  let nextShared: PathElement | undefined = sharedOrder[sharedIdx++];
  const mergedRHS = new Set<PathElement>();
  const out: unknown[] = [];
  const push = (v: unknown) => {
    if (v !== undefined) out.push(v);
  };
  let lI = 0;
  let rI = 0;
  while (lI < lhsPEs.length || rI < rhsPEs.length) {
    if (lI < lhsPEs.length && rI < rhsPEs.length) {
      const pe = lhsPEs[lI];
      if (pe === rhsPEs[rI]) {
        mergedRHS.add(pe);
        push(mergeNode(observedLHS.get(pe), observedRHS.get(pe), elem));
        lI++;
        rI++;
        nextShared = sharedOrder[sharedIdx++];
        continue;
      }
      if (observedRHS.has(pe) && nextShared !== undefined && nextShared !== pe) {
        lI++;
        continue;
      }
    }
    if (lI < lhsPEs.length) {
      const pe = lhsPEs[lI];
      if (!observedRHS.has(pe)) {
        push(mergeNode(lhsItems[lI], undefined, elem));
        lI++;
        continue;
      } else if (mergedRHS.has(pe)) {
        lI++;
      }
    }
    if (rI < rhsPEs.length) {
      const pe = rhsPEs[rI];
      mergedRHS.add(pe);
      const lChild = observedLHS.has(pe) ? observedLHS.get(pe) : undefined;
      push(mergeNode(lChild, observedRHS.get(pe), elem));
      rI++;
      if (nextShared !== undefined && nextShared === pe) nextShared = sharedOrder[sharedIdx++];
    }
  }
  return out.length > 0 ? out : undefined;
}

// --- removal ---------------------------------------------------------------------------------

/**
 * removeItemsWithSchema: `v` without the members of `set` (a removed member takes its subtree).
 * A map or list left empty by removals becomes null, as upstream.
 */
export function removeItems(v: unknown, set: FieldSet, atom: Atom): unknown {
  switch (pickKind(atom, v)) {
    case "scalar":
      return v;
    case "list": {
      if (!Array.isArray(v) || v.length === 0) return null;
      const l = atom.list!;
      if (l.atomic) return null;
      const elem = l.elem();
      const out: unknown[] = [];
      for (const item of v) {
        const pe = listItemPE(l, item).pe;
        if (pe !== undefined) {
          if (set.members.has(pe)) continue;
          const sub = set.children.get(pe);
          if (sub && !sub.isEmpty()) {
            out.push(removeItems(item, sub, elem));
            continue;
          }
        }
        out.push(item);
      }
      return out.length > 0 ? out : null;
    }
    case "map": {
      if (!isObject(v)) return null;
      const keys = keysOf(v);
      if (keys.length === 0) return null;
      if (atom.map!.atomic) return null;
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const pe = fieldPE(k);
        if (set.members.has(pe)) continue;
        const sub = set.children.get(pe);
        setOwn(out, k, sub && !sub.isEmpty() ? removeItems(v[k], sub, entryAtom(atom, k, true)!) : v[k]);
      }
      return Object.keys(out).length > 0 ? out : null;
    }
    default:
      return null;
  }
}

// --- EnsureNamedFieldsAreMembers -------------------------------------------------------------

/** The set plus, as members, the declared (struct) fields that have members below them. */
export function ensureNamedFieldsAreMembers(s: FieldSet, atom: Atom): FieldSet {
  const members = new Set(s.members);
  const children = new Map<PathElement, FieldSet>();
  for (const [pe, child] of s.children) {
    let childAtom: Atom = EMPTY_ATOM;
    if (pe.startsWith("f:")) {
      if (atom.map) {
        const name = pe.slice(2);
        const declared = atom.map.field(name);
        if (declared) members.add(pe);
        childAtom = declared ?? atom.map.elem() ?? EMPTY_ATOM;
      }
    } else if (pe.startsWith("k:") && atom.list) {
      childAtom = atom.list.elem();
    }
    children.set(pe, ensureNamedFieldsAreMembers(child, childAtom));
  }
  return new FieldSet(members, children);
}
