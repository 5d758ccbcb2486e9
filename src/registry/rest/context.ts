/**
 * Per-request options shared by every verb, whether the caller is the HTTP API or an
 * in-process controller.
 * @module
 */
import type { UserInfo } from "../types.ts";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export interface RequestContext {
  user: UserInfo;
  /** dryRun=All: run admission, store nothing. */
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: FieldValidation;
  /** Warning texts for `Warning: 299 - "…"` response headers. */
  warnings: string[];
}

export function systemContext(manager: string): RequestContext {
  return { user: { name: `system:${manager}`, groups: ["system:masters"] }, fieldManager: manager, fieldValidation: "Ignore", warnings: [] };
}

/** The manager name upstream derives from a User-Agent: the part before the first '/'. */
export function managerFromUserAgent(userAgent: string | undefined): string {
  if (!userAgent) return "unknown";
  const head = userAgent.split("/")[0] ?? userAgent;
  return head.slice(0, 128) || "unknown";
}
