import { describe, expect, it } from "bun:test";
import { decodeDocuments, encodeDocument, encodeDocuments, YamlDocumentError } from "./yaml.ts";

describe("Talos-style YAML layout", () => {
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
