/**
 * The lab PVE over HTTPS, as pveproxy speaks it at `/api2/json/...`: query strings for GET and
 * DELETE, form-urlencoded (or JSON, or multipart for uploads) bodies for POST and PUT, the error
 * text in the HTTP reason phrase, `Content-Type: application/json;charset=UTF-8` exactly, a 401
 * with an empty body. Served with `node:https` because Bun.serve drops custom status texts. The
 * certificate is signed by a lab CA kept in DATA_DIR/lab (pve-root-ca.pem, pve-ssl.pem/.key).
 * @module
 */
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { join } from "node:path";
import type { KeyPairPem } from "../../pki/certs.ts";
import type { LabApi, RequestOptions } from "./api.ts";
import type { LabHost } from "./host.ts";
import type { RawParams } from "./verify.ts";
import { stageUpload } from "./handlers/storage.ts";
import { acceptWebSocket, refuseUpgrade } from "./websocket.ts";

export interface LabTls {
  ca: KeyPairPem;
  server: KeyPairPem;
}

/** The names and addresses a server certificate covers (`DNS:` and `IP Address:` entries). */
function coveredNames(certPem: string): Set<string> {
  const san = new X509Certificate(certPem).subjectAltName ?? "";
  return new Set(san.split(/,\s*/).map((e) => e.replace(/^(DNS|IP Address):/, "")));
}

/**
 * Loads the lab's CA and server certificate, creating them on first use. The server certificate
 * names the nodes and their management addresses (as pve-ssl.pem does); a lab created before a
 * node address was known gets a new one from the same CA.
 */
export async function labTls(dir: string, hosts: string[], addresses: string[] = []): Promise<LabTls> {
  const caPath = join(dir, "pve-root-ca.pem");
  const caKeyPath = join(dir, "pve-root-ca.key");
  const certPath = join(dir, "pve-ssl.pem");
  const keyPath = join(dir, "pve-ssl.key");
  let ca: KeyPairPem | undefined;
  if (existsSync(caPath) && existsSync(caKeyPath)) {
    ca = { certPem: readFileSync(caPath, "utf8"), keyPem: readFileSync(caKeyPath, "utf8") };
    if (existsSync(certPath) && existsSync(keyPath)) {
      const server = { certPem: readFileSync(certPath, "utf8"), keyPem: readFileSync(keyPath, "utf8") };
      const covered = coveredNames(server.certPem);
      if ([...hosts, ...addresses].every((h) => covered.has(h))) return { ca, server };
    }
  }
  const { createCA, issueCertificate } = await import("../../pki/certs.ts");
  if (!ca) {
    ca = await createCA("Proxmox Virtual Environment (lab)");
    writeFileSync(caPath, ca.certPem);
    writeFileSync(caKeyPath, ca.keyPem, { mode: 0o600 });
  }
  const server = await issueCertificate(ca, { commonName: hosts[0] ?? "pve1", dnsNames: ["localhost", ...hosts], ipAddresses: ["127.0.0.1", "::1", ...addresses], usage: "server", days: 3650 });
  writeFileSync(certPath, server.certPem);
  writeFileSync(keyPath, server.keyPem, { mode: 0o600 });
  return { ca, server };
}

function addParam(out: RawParams, k: string, v: string): void {
  const prev = out[k];
  if (prev === undefined) out[k] = v;
  else out[k] = Array.isArray(prev) ? [...prev, v] : [prev as string, v];
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function bodyParams(host: LabHost, req: IncomingMessage, out: RawParams): Promise<void> {
  const body = await readBody(req);
  if (!body.length) return;
  const type = (req.headers["content-type"] ?? "").toLowerCase();
  if (type.startsWith("application/json")) {
    const json = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    for (const [k, v] of Object.entries(json)) out[k] = v as RawParams[string];
  } else if (type.startsWith("multipart/form-data")) {
    const form = await new Response(body, { headers: { "content-type": req.headers["content-type"]! } }).formData();
    for (const [k, v] of form.entries()) {
      if (typeof v === "string") addParam(out, k, v);
      else {
        // pveproxy streams the file part to a temporary file and hands its name to the handler
        out.tmpfilename = stageUpload(host, new Uint8Array(await v.arrayBuffer()));
        if (out[k] === undefined) out[k] = v.name;
      }
    }
  } else {
    for (const [k, v] of new URLSearchParams(body.toString("utf8"))) addParam(out, k, v);
  }
}

function send(res: ServerResponse, status: number, reason: string, body: unknown): void {
  res.statusCode = status;
  res.statusMessage = reason.replace(/[\r\n]/g, " ");
  if (body === null) {
    res.setHeader("Content-Length", "0");
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.setHeader("Content-Type", "application/json;charset=UTF-8");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.setHeader("Cache-Control", "max-age=0");
  res.end(text);
}

export interface RunningHttps {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * The qm/pvesh shims call the API with their command line in `X-Capx-Lab-Argv` (JSON): such a
 * call runs its workers to the end, as the real CLIs do, and is logged with its argv.
 */
function requestOptions(req: IncomingMessage): RequestOptions {
  const header = req.headers["x-capx-lab-argv"];
  if (typeof header !== "string") return { via: "https" };
  let argv: unknown;
  try {
    argv = JSON.parse(header);
  } catch {
    argv = undefined;
  }
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === "string")) return { via: "https" };
  return { via: "cli", cli: true, argv: argv as string[] };
}

const VNC_WEBSOCKET = /^\/api2\/json\/nodes\/[^/]+\/qemu\/[^/]+\/vncwebsocket$/;

/**
 * pveproxy's websocket proxy: the `vncwebsocket` call must succeed (API token, ticket, VM), then
 * the connection is bridged to the termproxy listening on `port`; nothing there closes it.
 */
async function upgrade(host: LabHost, api: LabApi, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  try {
    const url = new URL(req.url ?? "/", "https://lab");
    if (!VNC_WEBSOCKET.test(url.pathname)) return refuseUpgrade(socket, 501, `Method 'GET ${url.pathname}' not implemented`);
    const params: RawParams = {};
    for (const [k, v] of url.searchParams) addParam(params, k, v);
    const out = await api.request("GET", url.pathname, params, req.headers.authorization, { via: "https" });
    if (out.status !== 200) return refuseUpgrade(socket, out.status, out.reason);
    const ws = acceptWebSocket(req, socket, head);
    if (ws && !host.terminals.connect(Number(params.port), ws)) ws.close(1011);
  } catch (e) {
    refuseUpgrade(socket, 400, (e as Error).message);
  }
}

export async function serveHttps(host: LabHost, api: LabApi, tls: LabTls, listen: { host?: string; port?: number }): Promise<RunningHttps> {
  const server = createServer({ key: tls.server.keyPem, cert: tls.server.certPem }, (req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? "/", "https://lab");
        const method = (req.method ?? "GET").toUpperCase();
        if (!url.pathname.startsWith("/api2/json/") && url.pathname !== "/api2/json") {
          send(res, 501, `Method '${method} ${url.pathname}' not implemented`, { data: null });
          return;
        }
        const params: RawParams = {};
        for (const [k, v] of url.searchParams) addParam(params, k, v);
        if (method === "POST" || method === "PUT") await bodyParams(host, req, params);
        const auth = req.headers.authorization;
        const out = await api.request(method, url.pathname, params, auth, requestOptions(req));
        send(res, out.status, out.reason, out.body);
      } catch (e) {
        send(res, 400, "Bad Request", { data: null, message: `${(e as Error).message}\n` });
      }
    })();
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => void upgrade(host, api, req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port ?? 0, listen.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === "IPv6" || addr.address.includes(":") ? `[${addr.address}]` : addr.address;
  return {
    url: `https://${hostPart}:${addr.port}`,
    port: addr.port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
