/**
 * A small POSIX tar (ustar + pax path records) writer and reader for regular files and
 * directories: what `backup` and `restore` need, with no external command or dependency.
 * File contents are streamed in chunks, so archive size is not bounded by memory.
 * @module
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";

const BLOCK = 512;
const CHUNK = 1 << 20;

export interface TarEntry {
  path: string;
  type: "file" | "dir";
  mode: number;
  size: number;
  mtime: number;
}

export class TarFormatError extends Error {}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function header(name: string, type: "0" | "5" | "x", mode: number, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, "utf8");
  h.write(octal(mode & 0o7777, 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii");
  h.write(octal(0, 8), 116, "ascii");
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(Math.floor(mtime), 12), 136, "ascii");
  h.write("        ", 148, "ascii");
  h.write(type, 156, "ascii");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/** A pax record `LEN key=value\n`, LEN counting itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len++;
  return Buffer.from(`${len}${body}`);
}

export class TarWriter {
  readonly #fd: number;

  constructor(path: string) {
    this.#fd = openSync(path, "wx", 0o600);
  }

  #write(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) off += writeSync(this.#fd, buf, off);
  }

  #pad(size: number): void {
    const rest = size % BLOCK;
    if (rest) this.#write(Buffer.alloc(BLOCK - rest));
  }

  #header(path: string, type: "0" | "5", mode: number, size: number, mtime: number): void {
    if (Buffer.byteLength(path) >= 100) {
      const pax = paxRecord("path", path);
      this.#write(header("PaxHeader", "x", 0o644, pax.length, mtime));
      this.#write(pax);
      this.#pad(pax.length);
    }
    this.#write(header(path, type, mode, size, mtime));
  }

  addDir(path: string, mode: number, mtime: number): void {
    this.#header(path.endsWith("/") ? path : `${path}/`, "5", mode, 0, mtime);
  }

  addBytes(path: string, data: Buffer, mode: number, mtime: number): void {
    this.#header(path, "0", mode, data.length, mtime);
    this.#write(data);
    this.#pad(data.length);
  }

  /** Copies a file that nobody writes to any more (a snapshot): its size must not change. */
  addFile(path: string, source: string, mode: number, mtime: number): void {
    const src = openSync(source, "r");
    try {
      const size = fstatSync(src).size;
      this.#header(path, "0", mode, size, mtime);
      const buf = Buffer.alloc(CHUNK);
      let done = 0;
      while (done < size) {
        const n = readSync(src, buf, 0, Math.min(CHUNK, size - done), done);
        if (n === 0) throw new Error(`${source} shrank while archiving`);
        this.#write(buf.subarray(0, n));
        done += n;
      }
      this.#pad(size);
    } finally {
      closeSync(src);
    }
  }

  /** Writes the end-of-archive marker, flushes to disk and closes. */
  finish(): void {
    this.#write(Buffer.alloc(2 * BLOCK));
    fsyncSync(this.#fd);
    closeSync(this.#fd);
  }

  abort(): void {
    closeSync(this.#fd);
  }
}

function field(h: Buffer, start: number, len: number): string {
  const s = h.subarray(start, start + len);
  const end = s.indexOf(0);
  return s.subarray(0, end < 0 ? len : end).toString("utf8");
}

function number(h: Buffer, start: number, len: number, what: string): number {
  const s = field(h, start, len).trim();
  if (!/^[0-7]*$/.test(s)) throw new TarFormatError(`bad ${what} field in tar header`);
  return s === "" ? 0 : parseInt(s, 8);
}

/**
 * Reads an archive entry by entry. `onEntry` gets each file or directory; for a file it may call
 * `copyTo(fd)` to stream the content, otherwise the content is skipped. Other entry types
 * (links, devices) are refused: a backup never holds them.
 */
export function readTar(path: string, onEntry: (e: TarEntry, copyTo: (fd: number) => void) => void): void {
  const fd = openSync(path, "r");
  try {
    const total = fstatSync(fd).size;
    let pos = 0;
    let paxPath: string | undefined;
    const block = Buffer.alloc(BLOCK);
    const readExact = (buf: Buffer, at: number) => {
      let off = 0;
      while (off < buf.length) {
        const n = readSync(fd, buf, off, buf.length - off, at + off);
        if (n === 0) throw new TarFormatError("archive is truncated");
        off += n;
      }
    };
    for (;;) {
      if (pos + BLOCK > total) throw new TarFormatError("archive is truncated (no end marker)");
      readExact(block, pos);
      pos += BLOCK;
      if (block.every((b) => b === 0)) return;
      if (field(block, 257, 5) !== "ustar") throw new TarFormatError("not a tar archive");
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
      if (sum !== number(block, 148, 8, "checksum")) throw new TarFormatError("tar header checksum mismatch");
      const size = number(block, 124, 12, "size");
      const type = String.fromCharCode(block[156]!);
      const dataAt = pos;
      pos += Math.ceil(size / BLOCK) * BLOCK;
      if (pos > total) throw new TarFormatError("archive is truncated");
      if (type === "x") {
        const data = Buffer.alloc(size);
        readExact(data, dataAt);
        const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString("utf8"));
        paxPath = m?.[1];
        continue;
      }
      const prefix = field(block, 345, 155);
      const name = paxPath ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
      paxPath = undefined;
      const entry: TarEntry = { path: name.replace(/\/$/, ""), type: "file", mode: number(block, 100, 8, "mode"), size, mtime: number(block, 136, 12, "mtime") };
      if (type === "5") entry.type = "dir";
      else if (type !== "0" && type !== "\0") throw new TarFormatError(`${name}: unsupported tar entry type ${JSON.stringify(type)}`);
      onEntry(entry, (out) => {
        const buf = Buffer.alloc(Math.min(CHUNK, Math.max(size, 1)));
        let done = 0;
        while (done < size) {
          const chunk = buf.subarray(0, Math.min(buf.length, size - done));
          readExact(chunk, dataAt + done);
          let off = 0;
          while (off < chunk.length) off += writeSync(out, chunk, off);
          done += chunk.length;
        }
      });
    }
  } finally {
    closeSync(fd);
  }
}
