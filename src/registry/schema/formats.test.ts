import { describe, expect, it } from "bun:test";
import {
  checkFormat,
  formatIP,
  isDate,
  isDateTime,
  isDuration,
  isHostname,
  isSupportedFormat,
  parseCIDR,
  parseGoDuration,
  parseIP,
} from "./formats.ts";

describe("isSupportedFormat", () => {
  it("knows the formats apiextensions keeps, with or without dashes", () => {
    expect(isSupportedFormat("date-time")).toBe(true);
    expect(isSupportedFormat("uuid")).toBe(true);
    expect(isSupportedFormat("byte")).toBe(true);
  });

  it("ignores the formats kube-apiserver strips (int32, int64, double, custom)", () => {
    expect(isSupportedFormat("int32")).toBe(false);
    expect(isSupportedFormat("int64")).toBe(false);
    expect(isSupportedFormat("double")).toBe(false);
    expect(isSupportedFormat("my-format")).toBe(false);
    expect(isSupportedFormat(undefined)).toBe(false);
    expect(checkFormat("int32", "abc")).toBeUndefined();
  });
});

describe("IP parsing", () => {
  it("parses IPv4 strictly or sloppily (leading zeros)", () => {
    expect(parseIP("10.0.0.1")).toEqual([10, 0, 0, 1]);
    expect(parseIP("10.0.0.01")).toBeNull();
    expect(parseIP("10.0.0.01", true)).toEqual([10, 0, 0, 1]);
    expect(parseIP("256.0.0.1")).toBeNull();
    expect(parseIP("1.2.3")).toBeNull();
  });

  it("parses IPv6 with compression and an embedded IPv4 tail", () => {
    expect(parseIP("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIP("2001:db8::ff00:42:8329")?.length).toBe(16);
    expect(parseIP("::ffff:1.2.3.4")?.slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
    expect(parseIP("1:2:3:4:5:6:7:8")?.length).toBe(16);
    expect(parseIP("1::2::3")).toBeNull();
    expect(parseIP("1:2:3:4:5:6:7:8:9")).toBeNull();
    expect(parseIP("fe80::1%eth0")).toBeNull();
  });

  it("formats addresses canonically (RFC 5952)", () => {
    expect(formatIP(parseIP("2001:0db8:0000:0000:0000:0000:0000:0001")!)).toBe("2001:db8::1");
    expect(formatIP(parseIP("1:0:0:2:0:0:0:3")!)).toBe("1:0:0:2::3");
    expect(formatIP(parseIP("1:0:2:3:4:5:6:7")!)).toBe("1:0:2:3:4:5:6:7");
    expect(formatIP([192, 168, 0, 1])).toBe("192.168.0.1");
  });

  it("parses CIDRs and bounds the prefix length by the family", () => {
    expect(parseCIDR("10.0.0.0/8")).toEqual({ ip: [10, 0, 0, 0], bits: 8 });
    expect(parseCIDR("10.0.0.0/33")).toBeNull();
    expect(parseCIDR("fd00::/64")?.bits).toBe(64);
    expect(parseCIDR("10.0.0.0")).toBeNull();
    expect(parseCIDR("10.0.0.0/08")).toBeNull();
    expect(parseCIDR("10.0.0.0/08", true)?.bits).toBe(8);
  });
});

describe("dates and durations", () => {
  it("validates full dates including leap years", () => {
    expect(isDate("2024-02-29")).toBe(true);
    expect(isDate("2023-02-29")).toBe(false);
    expect(isDate("2024-13-01")).toBe(false);
    expect(isDate("24-01-01")).toBe(false);
  });

  it("validates RFC 3339 date-times as kube-openapi does", () => {
    expect(isDateTime("2024-01-02T03:04:05Z")).toBe(true);
    expect(isDateTime("2024-01-02t03:04:05.123+02:00")).toBe(true);
    expect(isDateTime("2024-01-02T24:00:00Z")).toBe(false);
    expect(isDateTime("2024-01-02T03:04:05")).toBe(false);
    expect(isDateTime("2024-01-02")).toBe(false);
  });

  it("parses Go durations and accepts scala-style ones", () => {
    expect(parseGoDuration("1h30m")).toBe(5400e9);
    expect(parseGoDuration("1.5s")).toBe(1.5e9);
    expect(parseGoDuration("-2ms")).toBe(-2e6);
    expect(parseGoDuration("0")).toBe(0);
    expect(parseGoDuration("5")).toBeNull();
    expect(isDuration("3 days")).toBe(true);
    expect(isDuration("soon")).toBe(false);
  });
});

describe("checkFormat", () => {
  const ok = (format: string, value: string): boolean | undefined => checkFormat(format, value);

  it("checks network formats", () => {
    expect(ok("ipv4", "192.168.1.1")).toBe(true);
    expect(ok("ipv4", "::1")).toBe(false);
    expect(ok("ipv6", "fd00::1")).toBe(true);
    expect(ok("ipv6", "10.0.0.1")).toBe(false);
    expect(ok("cidr", "10.0.0.0/24")).toBe(true);
    expect(ok("cidr", "10.0.0.0")).toBe(false);
    expect(ok("mac", "00:1a:2b:3c:4d:5e")).toBe(true);
    expect(ok("mac", "00:1a:2b")).toBe(false);
  });

  it("checks hostnames", () => {
    expect(isHostname("node-1.example.com")).toBe(true);
    expect(isHostname("localhost")).toBe(true);
    expect(isHostname("-bad.example.com")).toBe(false);
    expect(isHostname(`${"a".repeat(64)}.com`)).toBe(false);
  });

  it("checks identifiers and encodings", () => {
    expect(ok("uuid", "123e4567-E89B-12d3-a456-426614174000")).toBe(true);
    expect(ok("uuid", "not-a-uuid")).toBe(false);
    expect(ok("uuid4", "123e4567-e89b-42d3-a456-426614174000")).toBe(true);
    expect(ok("uuid4", "123e4567-e89b-12d3-a456-426614174000")).toBe(false);
    expect(ok("byte", "aGVsbG8=")).toBe(true);
    expect(ok("byte", "aGVsbG8")).toBe(false);
    expect(ok("bsonobjectid", "507f1f77bcf86cd799439011")).toBe(true);
  });

  it("checks dates, URIs and e-mail addresses", () => {
    expect(ok("date-time", "2024-01-02T03:04:05Z")).toBe(true);
    expect(ok("datetime", "yesterday")).toBe(false);
    expect(ok("date", "2024-01-02")).toBe(true);
    expect(ok("uri", "https://example.com/a?b=c")).toBe(true);
    expect(ok("uri", "/relative/path")).toBe(true);
    expect(ok("uri", "example.com")).toBe(false);
    expect(ok("email", "dev@example.com")).toBe(true);
    expect(ok("email", "Dev <dev@example.com>")).toBe(true);
    expect(ok("email", "nope")).toBe(false);
  });

  it("checks the remaining strfmt formats", () => {
    expect(ok("hexcolor", "#ff00AA")).toBe(true);
    expect(ok("rgbcolor", "rgb(255, 0, 10)")).toBe(true);
    expect(ok("ssn", "123-45-6789")).toBe(true);
    expect(ok("isbn10", "0321751043")).toBe(true);
    expect(ok("isbn13", "978-0321751041")).toBe(true);
    expect(ok("creditcard", "4111 1111 1111 1111")).toBe(true);
    expect(ok("creditcard", "4111 1111 1111 1112")).toBe(false);
    expect(ok("password", "anything")).toBe(true);
  });
});
