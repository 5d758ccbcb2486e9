/**
 * The subset of Kubernetes JSONPath used by CRD printer columns, selectable fields and scale
 * paths: `.a.b`, escaped dots (`.labels.cluster\.x-k8s\.io/name`), bracket keys
 * (`['cluster\.x-k8s\.io/name']`, `["k"]`), indexes (`[0]`, `[-1]`), wildcards (`[*]`, `.*`) and
 * filters (`[?(@.type=="Ready")]`, `[?(@.x)]`). Unsupported syntax throws at compile time.
 * @module
 */

type Step =
  | { kind: "key"; key: string }
  | { kind: "index"; index: number }
  | { kind: "wildcard" }
  | { kind: "filter"; path: string[]; op?: "==" | "!="; value?: unknown };

const cache = new Map<string, Step[]>();

export class JsonPathError extends Error {}

function readKey(src: string, i: number): [string, number] {
  let key = "";
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\\" && i + 1 < src.length) {
      key += src[i + 1];
      i += 2;
      continue;
    }
    if (c === "." || c === "[") break;
    key += c;
    i++;
  }
  return [key, i];
}

function parseLiteral(text: string): unknown {
  const t = text.trim();
  if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) return t.slice(1, -1);
  if (t === "true") return true;
  if (t === "false") return false;
  if (t === "null") return null;
  const n = Number(t);
  if (!Number.isNaN(n)) return n;
  throw new JsonPathError(`unsupported filter value ${t}`);
}

export function compileJsonPath(expr: string): Step[] {
  const hit = cache.get(expr);
  if (hit) return hit;
  let src = expr.trim();
  if (src.startsWith("{") && src.endsWith("}")) src = src.slice(1, -1);
  if (src.startsWith("$")) src = src.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ".") {
      i++;
      if (src[i] === "*") {
        steps.push({ kind: "wildcard" });
        i++;
        continue;
      }
      const [key, next] = readKey(src, i);
      if (key) steps.push({ kind: "key", key });
      i = next;
    } else if (c === "[") {
      const end = src.indexOf("]", i);
      if (end < 0) throw new JsonPathError(`unterminated [ in ${expr}`);
      let inner = src.slice(i + 1, end);
      // A filter may contain ']' inside quotes; find the matching ')]'.
      if (inner.startsWith("?(")) {
        const close = src.indexOf(")]", i);
        if (close < 0) throw new JsonPathError(`unterminated filter in ${expr}`);
        inner = src.slice(i + 1, close + 1);
        i = close + 2;
        steps.push(parseFilter(inner.slice(2, -1), expr));
        continue;
      }
      i = end + 1;
      if (inner === "*") steps.push({ kind: "wildcard" });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: "index", index: Number(inner) });
      else if (/^(['"]).*\1$/.test(inner)) steps.push({ kind: "key", key: inner.slice(1, -1).replace(/\\(.)/g, "$1") });
      else throw new JsonPathError(`unsupported subscript [${inner}] in ${expr}`);
    } else {
      const [key, next] = readKey(src, i);
      if (!key) throw new JsonPathError(`unexpected ${c} in ${expr}`);
      steps.push({ kind: "key", key });
      i = next;
    }
  }
  cache.set(expr, steps);
  return steps;
}

function parseFilter(body: string, expr: string): Step {
  const m = /^@((?:\.[^.=!\s]+)+)\s*(?:(==|!=)\s*(.+))?$/.exec(body.trim());
  if (!m) throw new JsonPathError(`unsupported filter ${body} in ${expr}`);
  const path = m[1]!.slice(1).split(".");
  if (!m[2]) return { kind: "filter", path };
  return { kind: "filter", path, op: m[2] as "==" | "!=", value: parseLiteral(m[3]!) };
}

function getPath(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Every value the path selects (empty when nothing matches). */
export function evalJsonPath(obj: unknown, expr: string): unknown[] {
  let cur: unknown[] = [obj];
  for (const step of compileJsonPath(expr)) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || typeof v !== "object") continue;
      if (step.kind === "key") {
        if (!Array.isArray(v) && step.key in (v as object)) next.push((v as Record<string, unknown>)[step.key]);
      } else if (step.kind === "index") {
        if (Array.isArray(v)) {
          const idx = step.index < 0 ? v.length + step.index : step.index;
          if (idx >= 0 && idx < v.length) next.push(v[idx]);
        }
      } else if (step.kind === "wildcard") {
        next.push(...(Array.isArray(v) ? v : Object.values(v as object)));
      } else {
        const items = Array.isArray(v) ? v : Object.values(v as object);
        for (const item of items) {
          const got = getPath(item, step.path);
          if (step.op === undefined ? got !== undefined && got !== null && got !== false : step.op === "==" ? got === step.value : got !== step.value) {
            next.push(item);
          }
        }
      }
    }
    cur = next;
  }
  return cur;
}

/** The first selected value, or undefined. */
export function jsonPathFirst(obj: unknown, expr: string): unknown {
  return evalJsonPath(obj, expr)[0];
}

/** Sets a simple dotted path (`.spec.replicas`), creating objects on the way. */
export function setSimplePath(obj: Record<string, unknown>, expr: string, value: unknown): void {
  const steps = compileJsonPath(expr);
  let cur: Record<string, unknown> = obj;
  steps.forEach((s, i) => {
    if (s.kind !== "key") throw new JsonPathError(`only simple field paths can be set: ${expr}`);
    if (i === steps.length - 1) cur[s.key] = value;
    else {
      const next = cur[s.key];
      if (next === null || typeof next !== "object" || Array.isArray(next)) cur[s.key] = {};
      cur = cur[s.key] as Record<string, unknown>;
    }
  });
}
