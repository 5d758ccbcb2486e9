/** Tests of the shared pieces: semver, int-or-percent, label keys, name templates, the index. */
import { describe, expect, test } from "bun:test";
import { capiWebhooks } from "./index.ts";
import { generateNameFromTemplate, machineSetMachineName } from "./name-template.ts";
import { intOrPercentError, isSemver, labelKeyErrors, labelValueErrors } from "./validation.ts";

describe("blang/semver Parse", () => {
  test.each([
    ["1.2.3", true],
    ["0.0.0", true],
    ["1.31.0-rc.1", true],
    ["1.31.0-alpha.0.123+abc.def", true],
    ["1.31.0+build-1", true],
    ["1.2", false],
    ["1.2.3.4", false],
    ["01.2.3", false],
    ["1.02.3", false],
    ["1.2.03", false],
    ["1.2.3-01", false],
    ["1.2.3-", false],
    ["1.2.3-a..b", false],
    ["1.2.3+", false],
    ["1.2.3+a_b", false],
    ["v1.2.3", false],
    ["", false],
    ["1.2.18446744073709551616", false],
  ] as const)("%s → %p", (s, ok) => expect(isSemver(s)).toBe(ok));
});

describe("intstr.GetScaledValueFromIntOrPercent errors", () => {
  test.each([
    [1, undefined],
    ["10%", undefined],
    ["-5%", undefined],
    ["+5%", undefined],
    ["10", "invalid value for IntOrString: invalid type: string is not a percentage"],
    ["a%", 'invalid value for IntOrString: invalid value "a%": strconv.Atoi: parsing "a": invalid syntax'],
    ["99999999999999999999%", 'invalid value for IntOrString: invalid value "99999999999999999999%": strconv.Atoi: parsing "99999999999999999999": value out of range'],
  ] as const)("%p", (v, want) => expect(intOrPercentError(v)).toBe(want));
});

describe("label keys and values (apimachinery v0.36 wording)", () => {
  test("keys", () => {
    expect(labelKeyErrors("example.com/name")).toEqual([]);
    expect(labelKeyErrors(`${"a".repeat(64)}`)).toEqual(["name part must be no more than 63 bytes"]);
    expect(labelKeyErrors("Example.com/x")[0]).toStartWith("prefix part a lowercase RFC 1123 subdomain must consist of");
    expect(labelKeyErrors("")).toEqual([
      "name part must be non-empty",
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ]);
  });
  test("values", () => {
    expect(labelValueErrors("")).toEqual([]);
    expect(labelValueErrors("a".repeat(64))).toEqual(["must be no more than 63 bytes"]);
  });
});

describe("machine name templates", () => {
  test("the default template renders <ms>-<5 random>", () => {
    const r = machineSetMachineName("{{ .machineSet.name }}-{{ .random }}", "c1", "ms");
    expect("name" in r && r.name).toMatch(/^ms-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  test("cluster name, literals, trim markers, comments and printf", () => {
    const r = generateNameFromTemplate('{{/* c */}}{{ .cluster.name -}} - {{- printf "%s-x" .machineSet.name }}', "c1", { machineSet: { name: "ms" } });
    expect(r).toEqual({ name: "c1-ms-x" });
  });

  test("names over 63 bytes are cut to 58 plus 5 random characters", () => {
    const r = machineSetMachineName("{{ .machineSet.name }}-{{ .random }}", "c1", "m".repeat(70));
    expect("name" in r && r.name.length).toBe(63);
    expect("name" in r && r.name.slice(0, 58)).toBe("m".repeat(58));
  });

  test("errors", () => {
    expect(machineSetMachineName("{{ .random.x }}", "c", "ms")).toEqual({
      error: 'rendering template: template: template name generator:1:3: executing "template name generator" at <.random.x>: can\'t evaluate field x in type string',
    });
    expect(machineSetMachineName("{{ lower .random }}", "c", "ms")).toEqual({
      error: 'parsing template "{{ lower .random }}": template: template name generator:1: function "lower" not defined',
    });
    expect(machineSetMachineName("{{ .random ", "c", "ms")).toEqual({
      error: 'parsing template "{{ .random ": template: template name generator:1: unclosed action',
    });
  });
});

describe("index", () => {
  test("keys and hooks", () => {
    expect(Object.keys(capiWebhooks).sort()).toEqual([
      "cluster.x-k8s.io/Cluster",
      "cluster.x-k8s.io/Machine",
      "cluster.x-k8s.io/MachineDeployment",
      "cluster.x-k8s.io/MachineHealthCheck",
      "cluster.x-k8s.io/MachineSet",
      "ipam.cluster.x-k8s.io/IPAddress",
      "ipam.cluster.x-k8s.io/IPAddressClaim",
    ]);
    for (const [key, hooks] of Object.entries(capiWebhooks)) {
      expect(typeof hooks.validate).toBe("function");
      expect(typeof hooks.mutate === "function").toBe(!key.startsWith("ipam.") && key !== "cluster.x-k8s.io/Cluster");
    }
  });
});
