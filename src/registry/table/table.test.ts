import { describe, expect, it } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import type { PrinterColumn, ResourceVersion } from "../types.ts";
import { rowCells } from "./table.ts";

const col = (name: string, jsonPath: string, type: PrinterColumn["type"] = "string"): PrinterColumn => ({ name, type, format: "", description: "", priority: 0, jsonPath });

const version = (columns: PrinterColumn[]): ResourceVersion => ({ name: "v1", served: true, storage: true, schema: { type: "object" }, printerColumns: columns, subresources: {} });

describe("printer column cells", () => {
  const pool: KObject = {
    apiVersion: "example.com/v1",
    kind: "Pool",
    metadata: { name: "p" },
    spec: { addresses: ["10.0.0.1-10.0.0.9", "10.0.0.20"], gateway: "10.0.0.254", prefix: 24, labels: { a: "b" }, nodes: [{ name: "n1" }, { name: "n2" }] },
  };

  it("a list or a map prints as JSON, as kube-apiserver's JSONPath printer does", () => {
    expect(rowCells(version([col("Addresses", ".spec.addresses"), col("Labels", ".spec.labels")]), pool, 0)).toEqual(['["10.0.0.1-10.0.0.9","10.0.0.20"]', '{"a":"b"}']);
  });

  it("only the first result of a path with several counts", () => {
    expect(rowCells(version([col("Node", ".spec.nodes[*].name")]), pool, 0)).toEqual(["n1"]);
  });

  it("scalars keep their type where the column has one; missing values are null", () => {
    expect(rowCells(version([col("Prefix", ".spec.prefix", "integer"), col("Gateway", ".spec.gateway"), col("Missing", ".spec.none")]), pool, 0)).toEqual([24, "10.0.0.254", null]);
  });
});
