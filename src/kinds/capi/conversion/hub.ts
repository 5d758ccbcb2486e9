/**
 * Hub-and-spoke conversion with lossless round trips. Each kind supplies, per spoke version, the
 * plain field mapping both ways (a faithful port of upstream's conversion functions); this module
 * adds what upstream's `ConvertTo`/`ConvertFrom` wrappers do around them — the conversion-data
 * annotation — in both directions (see preserve.ts):
 *
 * - hub → spoke: map; restore from spoke data kept on the hub (three-way); store the hub (sans
 *   metadata) in the spoke's annotation — always for the kinds upstream marshals
 *   (`marshalHub: "always"`), otherwise only when the plain mapping back would not give the hub.
 * - spoke → hub: take the annotation off; map; restore from the hub data it carried (three-way);
 *   store the spoke (sans metadata) in the hub's annotation when the plain mapping back would not
 *   give the spoke.
 *
 * Spoke → spoke goes through the hub. The input is never mutated.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { putConversionData, restoreInto, sameBody, takeConversionData } from "./preserve.ts";
import { clone } from "./util.ts";

export interface SpokeConversion {
  /** The spoke version (`v1beta1`). */
  version: string;
  /** Plain spoke → hub mapping (no annotation handling). Must not mutate its input. */
  toHub(spoke: KObject): KObject;
  /** Plain hub → spoke mapping (no annotation handling). Must not mutate its input. */
  fromHub(hub: KObject): KObject;
  /** Whether upstream always marshals the hub into the spoke's annotation (`MarshalData`). */
  marshalHub: "always" | "when-lossy";
}

export interface KindConversion {
  group: string;
  kind: string;
  hubVersion: string;
  spokes: SpokeConversion[];
}

export type Converter = (obj: KObject, toApiVersion: string) => KObject;

function parseApiVersion(apiVersion: unknown): { group: string; version: string } | undefined {
  if (typeof apiVersion !== "string") return undefined;
  const i = apiVersion.lastIndexOf("/");
  if (i < 0) return undefined;
  return { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function makeConverter(def: KindConversion): Converter {
  const hubApiVersion = `${def.group}/${def.hubVersion}`;
  const spokes = new Map(def.spokes.map((s) => [s.version, s]));

  const versionOf = (apiVersion: unknown, what: string): string => {
    const gv = parseApiVersion(apiVersion);
    if (!gv || gv.group !== def.group || (gv.version !== def.hubVersion && !spokes.has(gv.version))) {
      throw new Error(`${def.kind}.${def.group}: cannot convert ${what} apiVersion ${JSON.stringify(apiVersion)}`);
    }
    return gv.version;
  };

  const up = (spoke: SpokeConversion, input: KObject): KObject => {
    const src = clone(input);
    const kept = takeConversionData(src);
    const hub = spoke.toHub(src);
    if (kept && (kept.apiVersion === undefined || kept.apiVersion === hubApiVersion)) {
      const keptHub: KObject = { ...clone(kept), apiVersion: hubApiVersion, kind: def.kind, metadata: clone(hub.metadata) };
      const base = spoke.toHub(spoke.fromHub(keptHub));
      restoreInto(hub, base, keptHub);
    }
    if (!sameBody(spoke.fromHub(hub), src)) putConversionData(hub, src);
    return hub;
  };

  const down = (spoke: SpokeConversion, input: KObject): KObject => {
    const hub = clone(input);
    const kept = takeConversionData(hub);
    const spokeApiVersion = `${def.group}/${spoke.version}`;
    const out = spoke.fromHub(hub);
    if (kept && kept.apiVersion === spokeApiVersion) {
      const keptSpoke: KObject = { ...clone(kept), apiVersion: spokeApiVersion, kind: def.kind, metadata: clone(out.metadata) };
      const base = spoke.fromHub(spoke.toHub(keptSpoke));
      restoreInto(out, base, keptSpoke);
    }
    if (spoke.marshalHub === "always" || !sameBody(spoke.toHub(out), hub)) putConversionData(out, hub);
    return out;
  };

  return (obj: KObject, toApiVersion: string): KObject => {
    const from = versionOf(obj.apiVersion, "from");
    const to = versionOf(toApiVersion, "to");
    if (from === to) return { ...clone(obj), apiVersion: toApiVersion, kind: def.kind };
    const hub = from === def.hubVersion ? { ...clone(obj), kind: def.kind } : up(spokes.get(from) as SpokeConversion, obj);
    const out = to === def.hubVersion ? hub : down(spokes.get(to) as SpokeConversion, hub);
    out.kind = def.kind;
    return out;
  };
}
