import { afterAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTar, TarFormatError, TarWriter, type TarEntry } from "./tar.ts";

const dir = mkdtempSync(join(tmpdir(), "capx-tar-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LONG = `lab/workloads/${"n".repeat(63)}/${"c".repeat(80)}/state.db`;

function write(path: string): void {
  const src = join(dir, "src.bin");
  writeFileSync(src, Buffer.alloc(1300, 7));
  const t = new TarWriter(path);
  t.addDir("pki", 0o700, 1_700_000_000);
  t.addBytes("pki/ca.key", Buffer.from("secret"), 0o600, 1_700_000_000);
  t.addFile(LONG, src, 0o640, 1_700_000_000);
  t.finish();
}

describe("tar", () => {
  it("round-trips files, directories, modes and long (pax) paths", () => {
    const path = join(dir, "a.tar");
    write(path);
    const seen: (TarEntry & { content?: string })[] = [];
    readTar(path, (e, copyTo) => {
      const entry: TarEntry & { content?: string } = { ...e };
      if (e.type === "file") {
        const out = join(dir, "out");
        const fd = openSync(out, "w");
        copyTo(fd);
        closeSync(fd);
        entry.content = readFileSync(out).toString("latin1");
      }
      seen.push(entry);
    });
    expect(seen.map((e) => [e.path, e.type, e.mode.toString(8), e.size])).toEqual([
      ["pki", "dir", "700", 0],
      ["pki/ca.key", "file", "600", 6],
      [LONG, "file", "640", 1300],
    ]);
    expect(seen[1]!.content).toBe("secret");
    expect(seen[2]!.content).toBe("\x07".repeat(1300));
  });

  it("writes archives the system tar reads", () => {
    const path = join(dir, "b.tar");
    write(path);
    const r = spawnSync("tar", ["-tvf", path], { encoding: "utf8" });
    if (r.error) return; // no tar on this machine
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(LONG);
    expect(r.stdout).toContain("-rw-------");
  });

  it("refuses a truncated or foreign file", () => {
    const path = join(dir, "c.tar");
    write(path);
    const cut = join(dir, "cut.tar");
    writeFileSync(cut, readFileSync(path).subarray(0, 2048));
    expect(() => readTar(cut, () => {})).toThrow(TarFormatError);
    const junk = join(dir, "junk");
    writeFileSync(junk, Buffer.alloc(1024, 65));
    expect(() => readTar(junk, () => {})).toThrow("not a tar archive");
  });
});
