import { describe, expect, it } from "bun:test";
import { validateRules } from "./cel.ts";
import { celCompare, celEquals } from "./cel-library.ts";
import type { JSONSchemaProps } from "./types.ts";

const S: JSONSchemaProps = {
  type: "object",
  properties: {
    ints: { type: "array", items: { type: "integer" } },
    nums: { type: "array", items: { type: "number" } },
    strs: { type: "array", items: { type: "string" } },
    s: { type: "string" },
    n: { type: "integer" },
  },
};

/** Evaluates `rule` with `self` bound to `value` under S; returns the failure or error message. */
function run(rule: string, value: Record<string, unknown> = {}): string | true {
  const causes = validateRules(value, { ...S, "x-kubernetes-validations": [{ rule }] });
  return causes.length ? causes[0].message : true;
}

describe("lists library", () => {
  const v = { ints: [3, 1, 2], nums: [1.5, 0.5], strs: ["a", "b", "a"] };

  it("isSorted", () => {
    expect(run("[1, 2, 2].isSorted() && !self.ints.isSorted() && ['a', 'b'].isSorted()", v)).toBe(true);
  });

  it("sum, min and max", () => {
    expect(run("self.ints.sum() == 6 && self.nums.sum() == 2.0 && [].sum() == 0", v)).toBe(true);
    expect(run("self.ints.min() == 1 && self.ints.max() == 3 && self.strs.max() == 'b'", v)).toBe(true);
  });

  it("reports min of an empty list as a runtime error", () => {
    expect(run("self.ints.min() == 0", { ints: [] })).toBe(
      'Invalid value: "object": min called on empty list evaluating rule: self.ints.min() == 0',
    );
  });

  it("indexOf and lastIndexOf on lists, next to the string versions", () => {
    expect(run("self.strs.indexOf('a') == 0 && self.strs.lastIndexOf('a') == 2 && self.strs.indexOf('z') == -1", v)).toBe(true);
    expect(run("'banana'.indexOf('an') == 1 && 'banana'.lastIndexOf('an') == 3", v)).toBe(true);
  });
});

describe("regex library", () => {
  it("find and findAll use Go syntax", () => {
    expect(run("'abc 123 def 456'.find('[0-9]+') == '123'")).toBe(true);
    expect(run("'abc'.find('[0-9]+') == ''")).toBe(true);
    expect(run("'a1b22c333'.findAll('\\\\d+') == ['1', '22', '333']")).toBe(true);
    expect(run("'a1b22c333'.findAll('\\\\d+', 2) == ['1', '22']")).toBe(true);
    expect(run("'ABC'.find('(?i)b') == 'B'")).toBe(true);
  });

  it("matches with (?i) and reports bad patterns at runtime", () => {
    expect(run("self.s.matches('^(?i)[a-z]+$')", { s: "MiXeD" })).toBe(true);
    expect(run("self.s.matches(self.strs[0])", { s: "x", strs: ["["] })).toBe(
      "Invalid value: \"object\": error parsing regexp: missing closing ]: `[` evaluating rule: self.s.matches(self.strs[0])",
    );
  });
});

describe("optional library", () => {
  it("of, none, ofNonZeroValue, hasValue, value, orValue, or", () => {
    expect(run("optional.of(1).hasValue() && !optional.none().hasValue() && optional.of(2).value() == 2")).toBe(true);
    expect(run("optional.none().orValue(5) == 5 && optional.of(1).orValue(5) == 1")).toBe(true);
    expect(run("!optional.ofNonZeroValue('').hasValue() && optional.ofNonZeroValue('x').hasValue()")).toBe(true);
    expect(run("optional.none().or(optional.of(3)).value() == 3")).toBe(true);
  });

  it("fails when dereferencing none", () => {
    expect(run("optional.none().value() == 1")).toBe(
      'Invalid value: "object": optional.none() dereference evaluating rule: optional.none().value() == 1',
    );
  });
});

describe("sets library", () => {
  it("contains, equivalent and intersects", () => {
    expect(run("sets.contains([1, 2, 3], [3, 1]) && !sets.contains([1], [2])")).toBe(true);
    expect(run("sets.equivalent([1, 2, 2], [2, 1]) && !sets.equivalent([1], [1, 2])")).toBe(true);
    expect(run("sets.intersects([1, 2], [2, 3]) && !sets.intersects([1], [2])")).toBe(true);
  });
});

describe("URL library", () => {
  it("parses URLs and exposes their parts", () => {
    expect(run("isURL('https://example.com:8443/a/b?x=1&x=2') && !isURL('example.com')")).toBe(true);
    expect(run("url('https://user@example.com:8443/a/b?x=1').getScheme() == 'https'")).toBe(true);
    expect(run("url('https://example.com:8443/a').getHost() == 'example.com:8443'")).toBe(true);
    expect(run("url('https://[::1]:80/').getHostname() == '::1' && url('https://[::1]:80/').getPort() == '80'")).toBe(true);
    expect(run("url('https://example.com/a/b').getEscapedPath() == '/a/b'")).toBe(true);
    expect(run("url('https://example.com/?x=1&x=2&y=a+b').getQuery() == {'x': ['1', '2'], 'y': ['a b']}")).toBe(true);
  });
});

describe("IP and CIDR libraries", () => {
  it("parses IPs strictly", () => {
    expect(run("isIP('10.0.0.1') && isIP('fd00::1') && !isIP('10.0.0.01') && !isIP('::ffff:1.2.3.4') && !isIP('x')")).toBe(true);
    expect(run("ip('10.0.0.1').family() == 4 && ip('fd00::1').family() == 6")).toBe(true);
    expect(run("ip.isCanonical('2001:db8::1') && !ip.isCanonical('2001:DB8::1')")).toBe(true);
  });

  it("classifies addresses", () => {
    expect(run("ip('127.0.0.1').isLoopback() && ip('::1').isLoopback() && ip('0.0.0.0').isUnspecified()")).toBe(true);
    expect(run("ip('169.254.1.1').isLinkLocalUnicast() && ip('fe80::1').isLinkLocalUnicast()")).toBe(true);
    expect(run("ip('224.0.0.1').isLinkLocalMulticast() && ip('ff02::1').isLinkLocalMulticast()")).toBe(true);
    expect(run("ip('10.0.0.1').isGlobalUnicast() && !ip('255.255.255.255').isGlobalUnicast()")).toBe(true);
  });

  it("compares IPs by value", () => {
    expect(run("ip('2001:db8::1') == ip('2001:0db8:0:0::1') && ip('10.0.0.1') != ip('10.0.0.2')")).toBe(true);
  });

  it("works with CIDRs", () => {
    expect(run("isCIDR('10.0.0.0/8') && !isCIDR('10.0.0.0/33') && !isCIDR('10.0.0.0')")).toBe(true);
    expect(run("cidr('10.0.0.0/8').containsIP('10.1.2.3') && !cidr('10.0.0.0/8').containsIP(ip('11.0.0.1'))")).toBe(true);
    expect(run("cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16') && !cidr('10.1.0.0/16').containsCIDR(cidr('10.0.0.0/8'))")).toBe(true);
    expect(run("cidr('10.1.2.3/8').masked() == cidr('10.0.0.0/8') && cidr('10.1.2.3/8').ip() == ip('10.1.2.3')")).toBe(true);
    expect(run("cidr('fd00::/64').prefixLength() == 64")).toBe(true);
  });

  it("reports unparsable addresses as runtime errors", () => {
    expect(run("ip('nope').family() == 4")).toContain('IP Address "nope" parse error during conversion from string');
  });
});

describe("quantity library", () => {
  it("parses quantities and compares them exactly", () => {
    expect(run("isQuantity('1Gi') && isQuantity('500m') && isQuantity('1e3') && !isQuantity('1GB')")).toBe(true);
    expect(run("quantity('1Gi') == quantity('1024Mi') && quantity('1k') == quantity('1000')")).toBe(true);
    expect(run("quantity('500m').isLessThan(quantity('1')) && quantity('2Gi').isGreaterThan(quantity('2G'))")).toBe(true);
    expect(run("quantity('1').compareTo(quantity('1000m')) == 0")).toBe(true);
  });

  it("converts and computes", () => {
    expect(run("quantity('1Ki').asInteger() == 1024 && quantity('1.5').asApproximateFloat() == 1.5")).toBe(true);
    expect(run("quantity('1.5').isInteger() == false && quantity('-3').sign() == -1 && quantity('0').sign() == 0")).toBe(true);
    expect(run("quantity('1Gi').add(quantity('1Gi')) == quantity('2Gi') && quantity('1').sub(1) == quantity('0')")).toBe(true);
  });

  it("reports invalid quantities and non-integral conversions", () => {
    expect(run("quantity('x').sign() == 0")).toBe(
      "Invalid value: \"object\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' evaluating rule: quantity('x').sign() == 0",
    );
    expect(run("quantity('1.5').asInteger() == 1")).toContain("cannot convert value to integer");
  });
});

describe("format library", () => {
  it("validates named formats, returning an optional list of errors", () => {
    expect(run("!format.dns1123Label().validate('my-name').hasValue()")).toBe(true);
    expect(run("format.dns1123Label().validate('a.b').value() == ['must not contain dots']")).toBe(true);
    expect(run("format.named('dns1123Subdomain').value().validate('Bad').hasValue()")).toBe(true);
    expect(run("!format.named('nope').hasValue()")).toBe(true);
    expect(run("!format.dns1123LabelPrefix().validate('prefix-').hasValue() && format.dns1123Label().validate('prefix-').hasValue()")).toBe(true);
  });

  it("uses apimachinery's messages", () => {
    expect(run("format.dns1035Label().validate('1abc').value()[0].startsWith('a DNS-1035 label must consist of lower case alphanumeric')")).toBe(true);
    expect(run("format.qualifiedName().validate('a/b/c').value().size() == 1 && !format.qualifiedName().validate('example.com/MyName').hasValue()")).toBe(true);
    expect(run("format.labelValue().validate('-x').hasValue() && !format.labelValue().validate('').hasValue()")).toBe(true);
    expect(run("format.uuid().validate('x').value() == ['does not match the UUID format'] && format.byte().validate('!').value() == ['invalid base64']")).toBe(true);
  });
});

describe("strings extension", () => {
  it("provides the Kubernetes strings library (version 2)", () => {
    expect(run("'Hello'.lowerAscii() == 'hello' && 'Hello'.upperAscii() == 'HELLO'")).toBe(true);
    expect(run("'a,b'.split(',') == ['a', 'b'] && ['a', 'b'].join('-') == 'a-b'")).toBe(true);
    expect(run("' x '.trim() == 'x' && 'aXa'.replace('a', 'b') == 'bXb' && 'hello'.substring(1, 3) == 'el'")).toBe(true);
    expect(run("'hello'.charAt(1) == 'e' && 'abc'.startsWith('a') && 'abc'.endsWith('c') && 'abc'.contains('b')")).toBe(true);
    expect(run("'%s has %d items'.format(['list', 3]) == 'list has 3 items'")).toBe(true);
    expect(run("strings.quote('a\"b') == '\"a\\\\\"b\"'")).toBe(true);
  });
});

describe("celEquals and celCompare", () => {
  it("compare numbers across int and double", () => {
    expect(celEquals(1n, 1)).toBe(true);
    expect(celEquals(1n, 1.5)).toBe(false);
    expect(celCompare(2n, 1.5)).toBe(1);
  });

  it("refuse to order unrelated types", () => {
    expect(() => celCompare("a", 1n)).toThrow("no such overload");
  });
});
