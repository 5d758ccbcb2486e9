/**
 * blang/semver/v4 `ParseTolerant` (leading/trailing space and a `v` prefix stripped, short versions
 * padded with `.0`, leading zeros dropped) on top of the strict parser the core webhooks use.
 * @module
 */
import { isSemver } from "../../capi/webhooks/validation.ts";

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
}

export function parseTolerant(input: string): SemVer | undefined {
  let s = input.trim();
  if (s.startsWith("v")) s = s.slice(1);
  const parts = s.split(".");
  const head = parts.length > 3 ? [...parts.slice(0, 2), parts.slice(2).join(".")] : parts;
  if (head.length < 3) {
    if (/[+-]/.test(head[head.length - 1] ?? "")) return undefined;
    while (head.length < 3) head.push("0");
  }
  const normalized = head.map((p) => {
    if (p.length <= 1) return p;
    const trimmed = p.replace(/^0+/, "");
    return trimmed === "" || !/^[0-9]/.test(trimmed) ? `0${trimmed}` : trimmed;
  });
  const text = normalized.join(".");
  if (!isSemver(text)) return undefined;
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

/** `version.Compare(a, b, WithoutPreReleases())` on major.minor.patch. */
export function compareCore(a: SemVer, b: SemVer): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}
