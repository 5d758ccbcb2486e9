/**
 * Response helpers: JSON bodies, Status errors, Warning headers.
 * @module
 */
import { ApiError, internalError, isApiError, tooManyRequests, type Status } from "../lib/api-errors.ts";
import { log } from "../lib/log.ts";

export const JSON_TYPE = "application/json";

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}, contentType = JSON_TYPE): Response {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "Content-Type": contentType, ...headers },
  });
}

/** `Warning: 299 - "text"` headers, as kube-apiserver sends them. */
export function warningHeaders(warnings: string[]): [string, string][] {
  return [...new Set(warnings)].map((w) => ["Warning", `299 - ${JSON.stringify(w.replace(/[\r\n]+/g, " "))}`]);
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED" || /database is locked|SQLITE_BUSY/.test(String((e as Error)?.message ?? ""));
}

/** Any thrown value → a Status response; unexpected errors are logged and become 500. */
export function errorResponse(e: unknown, onBusy?: () => void): Response {
  let err: ApiError;
  if (isApiError(e)) err = e;
  else if (isBusy(e)) {
    onBusy?.();
    err = tooManyRequests(1);
  } else {
    log.error({ component: "api", err: String((e as Error)?.stack ?? e) }, "unexpected error serving a request");
    err = internalError((e as Error)?.message ?? String(e));
  }
  return jsonResponse(err.toStatus() satisfies Status, err.code, err.headers ?? {});
}

export function statusSuccess(details: Status["details"]): Record<string, unknown> {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details };
}
