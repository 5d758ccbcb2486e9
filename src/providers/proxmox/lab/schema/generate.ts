/**
 * Regenerates api-schema.json from ../shared/reference/proxmox/pve-api-subset.json:
 *   bun src/providers/proxmox/lab/schema/generate.ts [path/to/pve-api-subset.json]
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { extractLabSchema } from "./extract.ts";

const here = import.meta.dir;
const source = process.argv[2] ?? join(here, "../../../../../../shared/reference/proxmox/pve-api-subset.json");
const upstream = JSON.parse(readFileSync(source, "utf8"));
const out = join(here, "api-schema.json");
writeFileSync(out, JSON.stringify(extractLabSchema(upstream), null, 1) + "\n");
console.log(`wrote ${out}`);
