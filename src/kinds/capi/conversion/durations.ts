/**
 * `metav1.Duration` strings (v1beta1: `nodeDrainTimeout: 10m`) ⇄ `*Seconds` int32 fields
 * (v1beta2: `nodeDrainTimeoutSeconds: 600`), as upstream `clusterv1.ConvertToSeconds` /
 * `ConvertFromSeconds` do: sub-second precision is truncated toward zero, values beyond int32 are
 * capped, and the way back renders Go's `time.Duration.String()` (`600` → `"10m0s"`).
 * @module
 */

const MAX_INT32 = 2147483647;
const MIN_INT32 = -2147483648;
const MAX_INT64 = (1n << 63n) - 1n;

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // µ (micro sign)
  "\u03bcs": 1_000n, // μ (Greek mu)
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/**
 * Go's `time.ParseDuration` in nanoseconds: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`. Returns
 * undefined where Go returns an error (empty, unknown unit, missing unit, overflow).
 */
export function parseGoDuration(s: string): bigint | undefined {
  let rest = s;
  let neg = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    neg = rest[0] === "-";
    rest = rest.slice(1);
  }
  if (rest === "0") return 0n;
  if (rest === "") return undefined;
  let total = 0n;
  const re = /^(\d*)(?:\.(\d*))?([^\d.]+)/;
  while (rest !== "") {
    const m = re.exec(rest);
    if (!m) return undefined;
    const [all, intPart = "", fracPart, unitText = ""] = m;
    if (intPart === "" && (fracPart === undefined || fracPart === "")) return undefined;
    // The unit runs up to the next digit or '.'.
    const unit = UNITS[unitText];
    if (unit === undefined) return undefined;
    let v = intPart === "" ? 0n : BigInt(intPart);
    v *= unit;
    if (fracPart) {
      // Go keeps the fraction's digits while they fit, then scales: f * unit / 10^len (truncated).
      v += (BigInt(fracPart) * unit) / 10n ** BigInt(fracPart.length);
    }
    total += v;
    if (total > MAX_INT64 + (neg ? 1n : 0n)) return undefined;
    rest = rest.slice(all.length);
  }
  return neg ? -total : total;
}

/** Go `ConvertToSeconds`: whole seconds (truncated toward zero), capped to int32. */
export function durationToSeconds(d: unknown): number | undefined {
  if (typeof d !== "string") return undefined;
  const ns = parseGoDuration(d);
  if (ns === undefined) return undefined;
  const secs = ns / 1_000_000_000n; // BigInt division truncates toward zero, like math.Trunc
  if (secs > BigInt(MAX_INT32)) return MAX_INT32;
  if (secs < BigInt(MIN_INT32)) return MIN_INT32;
  return Number(secs);
}

/** Go `time.Duration(seconds * time.Second).String()` for whole seconds: `90` → `"1m30s"`. */
export function formatSeconds(seconds: number): string {
  const whole = Math.trunc(seconds);
  if (whole === 0) return "0s";
  const neg = whole < 0;
  let rest = Math.abs(whole);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  let out: string;
  if (h > 0) out = `${h}h${m}m${s}s`;
  else if (m > 0) out = `${m}m${s}s`;
  else out = `${s}s`;
  return neg ? `-${out}` : out;
}

/** Go `ConvertFromSeconds`: a `*int32` seconds value as a duration string (undefined stays undefined). */
export function secondsToDuration(seconds: unknown): string | undefined {
  return typeof seconds === "number" && Number.isFinite(seconds) ? formatSeconds(seconds) : undefined;
}
