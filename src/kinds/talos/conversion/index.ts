/**
 * Conversion between the served versions of the Talos kinds: TalosConfig and TalosConfigTemplate
 * (bootstrap.cluster.x-k8s.io) v1alpha3 ⇄ v1beta1 (hub/storage), lossless both ways, with what one
 * version cannot express in the `cluster.x-k8s.io/conversion-data` annotation, as CABPT does. The
 * hub-and-spoke machinery is shared with the Cluster API kinds (../../capi/conversion/hub.ts).
 * TalosControlPlane has a single version and needs no converter.
 *
 * Each converter has the `KindHooks.convert` signature: any served apiVersion in, a new object in
 * `toApiVersion` out (the input is never mutated; an unknown apiVersion throws).
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { makeConverter, type SpokeConversion } from "../../capi/conversion/hub.ts";
import { BOOTSTRAP_GROUP, BOOTSTRAP_HUB_VERSION } from "./common.ts";
import { talosConfigTemplateV1Alpha3, talosConfigV1Alpha3 } from "./talosconfig.ts";

export * from "./common.ts";

const converter = (kind: string, spoke: SpokeConversion) =>
  makeConverter({ group: BOOTSTRAP_GROUP, kind, hubVersion: BOOTSTRAP_HUB_VERSION, spokes: [spoke] });

/** `"group/Kind"` → `(obj, toApiVersion) => obj in toApiVersion`. */
export const talosConverters: Record<string, (obj: KObject, toApiVersion: string) => KObject> = {
  [`${BOOTSTRAP_GROUP}/TalosConfig`]: converter("TalosConfig", talosConfigV1Alpha3),
  [`${BOOTSTRAP_GROUP}/TalosConfigTemplate`]: converter("TalosConfigTemplate", talosConfigTemplateV1Alpha3),
};
