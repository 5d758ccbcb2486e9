import { describe, expect, it } from "bun:test";
import type { PveVmInfo } from "../../providers/proxmox/types.ts";
import { findTemplateByTags, normalizeTags, selectTemplate, TemplateNotFoundError } from "./templates.ts";

const tpl = (vmid: number, node: string, tags: string[], extra: Partial<PveVmInfo> = {}): PveVmInfo => ({ vmid, node, template: true, status: "stopped", tags, type: "qemu", ...extra });

const vms = [
  tpl(9000, "pve1", ["talos", "v1.10"]),
  tpl(9001, "pve1", ["ubuntu", "noble"]),
  tpl(9002, "pve2", ["talos", "v1.10", "gpu"]),
  tpl(9003, "pve3", ["ubuntu"]),
  tpl(200, "pve1", ["ubuntu"], { template: false }),
  tpl(300, "pve1", ["ubuntu"], { type: "lxc" }),
];

describe("template selection by tags (CAPMOX FindVMTemplateByTags)", () => {
  it("normalizes selector tags: lower case, sorted, unique", () => {
    expect(normalizeTags(["Talos", "talos", "V1.10"])).toEqual(["talos", "v1.10"]);
  });

  it("exact: the same tag set, case-insensitively", () => {
    expect(findTemplateByTags(vms, ["TALOS", "v1.10"], "exact")).toEqual({ node: "pve1", vmid: 9000 });
    expect(findTemplateByTags(vms, ["ubuntu"], "exact")).toEqual({ node: "pve3", vmid: 9003 });
  });

  it("uniqueSubset: exactly one template carries all the tags", () => {
    expect(findTemplateByTags(vms, ["gpu"], "uniqueSubset")).toEqual({ node: "pve2", vmid: 9002 });
    expect(() => findTemplateByTags(vms, ["talos"], "uniqueSubset")).toThrow('VM template not found: found 2 VM templates with tags "talos"');
  });

  it("bestSubset: the supersets with the fewest extra tags, which must be one", () => {
    expect(findTemplateByTags(vms, ["talos"], "bestSubset")).toEqual({ node: "pve1", vmid: 9000 });
    expect(findTemplateByTags(vms, ["noble"], "bestSubset")).toEqual({ node: "pve1", vmid: 9001 });
    expect(() => findTemplateByTags([...vms, tpl(9004, "pve2", ["talos", "v1.11"])], ["talos"], "bestSubset")).toThrow("found 2 VM templates");
  });

  it("ignores VMs that are not templates, containers and untagged templates; none is CAPMOX's error", () => {
    expect(() => findTemplateByTags(vms, ["flatcar"], "exact")).toThrow(new TemplateNotFoundError('VM template not found: found 0 VM templates with tags "flatcar"'));
  });

  it("templateID + sourceNode names the source directly", () => {
    expect(selectTemplate({ templateID: 9001, sourceNode: "pve1" }, [])).toEqual({ node: "pve1", vmid: 9001 });
    expect(selectTemplate({ templateSelector: { matchTags: ["gpu"], matchPolicy: "uniqueSubset" } }, vms)).toEqual({ node: "pve2", vmid: 9002 });
  });
});
