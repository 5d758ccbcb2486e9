import { describe, expect, test } from "bun:test";
import { readIso9660 } from "./iso9660.ts";
import { buildIso } from "./testing.ts";

const SECTOR = 2048;

const FILES = {
  "/user-data": "#cloud-config\nhostname: n1\n",
  "/meta-data": "instance-id: 0123\nlocal-hostname: n1\n",
  "/network-config": "version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: 'bc:24:11:aa:bb:cc'\n    addresses: [10.10.0.9/24]\n",
};

describe("reading a NoCloud ISO", () => {
  test("Joliet names", () => {
    expect(readIso9660(buildIso("cidata", FILES, "joliet"))).toEqual({ label: "cidata", files: FILES });
  });
  test("Rock Ridge NM names", () => {
    expect(readIso9660(buildIso("CIDATA", FILES, "rockridge"))).toEqual({ label: "CIDATA", files: FILES });
  });
  test("plain ISO 9660 names are lower-cased without the version", () => {
    const iso = readIso9660(buildIso("cidata", { "/user-data": "x" }, "plain"));
    expect(iso).toEqual({ label: "cidata", files: { "/user_dat": "x" } });
  });
  test("not an ISO", () => {
    expect(() => readIso9660(Buffer.alloc(40 * SECTOR))).toThrow("not an ISO 9660 image");
  });
});

