/**
 * The one error type of the API boundary: every failure a client sees is a `metav1.Status`
 * carrying the upstream reason and HTTP code. Lower layers throw these; api/ renders them.
 * @module
 */

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** Identifies a resource in messages: `clusters.cluster.x-k8s.io "c1"` or `configmaps "x"`. */
export interface GroupResource {
  group: string;
  resource: string;
}

export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toStatus(): Status {
    const s: Status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (!this.reason) delete s.reason;
    if (this.details && Object.keys(this.details).length) s.details = this.details;
    return s;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

export function notFound(gr: GroupResource, name: string): ApiError {
  return new ApiError(404, "NotFound", `${qualifiedResource(gr)} "${name}" not found`, {
    name,
    group: gr.group || undefined,
    kind: gr.resource,
  });
}

/** 404 for a path the server does not serve at all (kubectl: "the server could not find the requested resource"). */
export function pathNotFound(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource");
}

export function alreadyExists(gr: GroupResource, name: string): ApiError {
  return new ApiError(409, "AlreadyExists", `${qualifiedResource(gr)} "${name}" already exists`, {
    name,
    group: gr.group || undefined,
    kind: gr.resource,
  });
}

export const MODIFIED_MESSAGE =
  "the object has been modified; please apply your changes to the latest version and try again";

export function conflict(gr: GroupResource, name: string, why: string = MODIFIED_MESSAGE, causes?: StatusCause[]): ApiError {
  return new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`, {
    name,
    group: gr.group || undefined,
    kind: gr.resource,
    causes,
  });
}

/** 422 with one cause per field error; the message lists them as kube-apiserver does. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const body = parts.length === 1 ? parts[0] : `[${parts.join(", ")}]`;
  return new ApiError(422, "Invalid", `${qualifiedKind} "${name}" is invalid: ${body}`, {
    name,
    group: group || undefined,
    kind,
    causes,
  });
}

export function badRequest(message: string, causes?: StatusCause[]): ApiError {
  return new ApiError(400, "BadRequest", message, causes ? { causes } : undefined);
}

export function forbidden(message: string, details?: StatusDetails): ApiError {
  return new ApiError(403, "Forbidden", message, details);
}

export function unauthorized(): ApiError {
  return new ApiError(401, "Unauthorized", "Unauthorized");
}

export function methodNotAllowed(message = "the server does not allow this method on the requested resource"): ApiError {
  return new ApiError(405, "MethodNotAllowed", message);
}

export function unsupportedMediaType(message: string): ApiError {
  return new ApiError(415, "UnsupportedMediaType", message);
}

export function notAcceptable(message: string): ApiError {
  return new ApiError(406, "NotAcceptable", message);
}

export function expired(message: string): ApiError {
  return new ApiError(410, "Expired", message);
}

export function gone(message: string): ApiError {
  return new ApiError(410, "Gone", message);
}

export function tooManyRequests(retryAfterSeconds = 1): ApiError {
  return new ApiError(
    429,
    "TooManyRequests",
    "Too many requests, please try again later.",
    { retryAfterSeconds },
    { "Retry-After": String(retryAfterSeconds) },
  );
}

export function requestEntityTooLarge(limit: number): ApiError {
  return new ApiError(413, "RequestEntityTooLarge", `Request entity too large: limit is ${limit}`);
}

export function internalError(message: string): ApiError {
  return new ApiError(500, "InternalError", `Internal error occurred: ${message}`);
}

export function serviceUnavailable(message: string): ApiError {
  return new ApiError(503, "ServiceUnavailable", message);
}

/** Builders for field causes, worded as k8s.io/apimachinery field errors render them. */
export const fieldError = {
  invalid(field: string, value: unknown, detail: string): StatusCause {
    return { reason: "FieldValueInvalid", field, message: `Invalid value: ${renderValue(value)}: ${detail}` };
  },
  required(field: string, detail = ""): StatusCause {
    return { reason: "FieldValueRequired", field, message: detail ? `Required value: ${detail}` : "Required value" };
  },
  forbidden(field: string, detail: string): StatusCause {
    return { reason: "FieldValueForbidden", field, message: `Forbidden: ${detail}` };
  },
  notSupported(field: string, value: unknown, supported: unknown[]): StatusCause {
    const list = supported.map((v) => renderValue(v)).join(", ");
    return {
      reason: "FieldValueNotSupported",
      field,
      message: `Unsupported value: ${renderValue(value)}${supported.length ? `: supported values: ${list}` : ""}`,
    };
  },
  duplicate(field: string, value: unknown): StatusCause {
    return { reason: "FieldValueDuplicate", field, message: `Duplicate value: ${renderValue(value)}` };
  },
  tooLong(field: string, max: number): StatusCause {
    return { reason: "FieldValueTooLong", field, message: `Too long: may not be more than ${max} bytes` };
  },
  tooMany(field: string, actual: number, max: number): StatusCause {
    return { reason: "FieldValueTooMany", field, message: `Too many: ${actual}: must have at most ${max} items` };
  },
  typeInvalid(field: string, value: unknown, detail: string): StatusCause {
    return { reason: "FieldValueTypeInvalid", field, message: `Invalid value: ${renderValue(value)}: ${detail}` };
  },
};

/** Renders a value in a field error: strings quoted, numbers bare, composites as short JSON. */
export function renderValue(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  const json = JSON.stringify(v) ?? String(v);
  return json.length > 120 ? `${json.slice(0, 117)}...` : json;
}
