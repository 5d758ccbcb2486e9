/**
 * The PVE API endpoints the lab implements, as `METHOD /path/{param}` keys of the upstream API
 * schema. Their parameter definitions are extracted into `api-schema.json` (see generate.ts); any
 * other path answers 501 as pveproxy does for an unknown method.
 * @module
 */
import type { AccessEndpoint } from "./access.ts";

export const LAB_ENDPOINTS = [
  "GET /version",
  "GET /nodes",
  "GET /cluster/status",
  "GET /cluster/resources",
  "GET /cluster/nextid",
  "GET /pools",
  "POST /pools",
  "GET /nodes/{node}/status",
  "GET /nodes/{node}/qemu",
  "POST /nodes/{node}/qemu",
  "GET /nodes/{node}/qemu/{vmid}",
  "DELETE /nodes/{node}/qemu/{vmid}",
  "GET /nodes/{node}/qemu/{vmid}/config",
  "POST /nodes/{node}/qemu/{vmid}/config",
  "PUT /nodes/{node}/qemu/{vmid}/config",
  "GET /nodes/{node}/qemu/{vmid}/pending",
  "GET /nodes/{node}/qemu/{vmid}/cloudinit",
  "PUT /nodes/{node}/qemu/{vmid}/cloudinit",
  "GET /nodes/{node}/qemu/{vmid}/cloudinit/dump",
  "GET /nodes/{node}/qemu/{vmid}/status",
  "GET /nodes/{node}/qemu/{vmid}/status/current",
  "POST /nodes/{node}/qemu/{vmid}/status/start",
  "POST /nodes/{node}/qemu/{vmid}/status/stop",
  "POST /nodes/{node}/qemu/{vmid}/status/shutdown",
  "POST /nodes/{node}/qemu/{vmid}/status/reboot",
  "POST /nodes/{node}/qemu/{vmid}/status/reset",
  "POST /nodes/{node}/qemu/{vmid}/clone",
  "PUT /nodes/{node}/qemu/{vmid}/resize",
  "POST /nodes/{node}/qemu/{vmid}/template",
  "GET /nodes/{node}/qemu/{vmid}/agent",
  "POST /nodes/{node}/qemu/{vmid}/agent",
  "POST /nodes/{node}/qemu/{vmid}/agent/ping",
  "GET /nodes/{node}/qemu/{vmid}/agent/info",
  "GET /nodes/{node}/qemu/{vmid}/agent/get-host-name",
  "GET /nodes/{node}/qemu/{vmid}/agent/get-osinfo",
  "GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces",
  "POST /nodes/{node}/qemu/{vmid}/agent/exec",
  "GET /nodes/{node}/qemu/{vmid}/agent/exec-status",
  "POST /nodes/{node}/qemu/{vmid}/termproxy",
  "GET /nodes/{node}/qemu/{vmid}/vncwebsocket",
  "GET /nodes/{node}/tasks",
  "GET /nodes/{node}/tasks/{upid}",
  "DELETE /nodes/{node}/tasks/{upid}",
  "GET /nodes/{node}/tasks/{upid}/log",
  "GET /nodes/{node}/tasks/{upid}/status",
  "GET /nodes/{node}/storage",
  "GET /nodes/{node}/storage/{storage}",
  "GET /nodes/{node}/storage/{storage}/status",
  "GET /nodes/{node}/storage/{storage}/content",
  "GET /nodes/{node}/storage/{storage}/content/{volume}",
  "DELETE /nodes/{node}/storage/{storage}/content/{volume}",
  "POST /nodes/{node}/storage/{storage}/upload",
] as const;

/** Also the access-control endpoints whose schema is transcribed by hand (access.ts). */
export type LabEndpoint = (typeof LAB_ENDPOINTS)[number] | AccessEndpoint;
