import { describe, expect, test } from "bun:test";
import { ApiError } from "../api-errors.ts";
import {
  everythingSelector,
  labelSelectorFromObject,
  labelSelectorFromSet,
  type LabelOperator,
  type LabelSelectorObject,
  newLabelRequirement,
  nothingSelector,
  parseLabelSelector,
} from "./index.ts";

function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    const err = e as ApiError;
    expect(err.code).toBe(400);
    expect(err.reason).toBe("BadRequest");
    return err;
  }
  throw new Error("expected an error");
}

const NAME_RE = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const NAME_MSG = `must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${NAME_RE}')`;
const VALUE_MSG = `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(${NAME_RE})?')`;
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const BINARY_OPS = "in, notin, =, ==, !=, gt, lt";

describe("parseLabelSelector: accepted input and canonical form", () => {
  const cases: [input: string, canonical: string][] = [
    ["", ""],
    ["   ", ""],
    ["x=a,y=b,z=c", "x=a,y=b,z=c"],
    ["x!=a,y=b", "x!=a,y=b"],
    ["x=", "x="],
    ["x= ", "x="],
    ["x=,z= ", "x=,z="],
    ["x= ,z= ", "x=,z="],
    ["!x", "!x"],
    ["x>1", "x>1"],
    ["x>1,z<5", "x>1,z<5"],
    ["x==a", "x==a"],
    ["\rx", "x"],
    ["a ", "a"],
    [" x = a , y != b ", "x=a,y!=b"],
    ["z in (c,b,a),a", "a,z in (a,b,c)"],
    ["x in (a,a,b)", "x in (a,b)"],
    ["this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"],
    ["this-is-another-dns.domain.com/key-with-dash in (so,what)", "this-is-another-dns.domain.com/key-with-dash in (so,what)"],
    ["0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)", "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)"],
    ["foo  in\t (abc)", "foo in (abc)"],
    ["x notin\n (abc)", "x notin (abc)"],
    ["x  notin\t\t\t(abc,def)", "x notin (abc,def)"],
    ["x in (abc,)", "x in (,abc)"],
    ["x in ()", "x in ()"],
    ["x notin ( )", "x notin ()"],
    ["x notin (, a)", "x notin (,a)"],
    ["x notin (abc,,def),bar,z in (),w", "bar,w,x notin (,abc,def),z in ()"],
    ["x,y in (a)", "x,y in (a)"],
    ["x=a,y!=b,z in (h,i,j)", "x=a,y!=b,z in (h,i,j)"],
    ["a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"],
    ["notin=in", "notin=in"],
    ["in", "in"],
    ["!in,notin", "!in,notin"],
    ["example.com/a-b_c.d=V_1.0", "example.com/a-b_c.d=V_1.0"],
    ["a=b \u0000garbage((", "a=b"], // a NUL where a token starts reads as end of input
    ["a=b\u0000,c", "a=b,c"], // a NUL inside a word ends the word and is dropped
    ["b=1,a=2,b!=3", "a=2,b=1,b!=3"], // stable sort by key
    [`k=${"v".repeat(63)}`, `k=${"v".repeat(63)}`],
    [`${"p".repeat(253)}/${"n".repeat(63)}`, `${"p".repeat(253)}/${"n".repeat(63)}`],
  ];
  for (const [input, canonical] of cases) {
    test(JSON.stringify(input), () => {
      const sel = parseLabelSelector(input);
      expect(sel.toString()).toBe(canonical);
      expect(sel.empty).toBe(canonical === "");
      // the canonical form parses back to itself
      expect(parseLabelSelector(canonical).toString()).toBe(canonical);
    });
  }

  test("requirements carry key, operator and sorted unique values", () => {
    const sel = parseLabelSelector("z in (c,b,a,b), !d, e, f==1, g!=, h>5, i<0");
    expect(sel.requirements).toEqual([
      { key: "d", operator: "!", values: [] },
      { key: "e", operator: "exists", values: [] },
      { key: "f", operator: "==", values: ["1"] },
      { key: "g", operator: "!=", values: [""] },
      { key: "h", operator: "gt", values: ["5"] },
      { key: "i", operator: "lt", values: ["0"] },
      { key: "z", operator: "in", values: ["a", "b", "c"] },
    ]);
  });
});

describe("parseLabelSelector: errors use upstream wording", () => {
  const cases: [input: string, message: string][] = [
    ["x=a||y=b", `unable to parse requirement: values[0][x]: Invalid value: "a||y": ${VALUE_MSG}`],
    ["x==a==b", "found '==', expected: ',' or 'end of string'"],
    ["!x=a", "found '=', expected: ',' or 'end of string'"],
    ["x<a", `unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer`],
    ["x>-1", `unable to parse requirement: values[0][x]: Invalid value: "-1": ${VALUE_MSG}`],
    [
      "x>b-",
      `unable to parse requirement: [values[0]: Invalid value: "b-": for 'Gt', 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: "b-": ${VALUE_MSG}]`,
    ],
    ["x,,y", "found ',', expected: identifier after ','"],
    [",x,y", "found ',', expected: !, identifier, or 'end of string'"],
    ["x nott in (y)", `unable to parse requirement: found 'nott', expected: ${BINARY_OPS}`],
    ["a in (xyz),", "found '', expected: identifier after ','"],
    ["a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'"],
    ["a in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'"],
    ["a in (x,=)", "unable to parse requirement: found '=', expected: ',', or identifier"],
    ["a notin(", "unable to parse requirement: found '', expected: ',', ')' or identifier"],
    ["a in b", "unable to parse requirement: found 'b' expected: '('"],
    ["a (", `unable to parse requirement: found '(', expected: ${BINARY_OPS}`],
    ["a=(", "unable to parse requirement: found '(', expected: identifier"],
    ["(", "found '(', expected: !, identifier, or 'end of string'"],
    ["!", "unable to parse requirement: found '', expected: identifier"],
    ["!=a", "found '!=', expected: !, identifier, or 'end of string'"],
    ["a=b c", "found 'c', expected: ',' or 'end of string'"],
    ["-a", `unable to parse requirement: <nil>: Invalid value: "-a": name part ${NAME_MSG}`],
    [
      "a/b/c",
      `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name ${NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
    ["/a", `unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty`],
    ["a/", `unable to parse requirement: <nil>: Invalid value: "a/": name part must be non-empty; name part ${NAME_MSG}`],
    ["Example.com/a", `unable to parse requirement: <nil>: Invalid value: "Example.com/a": prefix part ${SUBDOMAIN_MSG}`],
    [
      `${"p".repeat(254)}/a`,
      `unable to parse requirement: <nil>: Invalid value: "${"p".repeat(254)}/a": prefix part must be no more than 253 characters`,
    ],
    [`${"n".repeat(64)}`, `unable to parse requirement: <nil>: Invalid value: "${"n".repeat(64)}": name part must be no more than 63 characters`],
    [`a=${"v".repeat(64)}`, `unable to parse requirement: values[0][a]: Invalid value: "${"v".repeat(64)}": must be no more than 63 characters`],
    ["a in (ok,-bad)", `unable to parse requirement: values[0][a]: Invalid value: "-bad": ${VALUE_MSG}`],
    ["a=ü", `unable to parse requirement: values[0][a]: Invalid value: "ü": ${VALUE_MSG}`],
    ["a=b,\u0000", "found '', expected: identifier after ','"],
    ["a=b\u0001", `unable to parse requirement: values[0][a]: Invalid value: "b\\x01": ${VALUE_MSG}`],
    ['a=b"\\', `unable to parse requirement: values[0][a]: Invalid value: "b\\"\\\\": ${VALUE_MSG}`],
    [
      `${"n".repeat(64)}-`,
      `unable to parse requirement: <nil>: Invalid value: "${"n".repeat(64)}-": name part must be no more than 63 characters; name part ${NAME_MSG}`,
    ],
    [`a=${"v".repeat(64)}-`, `unable to parse requirement: values[0][a]: Invalid value: "${"v".repeat(64)}-": must be no more than 63 characters; ${VALUE_MSG}`],
  ];
  for (const [input, message] of cases) {
    test(JSON.stringify(input), () => {
      expect(errorOf(() => parseLabelSelector(input)).message).toBe(message);
    });
  }
});

describe("LabelSelector.matches", () => {
  const cases: [selector: string, labels: Record<string, string> | undefined, match: boolean][] = [
    ["", { x: "y" }, true],
    ["", undefined, true],
    ["x=y", { x: "y" }, true],
    ["x==y", { x: "y" }, true],
    ["x=y,z=w", { x: "y", z: "w" }, true],
    ["x!=y,z!=w", { x: "z", z: "a" }, true],
    ["notin=in", { notin: "in" }, true],
    ["x", { x: "z" }, true],
    ["x", { x: "" }, true],
    ["!x", { y: "z" }, true],
    ["x>1", { x: "2" }, true],
    ["x<1", { x: "0" }, true],
    ["x=z", {}, false],
    ["x=y", { x: "z" }, false],
    ["x=y,z=w", { x: "w", z: "w" }, false],
    ["x!=y,z!=w", { x: "z", z: "w" }, false],
    ["x", { y: "z" }, false],
    ["!x", { x: "z" }, false],
    ["x>1", { x: "0" }, false],
    ["x<1", { x: "2" }, false],
    ["foo=bar,baz=blah", { foo: "bar", baz: "blah" }, true],
    ["foo=bar,foobar=bar,baz=blah", { foo: "bar", baz: "blah" }, false],
    ["x in (foo),y notin (alpha)", { x: "foo", y: "baz" }, true],
    ["x in (foo),y in (alpha)", { x: "foo", y: "baz" }, false],
    ["x notin (),y", { y: "" }, true],
    ["!x,y", { y: "" }, true],
    ["x notin (),!y", { y: "" }, false],
    ["x in ()", { y: "baz" }, false],
    ["x in ()", { x: "" }, true],
    ["x=", { x: "" }, true],
    ["x=", {}, false],
    ["x!=", {}, true],
    ["x!=a", {}, true],
    ["x notin (a)", {}, true],
    ["z>1", { z: "v2" }, false],
    ["z>1", {}, false],
    ["z>1", { z: "+2" }, true],
    ["z<10", { z: "09" }, true],
    ["z<9223372036854775807", { z: "9223372036854775806" }, true],
    ["z<9223372036854775807", { z: "9223372036854775808" }, false], // not an int64
    ["constructor", {}, false], // only own keys count
    ["!toString", {}, true],
    ["tier in (a,b),app!=x", { tier: "b", app: "y" }, true],
    ["tier in (a,b),app!=x", { tier: "b", app: "x" }, false],
  ];
  for (const [selector, labels, match] of cases) {
    test(`${JSON.stringify(selector)} on ${JSON.stringify(labels)} → ${match}`, () => {
      expect(parseLabelSelector(selector).matches(labels)).toBe(match);
    });
  }
});

describe("requiresExactMatch", () => {
  const cases: [selector: string, key: string, want: string | undefined][] = [
    ["a=b", "a", "b"],
    ["a==b", "a", "b"],
    ["a in (b)", "a", "b"],
    ["a in (b,c)", "a", undefined],
    ["a!=b", "a", undefined],
    ["a notin (b)", "a", undefined],
    ["a", "a", undefined],
    ["x=1,a=b", "a", "b"],
    ["x=1", "a", undefined],
  ];
  for (const [selector, key, want] of cases) {
    test(`${selector} / ${key}`, () => expect(parseLabelSelector(selector).requiresExactMatch(key)).toBe(want));
  }
});

describe("labelSelectorFromObject", () => {
  test("nil matches nothing; empty object matches everything", () => {
    for (const nil of [undefined, null]) {
      const sel = labelSelectorFromObject(nil);
      expect(sel.matches({ a: "b" })).toBe(false);
      expect(sel.matches(undefined)).toBe(false);
      expect(sel.empty).toBe(false);
      expect(sel.matchesNothing).toBe(true);
      expect(sel.toString()).toBe("");
      expect(sel.requiresExactMatch("a")).toBeUndefined();
    }
    for (const all of [{}, { matchLabels: {} }, { matchExpressions: [] }, { matchLabels: null, matchExpressions: null }]) {
      const sel = labelSelectorFromObject(all);
      expect(sel.matches({ a: "b" })).toBe(true);
      expect(sel.matches(undefined)).toBe(true);
      expect(sel.empty).toBe(true);
    }
    expect(nothingSelector.matches({})).toBe(false);
    expect(everythingSelector.matches({})).toBe(true);
  });

  const cases: [sel: LabelSelectorObject, canonical: string, yes: Record<string, string>[], no: Record<string, string>[]][] = [
    [{ matchLabels: { b: "2", a: "1" } }, "a=1,b=2", [{ a: "1", b: "2", c: "3" }], [{ a: "1" }, { a: "1", b: "3" }]],
    [{ matchLabels: { a: "" } }, "a=", [{ a: "" }], [{}, { a: "x" }]],
    [
      { matchExpressions: [{ key: "env", operator: "In", values: ["prod", "dev"] }] },
      "env in (dev,prod)",
      [{ env: "dev" }, { env: "prod" }],
      [{ env: "qa" }, {}],
    ],
    [{ matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, "env notin (prod)", [{}, { env: "dev" }], [{ env: "prod" }]],
    [{ matchExpressions: [{ key: "env", operator: "Exists" }] }, "env", [{ env: "" }], [{}]],
    [{ matchExpressions: [{ key: "env", operator: "DoesNotExist", values: [] }] }, "!env", [{}], [{ env: "x" }]],
    [
      {
        matchLabels: { "cluster.x-k8s.io/cluster-name": "c1" },
        matchExpressions: [
          { key: "cluster.x-k8s.io/deployment-name", operator: "In", values: ["md1"] },
          { key: "a", operator: "Exists" },
        ],
      },
      "a,cluster.x-k8s.io/cluster-name=c1,cluster.x-k8s.io/deployment-name in (md1)",
      [{ a: "", "cluster.x-k8s.io/cluster-name": "c1", "cluster.x-k8s.io/deployment-name": "md1" }],
      [{ "cluster.x-k8s.io/cluster-name": "c1", "cluster.x-k8s.io/deployment-name": "md1" }],
    ],
  ];
  for (const [obj, canonical, yes, no] of cases) {
    test(canonical, () => {
      const sel = labelSelectorFromObject(obj);
      expect(sel.toString()).toBe(canonical);
      expect(sel.empty).toBe(false);
      for (const l of yes) expect(sel.matches(l)).toBe(true);
      for (const l of no) expect(sel.matches(l)).toBe(false);
      // the canonical string parses to a selector that agrees
      const reparsed = parseLabelSelector(canonical);
      for (const l of [...yes, ...no]) expect(reparsed.matches(l)).toBe(sel.matches(l));
    });
  }

  test("values keep their given order in requirements, sorted only in the string", () => {
    const sel = labelSelectorFromObject({ matchExpressions: [{ key: "k", operator: "In", values: ["y", "x", "y"] }] });
    expect(sel.requirements).toEqual([{ key: "k", operator: "in", values: ["y", "x", "y"] }]);
    expect(sel.toString()).toBe("k in (x,y,y)");
  });

  const errors: [sel: LabelSelectorObject, message: string][] = [
    [{ matchExpressions: [{ key: "k", operator: "Foo" }] }, `"Foo" is not a valid label selector operator`],
    [{ matchExpressions: [{ key: "k", operator: "in", values: ["a"] }] }, `"in" is not a valid label selector operator`],
    [
      { matchExpressions: [{ key: "k", operator: "In" }] },
      "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
    ],
    [
      { matchExpressions: [{ key: "k", operator: "NotIn", values: [] }] },
      "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
    ],
    [
      { matchExpressions: [{ key: "k", operator: "Exists", values: ["a", "b"] }] },
      `values: Invalid value: []string{"a", "b"}: values set must be empty for exists and does not exist`,
    ],
    [{ matchLabels: { "bad key": "v" } }, `key: Invalid value: "bad key": name part ${NAME_MSG}`],
    [{ matchLabels: { k: "a b" } }, `values[0][k]: Invalid value: "a b": ${VALUE_MSG}`],
    [
      { matchExpressions: [{ key: "-x", operator: "In" }] },
      `[key: Invalid value: "-x": name part ${NAME_MSG}, values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty]`,
    ],
  ];
  for (const [obj, message] of errors) {
    test(`error: ${message.slice(0, 60)}`, () => {
      expect(errorOf(() => labelSelectorFromObject(obj)).message).toBe(message);
    });
  }
});

describe("newLabelRequirement", () => {
  test("unsupported operator", () => {
    expect(errorOf(() => newLabelRequirement("x", "unsupportedOp" as LabelOperator, [])).message).toBe(
      `operator: Unsupported value: "unsupportedOp": supported values: "in", "notin", "=", "==", "!=", "gt", "lt", "exists", "!"`,
    );
  });

  const cases: [key: string, op: LabelOperator, values: string[] | null, message: string | null][] = [
    ["x1", "in", [], "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"],
    ["x3", "in", ["foo"], null],
    ["x5", "=", ["bar", "foo"], `values: Invalid value: []string{"bar", "foo"}: exact-match compatibility requires one single value`],
    ["x6", "exists", null, null],
    ["x7", "!", [], null],
    ["x8", "exists", ["foo"], `values: Invalid value: []string{"foo"}: values set must be empty for exists and does not exist`],
    ["x11", "gt", ["1"], null],
    ["x13", "gt", [], "values: Invalid value: []string{}: for 'Gt', 'Lt' operators, exactly one value is required"],
    ["x14", "gt", ["bar"], `values[0]: Invalid value: "bar": for 'Gt', 'Lt' operators, the value must be an integer`],
    ["x16", "=", ["a".repeat(254)], `values[0][x16]: Invalid value: "${"a".repeat(254)}": must be no more than 63 characters`],
    ["a".repeat(254), "exists", null, `key: Invalid value: "${"a".repeat(254)}": name part must be no more than 63 characters`],
  ];
  for (const [key, op, values, message] of cases) {
    test(`${key.slice(0, 10)} ${op} ${JSON.stringify(values)?.slice(0, 20)}`, () => {
      if (message === null) {
        expect(newLabelRequirement(key, op, values)).toEqual({ key, operator: op, values: values ?? [] });
      } else {
        expect(errorOf(() => newLabelRequirement(key, op, values)).message).toBe(message);
      }
    });
  }
});

describe("labelSelectorFromSet", () => {
  test("k=v per entry, sorted; nil and empty match everything", () => {
    const sel = labelSelectorFromSet({ tier: "a", app: "capx" });
    expect(sel.toString()).toBe("app=capx,tier=a");
    expect(sel.matches({ app: "capx", tier: "a", x: "y" })).toBe(true);
    expect(sel.matches({ app: "capx" })).toBe(false);
    expect(labelSelectorFromSet(undefined).empty).toBe(true);
    expect(labelSelectorFromSet({}).empty).toBe(true);
    expect(labelSelectorFromSet({}).matches({ a: "b" })).toBe(true);
  });
});
