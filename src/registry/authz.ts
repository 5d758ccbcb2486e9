/**
 * Authorization: the appliance has two roles. `system:masters` (and the configured admin
 * tokens) may do everything; members of `capx:viewers` may only read.
 * @module
 */
import type { UserInfo } from "./types.ts";

export const ADMIN_GROUP = "system:masters";
export const VIEWER_GROUP = "capx:viewers";
const READ_VERBS = new Set(["get", "list", "watch"]);

export interface Decision {
  allowed: boolean;
  reason: string;
}

export function authorize(user: UserInfo, verb: string): Decision {
  if (user.groups.includes(ADMIN_GROUP)) return { allowed: true, reason: `user ${user.name} is in group ${ADMIN_GROUP}` };
  if (user.groups.includes(VIEWER_GROUP) && READ_VERBS.has(verb)) return { allowed: true, reason: `read access for group ${VIEWER_GROUP}` };
  return { allowed: false, reason: `user ${JSON.stringify(user.name)} may not ${verb}` };
}
