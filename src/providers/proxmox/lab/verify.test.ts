import { describe, expect, test } from "bun:test";
import { LabPveError } from "./errors.ts";
import { verifyParams, type RawParams } from "./verify.ts";
import type { LabEndpoint } from "./schema/endpoints.ts";

function errorsOf(endpoint: LabEndpoint, params: RawParams): Record<string, string> | undefined {
  try {
    verifyParams(endpoint, params);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(LabPveError);
    expect((e as LabPveError).status).toBe(400);
    expect((e as LabPveError).message).toBe("Parameter verification failed.");
    return (e as LabPveError).errors;
  }
}

const CLONE = "POST /nodes/{node}/qemu/{vmid}/clone" as const;
const CONFIG = "PUT /nodes/{node}/qemu/{vmid}/config" as const;

describe("parameter verification", () => {
  test("types on the wire: booleans only 1/0, integers by regex; JS values are coerced first", () => {
    expect(verifyParams(CLONE, { node: "pve1", vmid: "9000", newid: 101, full: true, name: "a-b.c" })).toEqual({ node: "pve1", vmid: 9000, newid: 101, full: 1, name: "a-b.c" });
    expect(verifyParams(CLONE, { node: "pve1", vmid: 9000, newid: "101", full: "0" }).full).toBe(0);
    expect(errorsOf(CLONE, { node: "pve1", vmid: 9000, newid: 101, full: "true" })).toEqual({ full: "type check ('boolean') failed - got 'true'" });
    expect(errorsOf(CLONE, { node: "pve1", vmid: 9000, newid: "abc" })).toEqual({ newid: "type check ('integer') failed - got 'abc'" });
  });

  test("unknown, missing and malformed parameters are each named", () => {
    expect(errorsOf(CLONE, { node: "pve1", vmid: 9000, bogus: 1 })).toEqual({
      bogus: "property is not defined in schema and the schema does not allow additional properties",
      newid: "property is missing and it is not optional",
    });
    expect(errorsOf(CLONE, { node: "pve1", vmid: 9000, newid: 99 })).toEqual({ newid: "invalid format - value does not look like a valid VM ID\n" });
    expect(errorsOf(CLONE, { node: "pve1", vmid: 9000, newid: 101, name: "under_score" })).toEqual({ name: "invalid format - value does not look like a valid DNS name\n" });
    expect(errorsOf(CLONE, { node: "pve1", vmid: 9000, newid: 101, format: "vdi" })).toEqual({ format: "value 'vdi' does not have a value in the enumeration 'raw, qcow2, vmdk'" });
    expect(errorsOf(CLONE, { node: "pve1", vmid: 9000, newid: 101, bwlimit: -1 })).toEqual({ bwlimit: "value must have a minimum value of 0" });
  });

  test("indexed options and property strings", () => {
    expect(verifyParams(CONFIG, { node: "pve1", vmid: 101, net31: "virtio,bridge=vmbr0", ipconfig0: "ip=10.0.0.5/24,gw=10.0.0.1" })).toMatchObject({ net31: "virtio,bridge=vmbr0" });
    expect(errorsOf(CONFIG, { node: "pve1", vmid: 101, net32: "virtio,bridge=vmbr0" })).toEqual({ net32: "property is not defined in schema and the schema does not allow additional properties" });
    expect(errorsOf(CONFIG, { node: "pve1", vmid: 101, net0: "virtio,bridge=vmbr0,speed=fast" })).toEqual({ net0: "invalid format - invalid key in comma-separated list property: speed\n" });
    expect(errorsOf(CONFIG, { node: "pve1", vmid: 101, net0: "virtio=BC:24:11:00:00:0Z,bridge=vmbr0" })).toEqual({ net0: "invalid format - format error\nnet0.macaddr: invalid format - value does not look like a valid unicast MAC address\n" });
    expect(errorsOf(CONFIG, { node: "pve1", vmid: 101, ipconfig0: "ip=10.0.0.5" })).toEqual({ ipconfig0: "invalid format - format error\nipconfig0.ip: invalid format - value does not look like a valid ipv4 network configuration\n" });
    expect(errorsOf(CONFIG, { node: "pve1", vmid: 101, memory: "current=8" })).toEqual({ memory: "invalid format - format error\nmemory.current: value must have a minimum value of 16\n" });
    expect(verifyParams(CONFIG, { node: "pve1", vmid: 101, agent: "enabled=true,fstrim_cloned_disks=1" }).agent).toBe("enabled=true,fstrim_cloned_disks=1");
  });

  test("sshkeys must be strictly percent-encoded; tags and cicustom are checked", () => {
    const keys = encodeURIComponent("ssh-ed25519 AAAAC3Nza key@host\n");
    expect(verifyParams(CONFIG, { node: "pve1", vmid: 101, sshkeys: keys }).sshkeys).toBe(keys);
    expect(errorsOf(CONFIG, { node: "pve1", vmid: 101, sshkeys: "ssh-ed25519+AAAA" })).toEqual({ sshkeys: "invalid format - invalid urlencoded string: ssh-ed25519+AAAA\n" });
    expect(errorsOf(CONFIG, { node: "pve1", vmid: 101, tags: "ok;bad:tag" })).toEqual({ tags: "invalid format - invalid characters in tag\n" });
    expect(errorsOf(CONFIG, { node: "pve1", vmid: 101, cicustom: "user=nostorage" })).toEqual({ cicustom: "invalid format - format error\ncicustom.user: invalid format - unable to parse volume ID 'nostorage'\n" });
  });

  test("array parameters take repeated values", () => {
    expect(verifyParams("POST /nodes/{node}/qemu/{vmid}/agent/exec", { node: "pve1", vmid: 101, command: ["cloud-init", "status"] }).command).toEqual(["cloud-init", "status"]);
  });
});
