/**
 * Events: core/v1 Event (storage) and events.k8s.io/v1 Event, one stored resource served in
 * two groups with field conversion, expiring 1 h after their last write as upstream's --event-ttl.
 * @module
 */
import type { KindHooks, ResourceDefinition } from "../types.ts";
import { builtinKind } from "./define.ts";
import { fieldError, type StatusCause } from "../../lib/api-errors.ts";
import type { KObject } from "../../lib/kobject.ts";
import { humanAge } from "../table/age.ts";
import { int, nameColumn, obj, resourceSchema, str, time } from "./schema-helpers.ts";

export const EVENT_TTL_MS = 60 * 60 * 1000;

const objectReference = obj(
  {
    kind: str(),
    namespace: str(),
    name: str(),
    uid: str(),
    apiVersion: str(),
    resourceVersion: str(),
    fieldPath: str(),
  },
  "ObjectReference contains enough information to let you inspect or modify the referred object.",
  { "x-kubernetes-map-type": "atomic" },
);
const microTime = (d?: string) => ({ type: "string" as const, format: "date-time", description: d });
const source = obj({ component: str("Component from which the event is generated."), host: str("Node name on which the event is generated.") });
const series = (countDesc: string) => obj({ count: int(countDesc), lastObservedTime: microTime("Time of the last occurrence observed.") });

const coreSchema = resourceSchema("Event is a report of an event somewhere in the cluster.", {
  involvedObject: objectReference,
  reason: str("This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
  message: str("A human-readable description of the status of this operation."),
  source,
  firstTimestamp: time("The time at which the event was first recorded."),
  lastTimestamp: time("The time at which the most recent occurrence of this event was recorded."),
  count: int("The number of times this event has occurred."),
  type: str("Type of this event (Normal, Warning)."),
  eventTime: microTime("Time when this Event was first observed."),
  series: series("Number of occurrences in this series up to the last heartbeat time."),
  action: str("What action was taken/failed regarding to the Regarding object."),
  related: objectReference,
  reportingComponent: str("Name of the controller that emitted this Event."),
  reportingInstance: str("ID of the controller instance."),
}, { required: ["metadata", "involvedObject"] });

const eventsV1Schema = resourceSchema("Event is a report of an event somewhere in the cluster.", {
  eventTime: microTime("The time at which the event was first recorded."),
  series: series("The number of occurrences in this series up to the last heartbeat time."),
  reportingController: str("The name of the controller that emitted this Event."),
  reportingInstance: str("The ID of the controller instance."),
  action: str("What action was taken/failed regarding to the regarding object."),
  reason: str("Why the action was taken."),
  regarding: objectReference,
  related: objectReference,
  note: str("A human-readable description of the status of this operation."),
  type: str("Type of this event (Normal, Warning)."),
  deprecatedSource: source,
  deprecatedFirstTimestamp: time(),
  deprecatedLastTimestamp: time(),
  deprecatedCount: int(),
});

/** core field ⇄ events.k8s.io field */
const RENAMES: [string, string][] = [
  ["involvedObject", "regarding"],
  ["message", "note"],
  ["reportingComponent", "reportingController"],
  ["source", "deprecatedSource"],
  ["firstTimestamp", "deprecatedFirstTimestamp"],
  ["lastTimestamp", "deprecatedLastTimestamp"],
  ["count", "deprecatedCount"],
];

function convertEvent(o: KObject, toApiVersion: string): KObject {
  const from = o.apiVersion ?? "v1";
  if (from === toApiVersion) return o;
  const out: KObject = { ...o, apiVersion: toApiVersion, kind: "Event" };
  const toEvents = toApiVersion === "events.k8s.io/v1";
  for (const [core, ev] of RENAMES) {
    const [src, dst] = toEvents ? [core, ev] : [ev, core];
    if (src in out) {
      out[dst] = out[src];
      delete out[src];
    }
  }
  return out;
}

function eventObjectCell(o: KObject): string {
  const ref = (o.involvedObject ?? o.regarding ?? {}) as { kind?: string; name?: string };
  return `${(ref.kind ?? "").toLowerCase()}/${ref.name ?? ""}`;
}

function lastSeen(o: KObject, now: number): string {
  const series = o.series as { lastObservedTime?: string } | undefined;
  const t = series?.lastObservedTime ?? (o.lastTimestamp as string) ?? (o.deprecatedLastTimestamp as string) ?? (o.eventTime as string) ?? o.metadata.creationTimestamp;
  return t ? humanAge(t, now) : "<unknown>";
}

function validateEvent(o: KObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const ref = (o.involvedObject ?? {}) as { namespace?: string };
  const ns = o.metadata.namespace ?? "";
  // About a cluster-scoped object an event lives in "default"; otherwise in the object's namespace.
  const ok = ref.namespace ? ref.namespace === ns : ns === "" || ns === "default";
  if (!ok) causes.push(fieldError.invalid("involvedObject.namespace", ref.namespace ?? "", "does not match event.namespace"));
  if (o.eventTime) {
    if (!o.reportingComponent) causes.push(fieldError.required("reportingController"));
    if (!o.reportingInstance) causes.push(fieldError.required("reportingInstance"));
    if (!o.action) causes.push(fieldError.required("action"));
    if (!o.reason) causes.push(fieldError.required("reason"));
    if (o.type !== "Normal" && o.type !== "Warning") causes.push(fieldError.invalid("type", o.type ?? "", "has invalid value"));
  }
  return causes;
}

const EVENT_FIELDS = [
  "involvedObject.kind",
  "involvedObject.namespace",
  "involvedObject.name",
  "involvedObject.uid",
  "involvedObject.apiVersion",
  "involvedObject.resourceVersion",
  "involvedObject.fieldPath",
  "reason",
  "reportingComponent",
  "source",
  "type",
];

function eventFieldValue(o: KObject, field: string): string | undefined {
  const core = convertEvent(o, "v1");
  const f = field.startsWith("regarding.") ? `involvedObject.${field.slice(10)}` : field === "reportingController" ? "reportingComponent" : field;
  if (f.startsWith("involvedObject.")) {
    const ref = (core.involvedObject ?? {}) as Record<string, unknown>;
    if (!EVENT_FIELDS.includes(f)) return undefined;
    return String(ref[f.slice("involvedObject.".length)] ?? "");
  }
  if (f === "reason" || f === "type" || f === "reportingComponent") return String(core[f] ?? "");
  if (f === "source") return String((core.source as { component?: string } | undefined)?.component ?? core.reportingComponent ?? "");
  return undefined;
}

const hooks: KindHooks = {
  validate: (o) => validateEvent(o),
  fieldValue: eventFieldValue,
  selectableFields: EVENT_FIELDS,
  convert: convertEvent,
  ttlMs: EVENT_TTL_MS,
  allowCreateOnUpdate: true,
  allowUnconditionalUpdate: true,
};

const columns = [
  { name: "Last Seen", type: "string" as const, description: "Time since the last occurrence", cell: lastSeen },
  { name: "Type", type: "string" as const, description: "Event type", cell: (o: KObject) => String(o.type ?? "") },
  { name: "Reason", type: "string" as const, description: "Short reason", cell: (o: KObject) => String(o.reason ?? "") },
  { name: "Object", type: "string" as const, description: "The object this event is about", cell: eventObjectCell },
  { name: "Message", type: "string" as const, description: "Human-readable message", cell: (o: KObject) => String(o.message ?? o.note ?? "") },
  { ...nameColumn, priority: 1 },
];

const eventKind = { kind: "Event", plural: "events", namespaced: true, shortNames: ["ev"], printerColumns: columns, hooks };

export const eventDefinition: ResourceDefinition = builtinKind({ ...eventKind, group: "", schema: coreSchema });

export const eventsV1Definition: ResourceDefinition = builtinKind({
  ...eventKind,
  group: "events.k8s.io",
  schema: eventsV1Schema,
  storage: { resource: "events", apiVersion: "v1" },
});
