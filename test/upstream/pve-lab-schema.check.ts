/**
 * Upstream-data check (reads ../shared/reference; run via scripts/check-upstream.sh or
 * `bun test ./test/upstream/pve-lab-schema.check.ts`): every parameter the lab PVE accepts
 * exists in the PVE API schema (`proxmox/pve-api-subset.json`, pve-docs apidata) with the same
 * type and constraints. The lab verifies requests against
 * src/providers/proxmox/lab/schema/api-schema.json, extracted from that file by
 * `bun src/providers/proxmox/lab/schema/generate.ts`; this check extracts it again and compares,
 * so a drift of the reference (or a hand edit) fails here. It also checks that every endpoint the
 * lab lists has a handler, and that the property-string formats the API dump names only by name
 * (pve-qm-ipconfig, pve-qm-cicustom, pve-qm-smbios1, pve-qm-boot) use the keys upstream documents.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO } from "../harness/daemon.ts";
import { createLabPve, INSTANT_LATENCIES } from "../../src/providers/proxmox/lab/index.ts";
import { LAB_ENDPOINTS } from "../../src/providers/proxmox/lab/schema/endpoints.ts";
import { extractLabSchema } from "../../src/providers/proxmox/lab/schema/extract.ts";
import { LAB_SCHEMA, NAMED_PROPERTY_FORMATS, verifyParams } from "../../src/providers/proxmox/lab/verify.ts";

const SCHEMA_PATH = join(REPO, "../shared/reference/proxmox/pve-api-subset.json");
type Upstream = { paths: Record<string, Record<string, { parameters?: { properties?: Record<string, { typetext?: string; format?: unknown }> } }>> };
const upstream = JSON.parse(readFileSync(SCHEMA_PATH, "utf8")) as Upstream;

describe("lab PVE parameters against the PVE API schema", () => {
  test("the committed parameter schema is what the reference yields (no drift, no hand edits)", () => {
    const fresh = extractLabSchema(upstream);
    const committed = LAB_SCHEMA;
    const differing = Object.keys({ ...fresh, ...committed }).filter((k) => JSON.stringify(fresh[k]) !== JSON.stringify(committed[k]));
    expect(differing).toEqual([]);
  });

  test("every endpoint the lab serves exists upstream with that method", () => {
    const missing = LAB_ENDPOINTS.filter((e) => {
      const [method, path] = e.split(" ") as [string, string];
      return !upstream.paths[path]?.[method];
    });
    expect(missing).toEqual([]);
  });

  test("every parameter name upstream defines is accepted by name, and nothing else is (unless upstream allows more)", () => {
    const wronglyRefused: string[] = [];
    for (const endpoint of LAB_ENDPOINTS) {
      const [method, path] = endpoint.split(" ") as [string, string];
      const props = upstream.paths[path]![method]!.parameters?.properties ?? {};
      for (const name of Object.keys(props)) {
        const concrete = name.replace("[n]", "0");
        try {
          verifyParams(endpoint, { [concrete]: "x" });
        } catch (e) {
          const errors = (e as { errors?: Record<string, string> }).errors ?? {};
          if (/not defined in schema/.test(errors[concrete] ?? "")) wronglyRefused.push(`${endpoint} ${concrete}`);
        }
      }
      // a few endpoints allow additional properties upstream (the agent index): so does the lab
      if (LAB_SCHEMA[endpoint]!.additionalProperties) continue;
      let refused = false;
      try {
        verifyParams(endpoint, { "not-a-pve-parameter": "x" });
      } catch (e) {
        refused = /not defined in schema/.test((e as { errors?: Record<string, string> }).errors?.["not-a-pve-parameter"] ?? "");
      }
      if (!refused) wronglyRefused.push(`${endpoint} accepts an unknown parameter`);
    }
    expect(wronglyRefused).toEqual([]);
  });

  test("named property-string formats use the keys upstream documents", () => {
    const typetexts = new Map<string, string>();
    for (const methods of Object.values(upstream.paths)) {
      for (const info of Object.values(methods)) {
        for (const p of Object.values(info.parameters?.properties ?? {})) if (typeof p.format === "string" && p.typetext) typetexts.set(p.format, p.typetext);
      }
    }
    for (const [format, keys] of Object.entries(NAMED_PROPERTY_FORMATS)) {
      const text = typetexts.get(format);
      expect(text, format).toBeDefined();
      for (const key of Object.keys(keys)) expect(text!.includes(`${key}=`) || (keys[key]!.default_key === 1 && text!.includes(`[${key}=]`)), `${format}.${key} in "${text}"`).toBe(true);
    }
  });

  test("every listed endpoint has a handler (createLabPve refuses a gap)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lab-schema-"));
    const lab = createLabPve({ dataDir: dir, latencies: INSTANT_LATENCIES });
    try {
      for (const endpoint of LAB_ENDPOINTS) {
        const [method, path] = endpoint.split(" ") as [string, string];
        const concrete = path.replace("{node}", "pve1").replace("{vmid}", "9000").replace("{upid}", "UPID:x").replace("{storage}", "local").replace("{volume}", "local:iso%2Fnone.iso");
        const res = await lab.request(method, concrete, {}, lab.token);
        expect(res.status, `${endpoint}: ${res.reason}`).not.toBe(501);
      }
    } finally {
      await lab.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
