import { describe, expect, it } from "bun:test";
import { formatAddr, formatPrefix, isIPv4, isLinkLocalOrLoopback, parseAddr, parsePrefix } from "./ip.ts";

const fmt = (s: string) => formatAddr(parseAddr(s)!);

describe("addresses as Go's netip prints them", () => {
  it("prints IPv6 in RFC 5952 form", () => {
    expect(fmt("2001:0DB8:0000:0000:0000:0000:0000:0001")).toBe("2001:db8::1");
    expect(fmt("2001:db8:0:1:0:0:0:1")).toBe("2001:db8:0:1::1");
    expect(fmt("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(fmt("2001:db8:1:1:1:1:0:1")).toBe("2001:db8:1:1:1:1:0:1");
    expect(fmt("::")).toBe("::");
    expect(fmt("fe80::")).toBe("fe80::");
    expect(fmt("::ffff:10.0.0.1")).toBe("::ffff:10.0.0.1");
    expect(fmt("2001:db8::ffff:0")).toBe("2001:db8::ffff:0");
  });

  it("keeps host bits of a prefix", () => {
    expect(formatPrefix(parsePrefix("172.16.24.1/24")!)).toBe("172.16.24.1/24");
    expect(formatPrefix(parsePrefix("FD00:10::0015/64")!)).toBe("fd00:10::15/64");
  });

  it("rejects malformed input", () => {
    for (const bad of ["10.0.0", "10.0.0.256", "01.2.3.4", "1::2::3", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "g::1"]) expect(parseAddr(bad)).toBeUndefined();
    expect(parsePrefix("10.0.0.1/33")).toBeUndefined();
    expect(parsePrefix("10.0.0.1")).toBeUndefined();
  });

  it("classifies", () => {
    expect(isIPv4("10.0.0.1")).toBe(true);
    expect(isIPv4("fd00::1")).toBe(false);
    expect(isLinkLocalOrLoopback("fe80::be24:11ff:fe00:1")).toBe(true);
    expect(isLinkLocalOrLoopback("169.254.3.4")).toBe(true);
    expect(isLinkLocalOrLoopback("::1")).toBe(true);
    expect(isLinkLocalOrLoopback("10.10.0.21")).toBe(false);
  });
});
