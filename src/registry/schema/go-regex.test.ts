import { describe, expect, it } from "bun:test";
import { compileGoRegex, GoRegexError, translateGoRegex } from "./go-regex.ts";

const matches = (pattern: string, s: string): boolean => compileGoRegex(pattern).test(s);

describe("compileGoRegex: flags", () => {
  it("turns a leading (?i) into the i flag", () => {
    expect(translateGoRegex("(?i)abc")).toEqual({ source: "abc", flags: "i" });
    expect(matches("(?i)abc", "xABCx")).toBe(true);
  });

  it("treats (?i) right after ^ (the CAPMOX tag pattern) as a global flag", () => {
    expect(translateGoRegex("^(?i)[a-z0-9_]+$")).toEqual({ source: "^[a-z0-9_]+$", flags: "i" });
    expect(matches("^(?i)[a-z0-9_]+$", "Tag_1")).toBe(true);
    expect(matches("^(?i)[a-z0-9_]+$", "tag-1")).toBe(false);
  });

  it("scopes a mid-pattern (?i) to the rest of its group, across alternatives", () => {
    expect(translateGoRegex("a(?i)b|c").source).toBe("a(?i:b)|(?i:c)");
    expect(matches("^(?:a(?i)b|c)$", "aB")).toBe(true);
    expect(matches("^(?:a(?i)b|c)$", "C")).toBe(true);
    expect(matches("^(?:a(?i)b|c)$", "AB")).toBe(false);
    expect(matches("^(x(?i)y)z$", "xYz")).toBe(true);
    expect(matches("^(x(?i)y)z$", "xYZ")).toBe(false);
  });

  it("supports (?i:...) groups and turning flags off", () => {
    expect(matches("^(?i:a)b$", "Ab")).toBe(true);
    expect(matches("^(?i:a)b$", "AB")).toBe(false);
    expect(matches("^(?i)a(?-i)b$", "Ab")).toBe(true);
    expect(matches("^(?i)a(?-i)b$", "AB")).toBe(false);
  });

  it("emulates s, m and U", () => {
    expect(matches("a.b", "a\nb")).toBe(false);
    expect(matches("(?s)a.b", "a\nb")).toBe(true);
    expect(matches("^b$", "a\nb\nc")).toBe(false);
    expect(matches("(?m)^b$", "a\nb\nc")).toBe(true);
    expect(translateGoRegex("(?U)a+b*?").source).toBe("a+?b*");
  });
});

describe("compileGoRegex: syntax", () => {
  it("translates \\A and \\z", () => {
    expect(matches("\\Aabc\\z", "abc")).toBe(true);
    expect(matches("\\Aabc\\z", "abc\n")).toBe(false);
  });

  it("translates POSIX classes, negated ones included", () => {
    expect(matches("^[[:alpha:]]+$", "abcXYZ")).toBe(true);
    expect(matches("^[[:alpha:]]+$", "ab1")).toBe(false);
    expect(matches("^[[:^digit:]]+$", "abc")).toBe(true);
    expect(matches("^[[:^digit:]]+$", "a1")).toBe(false);
    expect(matches("^[[:xdigit:][:space:]]+$", "0f A")).toBe(true);
  });

  it("treats \\Q...\\E as literal text", () => {
    expect(matches("^\\Qa.b*\\E$", "a.b*")).toBe(true);
    expect(matches("^\\Qa.b*\\E$", "axbb")).toBe(false);
    expect(matches("^\\Qa.b", "a.b")).toBe(true);
  });

  it("uses Go's meaning of . and \\s", () => {
    expect(matches("^a.b$", "a\rb")).toBe(true);
    expect(matches("^\\s$", "\v")).toBe(false);
    expect(matches("^\\s$", "\t")).toBe(true);
    expect(matches("^\\S$", "\u00a0")).toBe(true);
  });

  it("translates Unicode classes and escapes", () => {
    expect(matches("^\\pL+$", "héllo")).toBe(true);
    expect(matches("^\\p{Greek}$", "α")).toBe(true);
    expect(matches("^\\P{Greek}$", "α")).toBe(false);
    expect(matches("^\\x{41}\\x42\\101$", "ABA")).toBe(true);
    expect(matches("^\\a$", "\x07")).toBe(true);
  });

  it("accepts escaped punctuation and literal braces that JS rejects under the u flag", () => {
    expect(matches("^\\-\\:\\#$", "-:#")).toBe(true);
    expect(matches("^a{,2}$", "a{,2}")).toBe(true);
    expect(matches("^a}$", "a}")).toBe(true);
    expect(matches("^[]a]+$", "]a]")).toBe(true);
    expect(matches("^[^]a]$", "]")).toBe(false);
  });

  it("maps named groups to JS syntax", () => {
    expect(translateGoRegex("(?P<name>x)").source).toBe("(?<name>x)");
    expect(compileGoRegex("(?P<first>a)(?<second>b)").exec("ab")?.groups).toEqual({ first: "a", second: "b" });
  });

  it("matches anywhere in the input, like Go's MatchString", () => {
    expect(matches("b", "abc")).toBe(true);
  });

  it("compiles the patterns of the CAPI and CAPMOX CRDs", () => {
    const dns = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    expect(matches(dns, "my-cluster.example")).toBe(true);
    expect(matches(dns, "My-Cluster")).toBe(false);
    expect(matches("^(Linux|LinuxSwap|[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})$", "0FC63DAF-8483-4772-8E79-3D69D8477DE4")).toBe(true);
  });
});

describe("compileGoRegex: errors and caching", () => {
  const error = (pattern: string): string => {
    try {
      compileGoRegex(pattern);
    } catch (e) {
      expect(e).toBeInstanceOf(GoRegexError);
      return (e as Error).message;
    }
    throw new Error(`expected ${pattern} to be rejected`);
  };

  it("rejects what RE2 rejects, with Go's messages", () => {
    expect(error("a[b")).toBe("error parsing regexp: missing closing ]: `[b`");
    expect(error("(ab")).toBe("error parsing regexp: missing closing ): `(ab`");
    expect(error("ab)")).toBe("error parsing regexp: unexpected ): `ab)`");
    expect(error("*a")).toBe("error parsing regexp: missing argument to repetition operator: `*`");
    expect(error("a**")).toBe("error parsing regexp: invalid nested repetition operator: `**`");
    expect(error("a{1001}")).toBe("error parsing regexp: invalid repeat count: `{1001}`");
    expect(error("x{2,1}")).toBe("error parsing regexp: invalid repeat count: `{2,1}`");
    expect(error("[z-a]")).toBe("error parsing regexp: invalid character class range: `z-a`");
    expect(error("[[:nope:]]")).toBe("error parsing regexp: invalid character class range: `[:nope:]`");
    expect(error("\\p{Nope}")).toBe("error parsing regexp: invalid character class range: `\\p{Nope}`");
    expect(error("a\\")).toBe("error parsing regexp: trailing backslash at end of expression: ``");
    expect(error("(?P<>x)")).toBe("error parsing regexp: invalid named capture: `(?P<>`");
  });

  it("rejects look-arounds, back references and unknown escapes", () => {
    expect(error("(?=x)")).toBe("error parsing regexp: invalid or unsupported Perl syntax: `(?=`");
    expect(error("(?!x)")).toBe("error parsing regexp: invalid or unsupported Perl syntax: `(?!`");
    expect(error("(?x)a")).toBe("error parsing regexp: invalid or unsupported Perl syntax: `(?x`");
    expect(error("(a)\\1")).toBe("error parsing regexp: invalid escape sequence: `\\1`");
    expect(error("\\Z")).toBe("error parsing regexp: invalid escape sequence: `\\Z`");
  });

  it("returns the same RegExp for the same pattern", () => {
    expect(compileGoRegex("^cached$")).toBe(compileGoRegex("^cached$"));
  });

  it("compiles with the u flag", () => {
    expect(compileGoRegex("^.$").flags).toContain("u");
    expect(matches("^.$", "😀")).toBe(true);
  });
});
