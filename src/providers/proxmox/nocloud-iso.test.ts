import { describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SECTOR, buildIso9660, buildNoCloudIso, isoName, readIso9660, readNoCloudIso } from "./nocloud-iso.ts";

const files = {
  userData: "#cloud-config\nhostname: node1\nruncmd:\n  - echo hi\n",
  metaData: "instance-id: 1c0e2a4e-6f43-4b7e-9e0e-3b3f2a1d9c11\nlocal-hostname: node1\nprovider-id: proxmox://1c0e2a4e-6f43-4b7e-9e0e-3b3f2a1d9c11\n",
  networkConfig: "network:\n  version: 2\n  ethernets:\n    eth0:\n      match:\n        macaddress: 'bc:24:11:aa:bb:cc'\n      addresses: [10.10.0.21/24]\n",
  vendorData: "#cloud-config\npackages: [qemu-guest-agent]\n",
};
const date = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

/** A tool from the host, or undefined (the cross-checks are skipped with a printed reason). */
function tool(name: string): string | undefined {
  return Bun.which(name) ?? undefined;
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

describe("NoCloud ISO writer", () => {
  const image = buildNoCloudIso(files, { date });

  it("has a primary volume descriptor labelled cidata at sector 16, a Joliet SVD and a terminator", () => {
    expect(image.length % SECTOR).toBe(0);
    const pvd = image.subarray(16 * SECTOR, 17 * SECTOR);
    expect(pvd[0]).toBe(1);
    expect(new TextDecoder().decode(pvd.subarray(1, 6))).toBe("CD001");
    expect(new TextDecoder().decode(pvd.subarray(40, 72)).trimEnd()).toBe("cidata");
    // volume space size (both byte orders) covers the whole image
    const dv = new DataView(pvd.buffer, pvd.byteOffset);
    expect(dv.getUint32(80, true)).toBe(image.length / SECTOR);
    expect(dv.getUint32(84, false)).toBe(image.length / SECTOR);
    expect(dv.getUint16(128, true)).toBe(SECTOR);
    expect(image[17 * SECTOR]).toBe(2);
    expect(new TextDecoder().decode(image.subarray(17 * SECTOR + 88, 17 * SECTOR + 91))).toBe("%/E");
    expect(image[18 * SECTOR]).toBe(255);
  });

  it("reads back: label, Rock Ridge NM names, Joliet names, file extents and contents", () => {
    const iso = readIso9660(image);
    expect(iso.label).toBe("cidata");
    expect(iso.jolietLabel).toBe("cidata");
    expect(iso.rockRidge).toBe(true);
    expect(iso.primary.map((e) => e.isoName)).toEqual(["META_DATA.;1", "NETWORK_CONFIG.;1", "USER_DATA.;1", "VENDOR_DATA.;1"]);
    expect(iso.primary.map((e) => e.rockRidgeName)).toEqual(["meta-data", "network-config", "user-data", "vendor-data"]);
    expect(iso.joliet.map((e) => e.isoName)).toEqual(["meta-data", "network-config", "user-data", "vendor-data"]);
    // both trees point at the same extents, each sector-aligned inside the image and not overlapping
    const byName = new Map(iso.joliet.map((e) => [e.isoName, e]));
    const sorted = [...iso.primary].sort((a, b) => a.extent - b.extent);
    for (const [i, e] of sorted.entries()) {
      expect(byName.get(e.rockRidgeName!)!.extent).toBe(e.extent);
      expect((e.extent + Math.ceil(e.size / SECTOR)) * SECTOR).toBeLessThanOrEqual(image.length);
      if (i > 0) expect(e.extent).toBeGreaterThanOrEqual(sorted[i - 1]!.extent + Math.ceil(sorted[i - 1]!.size / SECTOR));
    }
    expect(readNoCloudIso(image)).toEqual(files);
  });

  it("omits vendor-data when none is given, and is byte-stable for a fixed date", () => {
    const { vendorData: _, ...three } = files;
    const a = buildNoCloudIso(three, { date });
    expect([...readIso9660(a).files.keys()].sort()).toEqual(["meta-data", "network-config", "user-data"]);
    expect(readNoCloudIso(a).vendorData).toBeUndefined();
    expect(Buffer.compare(a, buildNoCloudIso(three, { date }))).toBe(0);
  });

  it("spans several sectors for large files and keeps empty files", () => {
    const big = "x".repeat(5 * SECTOR + 17);
    const img = buildNoCloudIso({ userData: big, metaData: "", networkConfig: "version: 1\nconfig: []\n" }, { date });
    const back = readNoCloudIso(img);
    expect(back.userData).toBe(big);
    expect(back.metaData).toBe("");
  });

  it("maps names to ISO level 3 identifiers and refuses names that collide or are not plain", () => {
    expect(isoName("user-data")).toBe("USER_DATA.;1");
    expect(isoName("user-data-101.iso")).toBe("USER_DATA_101.ISO;1");
    expect(() => buildIso9660([{ name: "a-b", data: new Uint8Array() }, { name: "a_b", data: new Uint8Array() }])).toThrow("collide");
    expect(() => buildIso9660([{ name: "dir/x", data: new Uint8Array() }])).toThrow("not a plain file name");
  });

  it("rejects what is not an ISO or not a cidata volume", () => {
    expect(() => readIso9660(new Uint8Array(40 * SECTOR))).toThrow("not an ISO 9660 image");
    const other = buildIso9660([{ name: "user-data", data: new Uint8Array([1]) }], { label: "config-2", date });
    expect(() => readNoCloudIso(other)).toThrow("not 'cidata'");
  });

  describe("cross-checks with host tools", () => {
    const dir = mkdtempSync(join(tmpdir(), "capx-iso-"));
    const path = join(dir, "user-data-101.iso");
    writeFileSync(path, image);
    const done = () => rmSync(dir, { recursive: true, force: true });

    it("xorriso lists the Rock Ridge names and extracts the same bytes", async () => {
      const x = tool("xorriso");
      if (!x) return void console.log("skip: xorriso not installed (apt-get install xorriso to cross-check)");
      const ls = await run([x, "-indev", path, "-ls", "/"]);
      expect(ls.code).toBe(0);
      expect(ls.out.split("\n").map((l) => l.replace(/^'|'$/g, "")).filter((l) => l && !l.startsWith("Valid"))).toEqual(["meta-data", "network-config", "user-data", "vendor-data"]);
      expect(ls.err).toContain("Volume id    : 'cidata'");
      const out = join(dir, "out");
      const ex = await run([x, "-osirrox", "on", "-indev", path, "-extract", "/", out]);
      expect(ex.code).toBe(0);
      expect(await Bun.file(join(out, "network-config")).text()).toBe(files.networkConfig);
      expect(await Bun.file(join(out, "user-data")).text()).toBe(files.userData);
      // the Joliet tree alone gives the same names
      const j = await run([x, "-read_fs", "norock", "-indev", path, "-ls", "/"]);
      expect(j.out.split("\n").filter((l) => l.startsWith("'"))).toEqual(["'meta-data'", "'network-config'", "'user-data'", "'vendor-data'"]);
      // and the plain ISO 9660 tree has the level-3 names
      const e = await run([x, "-read_fs", "ecma119", "-indev", path, "-ls", "/"]);
      expect(e.out).toContain("'USER_DATA'");
    });

    it("isoinfo shows the label and the Rock Ridge and Joliet names", async () => {
      const x = tool("isoinfo");
      if (!x) return void console.log("skip: isoinfo not installed");
      const d = await run([x, "-d", "-i", path]);
      expect(d.out).toContain("Volume id: cidata");
      expect((await run([x, "-R", "-f", "-i", path])).out).toContain("/user-data");
      expect((await run([x, "-J", "-f", "-i", path])).out).toContain("/network-config");
    });

    it("7z lists the files", async () => {
      const x = tool("7z") ?? tool("7za") ?? tool("7zz");
      if (!x) return void console.log("skip: 7z not installed");
      const l = await run([x, "l", path]);
      expect(l.out).toContain("user-data");
      expect(l.out).toContain("meta-data");
    });

    it("blkid and file identify an iso9660 filesystem labelled cidata", async () => {
      const b = tool("blkid");
      if (b) {
        const r = await run([b, "-p", "-o", "export", path]);
        expect(r.out).toContain("TYPE=iso9660");
        expect(r.out).toContain("LABEL=cidata");
      } else console.log("skip: blkid not installed");
      const f = tool("file");
      if (f) expect((await run([f, "-b", path])).out).toContain("ISO 9660 CD-ROM filesystem data 'cidata'");
      else console.log("skip: file not installed");
      done();
    });
  });
});
