/**
 * Access-control endpoints the lab serves beyond the reference schema (pve-api-subset.json holds
 * the cluster, node, VM, storage and task paths only). Their parameters are transcribed from
 * pve-access-control (src/PVE/API2/User.pm `generate_token` with the standard options
 * `userid-completed`, `token-subid`, `token-expire`, `token-privsep`, `token-comment`), in the
 * shape extract.ts produces, and verified the same way.
 * @module
 */
import type { LabSchema } from "./extract.ts";

export const ACCESS_ENDPOINTS = ["POST /access/users/{userid}/token/{tokenid}"] as const;

export type AccessEndpoint = (typeof ACCESS_ENDPOINTS)[number];

export const ACCESS_SCHEMA: LabSchema = {
  "POST /access/users/{userid}/token/{tokenid}": {
    additionalProperties: false,
    properties: {
      comment: { type: "string", optional: 1 },
      expire: { type: "integer", optional: 1, minimum: 0 },
      privsep: { type: "boolean", optional: 1 },
      tokenid: { type: "string", pattern: "(?^:[A-Za-z][A-Za-z0-9\\.\\-_]+)" },
      userid: { type: "string", maxLength: 64, format: "pve-userid" },
    },
  },
};
