import { afterEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { testLab, type TestLab } from "./testing.ts";

let t: TestLab;
afterEach(async () => {
  await t?.close();
});

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

describe("cloudinit/dump: the data PVE generates", () => {
  test("user-data, NoCloud network-config v1 and meta-data, byte for byte", async () => {
    t = testLab();
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/9001/clone", { newid: 300, name: "node1" }));
    const keys = encodeURIComponent("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey capx@host\n");
    await t.ok("PUT", "/nodes/pve1/qemu/300/config", {
      net0: "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0",
      ipconfig0: "ip=10.0.0.21/24,gw=10.0.0.1",
      searchdomain: "example.com",
      nameserver: "10.0.0.1",
      ciuser: "capx",
      cipassword: "s3cret",
      sshkeys: keys,
    });
    const dump = (type: string) => t.ok<string>("GET", "/nodes/pve1/qemu/300/cloudinit/dump", { type });
    const user = await dump("user");
    expect(user).toBe(
      "#cloud-config\nhostname: node1\nmanage_etc_hosts: true\nfqdn: node1.example.com\nuser: capx\npassword: **********\nssh_authorized_keys:\n  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey capx@host\nchpasswd:\n  expire: False\nusers:\n  - default\npackage_upgrade: true\n",
    );
    const network = await dump("network");
    expect(network).toBe(
      "version: 1\nconfig:\n    - type: physical\n      name: eth0\n      mac_address: 'bc:24:11:aa:bb:cc'\n      subnets:\n      - type: static\n        address: '10.0.0.21'\n        netmask: '255.255.255.0'\n        gateway: '10.0.0.1'\n    - type: nameserver\n      address:\n      - '10.0.0.1'\n      search:\n      - 'example.com'\n",
    );
    // instance-id is sha1(user-data . network-config), over the unmasked user-data
    const realUser = user.replace("password: **********", "password: s3cret");
    expect(await dump("meta")).toBe(`instance-id: ${sha1(realUser + network)}\n`);
    // the password is masked in the config too
    expect((await t.ok<Record<string, string>>("GET", "/nodes/pve1/qemu/300/config")).cipassword).toBe("**********");
  });

  test("defaults: hostname from the name, the hosts' resolv.conf for DNS, root user, no upgrade, configdrive2", async () => {
    t = testLab();
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/9001/clone", { newid: 301, name: "host.sub.example.org" }));
    await t.ok("PUT", "/nodes/pve1/qemu/301/config", { ciuser: "root", ciupgrade: 0, ipconfig0: "ip=dhcp,ip6=auto", net0: "virtio=BC:24:11:00:00:01,bridge=vmbr0" });
    const dump = (type: string) => t.ok<string>("GET", "/nodes/pve1/qemu/301/cloudinit/dump", { type });
    expect(await dump("user")).toBe("#cloud-config\nhostname: host\nmanage_etc_hosts: true\nfqdn: host.sub.example.org\nuser: root\ndisable_root: False\nchpasswd:\n  expire: False\n");
    expect(await dump("network")).toBe(
      "version: 1\nconfig:\n    - type: physical\n      name: eth0\n      mac_address: 'bc:24:11:00:00:01'\n      subnets:\n      - type: dhcp4\n      - type: ipv6_slaac\n    - type: nameserver\n      address:\n      - '10.10.0.1'\n      search:\n      - 'lab.local'\n",
    );
    await t.ok("PUT", "/nodes/pve1/qemu/301/config", { citype: "configdrive2", ipconfig0: "ip=10.1.2.3/16,gw=10.1.0.1" });
    expect(await dump("network")).toBe("auto lo\niface lo inet loopback\n\n        dns_nameservers 10.10.0.1\n        dns_search lab.local\nauto eth0\niface eth0 inet static\n        address 10.1.2.3\n        netmask 255.255.0.0\n        gateway 10.1.0.1\n");
    expect(await dump("meta")).toMatch(/^\{\n {5}"uuid": "[0-9a-f]{40}",\n {5}"network_config": \{ "content_path": "\/content\/0000" \}\n\}\n$/);
  });
});
