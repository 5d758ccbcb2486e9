/**
 * Storage endpoints: the storages of a node with usage, their content (image volumes from the
 * state; iso, snippets and vztmpl as real files under DATA_DIR/lab/storage/), volume details and
 * deletion, and `upload` (iso/vztmpl/import only — snippets cannot be uploaded through the API).
 * An upload is staged as `/var/tmp/pveupload-<hex>` (pveproxy's temporary file, here under
 * DATA_DIR/lab/upload/) and copied into the storage by an `imgcopy` task.
 * @module
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { die, paramError } from "../errors.ts";
import type { LabHost } from "../host.ts";
import { storageNodes, type StorageSpec } from "../inventory.ts";
import type { Handler } from "../router.ts";
import type { Worker } from "../tasks.ts";
import { CONTENT_DIRS, contentFilePath, fileContentChanged, findVolume, freeVolume, isFileStorage, parseVolid, usedBytes } from "../volumes.ts";
import { storageLockKey, storageLockTimeoutText } from "../locks.ts";

const TMP_PREFIX = "/var/tmp/pveupload-";

/** Stages an upload's bytes as pveproxy does; returns the `tmpfilename` to pass to `upload`. */
export function stageUpload(host: LabHost, data: Uint8Array): string {
  const name = randomBytes(16).toString("hex");
  const dir = join(host.dir, "upload");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `pveupload-${name}`), data);
  return `${TMP_PREFIX}${name}`;
}

function stagedPath(host: LabHost, tmpfilename: string): string {
  return join(host.dir, "upload", basename(tmpfilename));
}

function storageEntry(host: LabHost, s: StorageSpec, node: string) {
  const used = usedBytes(host, s, node);
  return {
    storage: s.id,
    type: s.type,
    content: s.content.join(","),
    active: 1,
    enabled: 1,
    shared: s.shared ? 1 : 0,
    total: s.size,
    used,
    avail: Math.max(0, s.size - used),
    used_fraction: used / s.size,
  };
}

const list: Handler = (host, req) => {
  const p = req.params;
  const node = p.node as string;
  const wanted = typeof p.content === "string" ? p.content.split(/[,;\s]+/).filter(Boolean) : [];
  return host.inv.storages
    .filter((s) => storageNodes(host.inv, s).includes(node))
    .filter((s) => !p.storage || s.id === p.storage)
    .filter((s) => !wanted.length || wanted.some((c) => s.content.includes(c)))
    .filter((s) => !p.target || storageNodes(host.inv, s).includes(String(p.target)))
    .map((s) => storageEntry(host, s, node));
};

const storageIndex: Handler = (host, req) => {
  host.storageOnNode(req.params.storage as string, req.params.node as string);
  return ["content", "download-url", "file-restore", "import-metadata", "prunebackups", "rrd", "rrddata", "status", "upload"].map((subdir) => ({ subdir }));
};

const status: Handler = (host, req) => {
  const node = req.params.node as string;
  const s = host.storageOnNode(req.params.storage as string, node);
  const { storage: _id, used_fraction: _f, ...rest } = storageEntry(host, s, node);
  return rest;
};

const content: Handler = (host, req) => {
  const node = req.params.node as string;
  const s = host.storageOnNode(req.params.storage as string, node);
  const ctype = req.params.content as string | undefined;
  const vmid = req.params.vmid as number | undefined;
  const out: Record<string, unknown>[] = [];
  if ((!ctype || ctype === "images") && s.content.includes("images")) {
    for (const v of Object.values(host.plain.volumes)) {
      if (v.storage !== s.id || (!s.shared && v.node !== node)) continue;
      if (vmid !== undefined && v.vmid !== vmid) continue;
      out.push({ volid: `${s.id}:${v.volname}`, content: "images", format: v.format, size: v.size, used: v.parent ? 0 : v.size, vmid: v.vmid, ctime: v.ctime, ...(v.parent ? { parent: v.parent.split(":")[1] } : {}) });
    }
  }
  if (isFileStorage(s) && vmid === undefined) {
    for (const [type, sub] of Object.entries(CONTENT_DIRS)) {
      if (!s.content.includes(type) || (ctype && ctype !== type)) continue;
      const dir = join(host.storageDir(s, node), sub);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir).sort()) {
        const st = statSync(join(dir, f));
        if (!st.isFile()) continue;
        const format = type === "iso" ? "iso" : type === "snippets" ? "snippet" : f.replace(/^.*?\.(tar(\.\w+)?)$/, "$1");
        out.push({ volid: `${s.id}:${type}/${f}`, content: type, format, size: st.size, ctime: Math.floor(st.mtimeMs / 1000) });
      }
    }
  }
  return out.sort((a, b) => String(a.volid).localeCompare(String(b.volid)));
};

/** A volume id in the path may name the storage or be relative to it. */
function volumeId(storage: string, volume: string): string {
  return parseVolid(volume) ? volume : `${storage}:${volume}`;
}

const volumeInfo: Handler = (host, req) => {
  const node = req.params.node as string;
  const s = host.storageOnNode(req.params.storage as string, node);
  const volid = volumeId(s.id, req.params.volume as string);
  const file = contentFilePath(host, s, node, parseVolid(volid)!.volname);
  if (file) {
    if (!existsSync(file.path)) die(`volume '${volid}' does not exist`);
    const size = statSync(file.path).size;
    return { path: file.path, size, used: size, format: file.type === "iso" ? "iso" : "raw" };
  }
  const v = findVolume(host, node, volid);
  if (!v) die(`volume '${volid}' does not exist`);
  return { path: `${host.storageMount(s)}/${isFileStorage(s) ? "images/" : ""}${v.record.volname}`, size: v.record.size, used: v.record.parent ? 0 : v.record.size, format: v.record.format };
};

interface DeleteData {
  node: string;
  storage: string;
  volid: string;
}

export const imgdelWorker: Worker = {
  steps(w) {
    const d = w.task.data as unknown as DeleteData;
    const host = w.host;
    const s = host.storage(d.storage);
    const lock = storageLockKey(s, d.node);
    return [
      { lock, mode: "ex", timeoutMs: host.lat.storageLockTimeoutMs, error: storageLockTimeoutText(s) },
      { sleep: host.lat.storageOpMs },
      {
        run: () => {
          const file = contentFilePath(host, s, d.node, parseVolid(d.volid)!.volname);
          if (file) {
            if (!existsSync(file.path)) die(`volume '${d.volid}' does not exist`);
            rmSync(file.path);
          } else freeVolume(host, d.node, d.volid);
          w.log(`Removed volume '${d.volid}'`);
          host.changed();
        },
      },
    ];
  },
};

const deleteVolume: Handler = (host, req) => {
  const node = req.params.node as string;
  const s = host.storageOnNode(req.params.storage as string, node);
  const volid = volumeId(s.id, req.params.volume as string);
  const file = contentFilePath(host, s, node, parseVolid(volid)!.volname);
  if (file ? !existsSync(file.path) : !findVolume(host, node, volid)) die(`volume '${volid}' does not exist`);
  const owner = findVolume(host, node, volid)?.record.vmid;
  if (owner !== undefined) {
    const vm = host.vm(owner);
    if (vm && Object.values({ ...vm.config, ...vm.pending }).some((v) => v.split(",")[0] === volid)) die(`unable to delete volume '${volid}' - still in use by VM ${owner}`);
  }
  const data: DeleteData = { node, storage: s.id, volid };
  const upid = host.tasks.fork({ node, type: "imgdel", id: "", user: req.user, worker: "imgdel", data: data as unknown as Record<string, unknown> });
  req.forked.push(upid);
  return upid;
};

interface UploadData {
  node: string;
  storage: string;
  tmpfilename: string;
  dest: string;
  volname: string;
  size: number;
}

export const imgcopyWorker: Worker = {
  steps(w) {
    const d = w.task.data as unknown as UploadData;
    const host = w.host;
    const s = host.storage(d.storage);
    return [
      {
        run: () => {
          w.log(`starting file import from: ${d.tmpfilename}`);
          w.log(`target node: ${d.node}`);
          w.log(`target file: ${host.storageMount(s)}/${d.volname}`);
          w.log(`file size is: ${d.size}`);
          w.log(`command: cp -- ${d.tmpfilename} ${host.storageMount(s)}/${d.volname}`);
        },
      },
      { sleep: host.lat.storageOpMs },
      {
        run: () => {
          const src = stagedPath(host, d.tmpfilename);
          mkdirSync(join(d.dest, ".."), { recursive: true });
          copyFileSync(src, d.dest);
          fileContentChanged(d.dest);
          rmSync(src, { force: true });
          w.log("finished file import successfully");
          host.changed();
        },
      },
    ];
  },
};

const upload: Handler = (host, req) => {
  const p = req.params;
  const node = p.node as string;
  const s = host.storageOnNode(p.storage as string, node);
  if (!isFileStorage(s)) die(`can't upload to storage type '${s.type}'`);
  const ctype = p.content as string;
  const tmpfilename = p.tmpfilename as string | undefined;
  if (!tmpfilename) die("missing temporary file name");
  const src = stagedPath(host, tmpfilename);
  if (!existsSync(src)) die(`temporary file '${tmpfilename}' does not exist`);
  const filename = String(p.filename).replace(/^.*\//, "").replace(/[^-a-zA-Z0-9_.]/g, "_");
  if (ctype === "iso" && !/[^/]+\.(?:iso|img)$/i.test(filename)) paramError({ filename: "wrong file extension" });
  if (ctype === "vztmpl" && !/[^/]+\.(tar|tar\.(gz|xz|zst|bz2))$/i.test(filename)) paramError({ filename: "wrong file extension" });
  if (ctype === "import" && !/[-a-zA-Z0-9_.]+\.(ova|qcow2|raw|vmdk)$/.test(filename)) paramError({ filename: "invalid filename or wrong extension" });
  if (!s.content.includes(ctype)) die(`storage '${s.id}' does not support '${ctype}' content`);
  const volname = `${CONTENT_DIRS[ctype]}/${filename}`;
  const data: UploadData = { node, storage: s.id, tmpfilename, dest: join(host.storageDir(s, node), volname), volname, size: statSync(src).size };
  const upid = host.tasks.fork({ node, type: "imgcopy", id: "", user: req.user, worker: "imgcopy", data: data as unknown as Record<string, unknown> });
  req.forked.push(upid);
  return upid;
};

export const storageHandlers = {
  "GET /nodes/{node}/storage": list,
  "GET /nodes/{node}/storage/{storage}": storageIndex,
  "GET /nodes/{node}/storage/{storage}/status": status,
  "GET /nodes/{node}/storage/{storage}/content": content,
  "GET /nodes/{node}/storage/{storage}/content/{volume}": volumeInfo,
  "DELETE /nodes/{node}/storage/{storage}/content/{volume}": deleteVolume,
  "POST /nodes/{node}/storage/{storage}/upload": upload,
} satisfies Record<string, Handler>;
