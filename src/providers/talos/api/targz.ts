/**
 * The Kubeconfig RPC streams a gzip'd tar holding one file, `kubeconfig`. Minimal ustar writer and
 * reader for regular files (enough for that archive), over node:zlib.
 * @module
 */
import { gunzipSync, gzipSync } from "node:zlib";

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

export function tarGz(files: { name: string; data: Uint8Array; mode?: number; mtime?: number }[]): Uint8Array {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const h = Buffer.alloc(512);
    h.write(f.name, 0, 100, "utf8");
    h.write(octal(f.mode ?? 0o600, 8), 100, "ascii");
    h.write(octal(0, 8), 108, "ascii");
    h.write(octal(0, 8), 116, "ascii");
    h.write(octal(f.data.length, 12), 124, "ascii");
    h.write(octal(Math.floor((f.mtime ?? Date.now()) / 1000), 12), 136, "ascii");
    h.write("        ", 148, "ascii");
    h.write("0", 156, "ascii");
    h.write("ustar\0", 257, "ascii");
    h.write("00", 263, "ascii");
    let sum = 0;
    for (const b of h) sum += b;
    h.write(octal(sum, 7) + " ", 148, "ascii");
    blocks.push(h, Buffer.from(f.data));
    const pad = (512 - (f.data.length % 512)) % 512;
    if (pad) blocks.push(Buffer.alloc(pad));
  }
  blocks.push(Buffer.alloc(1024));
  return new Uint8Array(gzipSync(Buffer.concat(blocks)));
}

export function untarGz(archive: Uint8Array): Map<string, Uint8Array> {
  const tar = gunzipSync(archive);
  const out = new Map<string, Uint8Array>();
  let off = 0;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const name = h.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    const size = parseInt(h.subarray(124, 136).toString("ascii").replace(/\0.*$/s, "").trim() || "0", 8);
    const type = String.fromCharCode(h[156]!);
    off += 512;
    if (type === "0" || type === "\0") out.set(name, new Uint8Array(tar.subarray(off, off + size)));
    off += Math.ceil(size / 512) * 512;
  }
  return out;
}
