/**
 * Access control: `POST /access/users/{userid}/token/{tokenid}`, as `pveum user token add USER
 * TOKENID [--privsep 0]` calls it. The lab's users are `root@pam` and the owners of its tokens
 * (the inventory's `apiTokens`); a new token authenticates at once, and its secret is shown only
 * in this answer.
 * @module
 */
import { randomUUID } from "node:crypto";
import { die, paramError } from "../errors.ts";
import type { LabHost } from "../host.ts";
import type { Handler } from "../router.ts";
import type { TokenInfo } from "../state.ts";

/** `root@pam` plus the owner of every token the lab knows. */
export function labUsers(host: LabHost): Set<string> {
  return new Set(["root@pam", ...Object.keys(host.state.tokens).map((id) => id.slice(0, id.lastIndexOf("!")))]);
}

const generateToken: Handler = (host, req) => {
  const userid = req.params.userid as string;
  const tokenid = req.params.tokenid as string;
  if (!labUsers(host).has(userid)) die(`no such user ('${userid}')`);
  const full = `${userid}!${tokenid}`;
  if (host.state.tokens[full] !== undefined) paramError({ tokenid: "Token already exists." });
  const info: TokenInfo = {
    privsep: req.params.privsep === undefined ? 1 : Number(req.params.privsep),
    ...(req.params.expire !== undefined ? { expire: Number(req.params.expire) } : {}),
    ...(req.params.comment ? { comment: String(req.params.comment) } : {}),
  };
  const value = randomUUID();
  host.state.tokens[full] = value;
  (host.state.tokenInfo ??= {})[full] = info;
  host.changed();
  return { info, value, "full-tokenid": full };
};

export const accessHandlers = {
  "POST /access/users/{userid}/token/{tokenid}": generateToken,
};
