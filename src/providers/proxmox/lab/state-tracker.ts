/**
 * Which entries of the lab state changed since the last write. The handlers mutate the state in
 * place (as PVE edits a config file), so the host works on a proxy of it: a write anywhere inside
 * `vms["104"]` marks that VM, a write to a section itself (a key added or removed) marks that key.
 * The state file then serialises only the marked entries and reuses the text of the others —
 * with 1,000 VMs, re-serialising all of them on every acknowledged change was a seventh of the
 * daemon's CPU time.
 * @module
 */
import type { LabState } from "./state.ts";

/** The record-valued members of the state, written entry by entry. */
export const SECTIONS = ["nodeBoot", "vms", "volumes", "tasks", "pools", "leases", "stats", "execs", "tokens", "tokenInfo"] as const;
export type Section = (typeof SECTIONS)[number];
const SECTION_SET = new Set<string>(SECTIONS);

const isObject = (v: unknown): v is object => typeof v === "object" && v !== null;

interface EntryViews {
  target: object;
  /** plain object below the entry → its view */
  views: WeakMap<object, object>;
  mark: () => void;
  /** The traps of every view below this entry: one set per entry, not per view. */
  handler?: ProxyHandler<object>;
}

export class StateTracker {
  /** section → keys changed (added, edited or removed) since `take`. */
  #dirty = new Map<Section, Set<string>>();
  /** Sections replaced as a whole (or never written): every entry is to be written. */
  #whole = new Set<Section>(SECTIONS);
  #sections = new WeakMap<object, object>();
  #entries = new Map<string, EntryViews>();
  /** view → the plain object it shows */
  #targets = new WeakMap<object, object>();
  /** Told of every entry marked (key undefined: the whole section): for caches derived from entries. */
  readonly #listeners = new Set<(section: Section, key: string | undefined) => void>();

  onMark(listener: (section: Section, key: string | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #wholeChanged(section: Section): void {
    this.#whole.add(section);
    for (const l of this.#listeners) l(section, undefined);
  }

  /** A view of `state` whose writes are tracked; `state` itself stays plain (it is what gets serialised). */
  track(state: LabState): LabState {
    const tracker = this;
    return new Proxy(state, {
      get(t, k) {
        const v = Reflect.get(t, k);
        return typeof k === "string" && SECTION_SET.has(k) && isObject(v) ? tracker.#section(k as Section, v) : v;
      },
      set(t, k, v) {
        if (typeof k === "string" && SECTION_SET.has(k)) tracker.#wholeChanged(k as Section);
        return Reflect.set(t, k, tracker.#unwrap(v));
      },
      deleteProperty(t, k) {
        if (typeof k === "string" && SECTION_SET.has(k)) tracker.#wholeChanged(k as Section);
        return Reflect.deleteProperty(t, k);
      },
    });
  }

  /** What changed since the last call, and forget it. */
  take(): { whole: Set<Section>; dirty: Map<Section, Set<string>> } {
    const out = { whole: this.#whole, dirty: this.#dirty };
    this.#whole = new Set();
    this.#dirty = new Map();
    return out;
  }

  #mark(section: Section, key: string): void {
    let keys = this.#dirty.get(section);
    if (!keys) this.#dirty.set(section, (keys = new Set()));
    keys.add(key);
    for (const l of this.#listeners) l(section, key);
  }

  #section(section: Section, record: object): object {
    const known = this.#sections.get(record);
    if (known) return known;
    const tracker = this;
    const proxy = new Proxy(record, {
      get(t, k) {
        const v = Reflect.get(t, k);
        return typeof k === "string" && isObject(v) ? tracker.#entry(section, k, v) : v;
      },
      set(t, k, v) {
        if (typeof k === "string") tracker.#mark(section, k);
        return Reflect.set(t, k, tracker.#unwrap(v));
      },
      deleteProperty(t, k) {
        if (typeof k === "string") {
          tracker.#mark(section, k);
          tracker.#entries.delete(`${section}\0${k}`);
        }
        return Reflect.deleteProperty(t, k);
      },
      defineProperty(t, k, d) {
        if (typeof k === "string") tracker.#mark(section, k);
        return Reflect.defineProperty(t, k, "value" in d ? { ...d, value: tracker.#unwrap(d.value) } : d);
      },
    });
    this.#sections.set(record, proxy);
    this.#targets.set(proxy, record);
    return proxy;
  }

  /** One entry's view, made per key: an object moved to another key is seen (and marked) under the new one. */
  #entry(section: Section, key: string, target: object): object {
    const id = `${section}\0${key}`;
    let e = this.#entries.get(id);
    if (!e || e.target !== target) {
      e = { target, views: new WeakMap(), mark: () => this.#mark(section, key) };
      this.#entries.set(id, e);
    }
    return this.#deep(target, e);
  }

  /** Everything below an entry: any write marks the entry. Frozen objects cannot change and stay as they are. */
  #deep(target: object, e: EntryViews): object {
    if (Object.isFrozen(target)) return target;
    const known = e.views.get(target);
    if (known) return known;
    const proxy = new Proxy(target, (e.handler ??= this.#deepHandler(e)));
    e.views.set(target, proxy);
    this.#targets.set(proxy, target);
    return proxy;
  }

  #deepHandler(e: EntryViews): ProxyHandler<object> {
    const tracker = this;
    return {
      get(t, k) {
        const v = Reflect.get(t, k);
        return isObject(v) ? tracker.#deep(v, e) : v;
      },
      set(t, k, v) {
        e.mark();
        return Reflect.set(t, k, tracker.#unwrap(v));
      },
      deleteProperty(t, k) {
        e.mark();
        return Reflect.deleteProperty(t, k);
      },
      defineProperty(t, k, d) {
        e.mark();
        return Reflect.defineProperty(t, k, "value" in d ? { ...d, value: tracker.#unwrap(d.value) } : d);
      },
    };
  }

  /** The plain value to store: a tracked view stored somewhere else is stored as what it views. */
  #unwrap<T>(v: T): T {
    if (!isObject(v)) return v;
    const target = this.#targets.get(v);
    if (target) return target as T;
    if (Object.isFrozen(v)) return v;
    for (const [k, x] of Object.entries(v)) {
      if (!isObject(x)) continue;
      const plain = this.#unwrap(x);
      if (plain !== x) (v as Record<string, unknown>)[k] = plain;
    }
    return v;
  }
}
