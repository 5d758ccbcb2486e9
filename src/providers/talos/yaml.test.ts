import { describe, expect, it, test } from "bun:test";
import { decodeDocuments, encodeDocument, encodeDocuments, libraryScalar, scalar, YamlDocumentError } from "./yaml.ts";

describe("Talos-style YAML layout", () => {
  it("single-quotes a one-line string that cannot be plain and that the yaml library would write as a block", () => {
    for (const v of ["---abc", "...abc", "--- x", "it's ---"]) {
      const text = encodeDocument({ cluster: { id: v } });
      expect(text.split("\n")).toHaveLength(3);
      expect(decodeDocuments(text)[0]).toEqual({ cluster: { id: v } });
    }
    expect(scalar("---abc")).toBe("'---abc'");
    expect(scalar("-abc")).toBe("-abc");
  });

  it("indents like Go yaml.v3 with indent 4", () => {
    const doc = {
      a: { b: 1, c: [], d: {} },
      list: ["x", "y"],
      items: [
        { name: "one", configuration: { k: "v", deep: { z: true } }, tags: ["t"] },
        { providers: [{ secretbox: { keys: [{ name: "key2", secret: "s" }] } }], resources: ["secrets"] },
      ],
    };
    expect(encodeDocument(doc)).toBe(
      [
        "a:",
        "    b: 1",
        "    c: []",
        "    d: {}",
        "list:",
        "    - x",
        "    - y",
        "items:",
        "    - name: one",
        "      configuration:",
        "        k: v",
        "        deep:",
        "            z: true",
        "      tags:",
        "        - t",
        "    - providers:",
        "        - secretbox:",
        "            keys:",
        "                - name: key2",
        "                  secret: s",
        "      resources:",
        "        - secrets",
        "",
      ].join("\n"),
    );
  });

  it("writes multi-line strings as literal blocks and quotes ambiguous scalars", () => {
    const pem = "-----BEGIN X-----\nAAAA\n-----END X-----\n";
    const text = encodeDocument({ cert: pem, noNewline: "a\nb", list: [pem], empty: "", t: "true", n: "7445", colon: "a: b", plain: 'disk.dev_path == "/dev/vda"' });
    expect(text).toBe(
      [
        "cert: |",
        "    -----BEGIN X-----",
        "    AAAA",
        "    -----END X-----",
        "noNewline: |-",
        "    a",
        "    b",
        "list:",
        "    - |",
        "      -----BEGIN X-----",
        "      AAAA",
        "      -----END X-----",
        'empty: ""',
        't: "true"',
        'n: "7445"',
        'colon: "a: b"',
        'plain: disk.dev_path == "/dev/vda"',
        "",
      ].join("\n"),
    );
    expect(decodeDocuments(text)).toEqual([{ cert: pem, noNewline: "a\nb", list: [pem], empty: "", t: "true", n: "7445", colon: "a: b", plain: 'disk.dev_path == "/dev/vda"' }]);
  });

  it("round-trips awkward strings", () => {
    const doc = { a: "  indented\nlines\n", b: "\n", c: "tab\tand \"quotes\"", d: "#not a comment", e: "- not a list", f: "null", g: "~", h: "é ü" };
    expect(decodeDocuments(encodeDocument(doc))).toEqual([doc]);
    expect(decodeDocuments(encodeDocument({ list: [doc, [1, [2]], [], {}] }))).toEqual([{ list: [doc, [1, [2]], [], {}] }]);
  });

  it("joins documents with --- and reads them back, skipping empty ones", () => {
    const text = encodeDocuments([{ version: "v1alpha1" }, { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" }]);
    expect(text).toBe("version: v1alpha1\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n");
    expect(decodeDocuments(`---\n${text}---\n`)).toHaveLength(2);
    expect(() => decodeDocuments("a: [1\n")).toThrow(YamlDocumentError);
    expect(() => decodeDocuments("just a string\n")).toThrow("each document must be a mapping");
  });
});

describe("scalar fast path", () => {
  test("writes every scalar exactly as the yaml library would (keywords, numbers, random words)", () => {
    const alphabet = "abcXYZ0189_./+=-eE:~ #'\"";
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const word = () => Array.from({ length: 1 + Math.floor(next() * 6) }, () => alphabet[Math.floor(next() * alphabet.length)]).join("");
    const keywords = ["true", "True", "TRUE", "false", "null", "Null", "~", "0", "007", "0o17", "0x1F", "1e3", "1.5", "-1", ".5", "1.", "+1", ".inf", "-.Inf", ".nan", "yes", "no", "on", "y", "1_000", "2001-12-14", "1:20", "0b101", "1e+5", "=", "-", "a.b.c", "Zm9vYmFy", "QUJD+/="];
    const mismatches = [...keywords, ...Array.from({ length: 50_000 }, word)].filter((w) => scalar(w) !== libraryScalar(w));
    expect(mismatches).toEqual([]);
    for (const v of [0, 1, -5, 123456789, true, false, 1.5, null]) expect(scalar(v)).toBe(libraryScalar(v) === "" ? "null" : libraryScalar(v));
  });
});
