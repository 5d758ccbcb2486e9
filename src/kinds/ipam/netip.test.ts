import { describe, expect, test } from "bun:test";
import { formatAddr, parseAddr, parsePrefix, prefixBounds } from "./netip.ts";

const ok = (s: string) => {
  const p = parseAddr(s);
  if (!p.ok) throw new Error(p.error);
  return p.value;
};
const err = (s: string) => {
  const p = parseAddr(s);
  if (p.ok) throw new Error(`${s} parsed`);
  return p.error;
};

describe("parseAddr (net/netip.ParseAddr)", () => {
  test("IPv4 and IPv6 forms, printed canonically", () => {
    expect(formatAddr(ok("10.0.0.1"))).toBe("10.0.0.1");
    expect(ok("10.0.0.1").value).toBe(0x0a000001n);
    expect(formatAddr(ok("FD00:0:0:0:0:0:0:1"))).toBe("fd00::1");
    expect(formatAddr(ok("::"))).toBe("::");
    expect(formatAddr(ok("2001:db8::1:0:0:1"))).toBe("2001:db8::1:0:0:1");
    expect(formatAddr(ok("2001:db8:0:0:1:0:0:1"))).toBe("2001:db8::1:0:0:1");
    expect(formatAddr(ok("1:0:2:3:4:5:6:7"))).toBe("1:0:2:3:4:5:6:7");
    expect(formatAddr(ok("::ffff:10.1.2.3"))).toBe("::ffff:10.1.2.3");
    expect(ok("::ffff:10.1.2.3").family).toBe(6);
    expect(formatAddr(ok("fe80::1%eth0"))).toBe("fe80::1");
  });

  test("netip's error messages", () => {
    expect(err("foo")).toBe('ParseAddr("foo"): unable to parse IP');
    expect(err("10.0.0")).toBe('ParseAddr("10.0.0"): IPv4 address too short');
    expect(err("10.0.0.1.2")).toBe('ParseAddr("10.0.0.1.2"): IPv4 address too long');
    expect(err("10.0.0.256")).toBe('ParseAddr("10.0.0.256"): IPv4 field has value >255');
    expect(err("10.0.0.010")).toBe('ParseAddr("10.0.0.010"): IPv4 field has octet with leading zero');
    expect(err("10..0.1")).toBe('ParseAddr("10..0.1"): IPv4 field must have at least one digit (at ".0.1")');
    expect(err("10.0.0.x")).toBe('ParseAddr("10.0.0.x"): unexpected character (at "x")');
    expect(err("%eth0")).toBe('ParseAddr("%eth0"): missing IPv6 address');
    expect(err("fe80::1%")).toBe('ParseAddr("fe80::1%"): zone must be a non-empty string');
    expect(err("1::2::3")).toBe('ParseAddr("1::2::3"): multiple :: in address (at ":3")');
    expect(err("12345::")).toBe('ParseAddr("12345::"): each group must have 4 or less digits (at "12345::")');
    expect(err("1:2:3")).toBe('ParseAddr("1:2:3"): address string too short');
    expect(err("1:2:3:4:5:6:7:8:9")).toBe('ParseAddr("1:2:3:4:5:6:7:8:9"): trailing garbage after address (at "9")');
    expect(err("1:2:3:4:5:6:7::8")).toBe('ParseAddr("1:2:3:4:5:6:7::8"): the :: must expand to at least one field of zeros');
    expect(err("1:2:3:4:5:6:7:8::")).toBe('ParseAddr("1:2:3:4:5:6:7:8::"): the :: must expand to at least one field of zeros');
    expect(err("1:2:3:4:1.2.3.4")).toBe('ParseAddr("1:2:3:4:1.2.3.4"): embedded IPv4 address must replace the final 2 fields of the address (at "1.2.3.4")');
    expect(err("fd00:")).toBe('ParseAddr("fd00:"): colon must be followed by more characters (at ":")');
    expect(err("fd00-1")).toBe('ParseAddr("fd00-1"): unable to parse IP');
  });
});

describe("parsePrefix (net/netip.ParsePrefix)", () => {
  test("bounds mask the host bits", () => {
    const p = parsePrefix("10.0.0.77/24");
    if (!p.ok) throw new Error(p.error);
    expect(p.value.bits).toBe(24);
    const b = prefixBounds(p.value);
    expect([formatAddr({ family: 4, value: b.from }), formatAddr({ family: 4, value: b.to })]).toEqual(["10.0.0.0", "10.0.0.255"]);
    const v6 = parsePrefix("fd00:10::/64");
    if (!v6.ok) throw new Error(v6.error);
    expect(formatAddr({ family: 6, value: prefixBounds(v6.value).to })).toBe("fd00:10::ffff:ffff:ffff:ffff");
    const zero = parsePrefix("0.0.0.0/0");
    expect(zero.ok && prefixBounds(zero.value).to).toBe(0xffffffffn);
  });

  test("errors", () => {
    const e = (s: string) => {
      const p = parsePrefix(s);
      return p.ok ? "parsed" : p.error;
    };
    expect(e("10.0.0.0")).toBe(`netip.ParsePrefix("10.0.0.0"): no '/'`);
    expect(e("10.0.0.0/33")).toBe('netip.ParsePrefix("10.0.0.0/33"): prefix length out of range');
    expect(e("10.0.0.0/024")).toBe('netip.ParsePrefix("10.0.0.0/024"): bad bits after slash: "024"');
    expect(e("10.0.0.0/+4")).toBe('netip.ParsePrefix("10.0.0.0/+4"): bad bits after slash: "+4"');
    expect(e("fe80::%eth0/64")).toBe('netip.ParsePrefix("fe80::%eth0/64"): IPv6 zones cannot be present in a prefix');
    expect(e("10.0.0/24")).toBe('netip.ParsePrefix("10.0.0/24"): ParseAddr("10.0.0"): IPv4 address too short');
  });
});
