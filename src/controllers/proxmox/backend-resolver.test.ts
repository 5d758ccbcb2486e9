import { describe, expect, it } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { CredentialsError, credentialsRefOf, parseCredentials } from "./backend-resolver.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const secret = (data: Record<string, string>): KObject => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "pve", namespace: "default" },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
} as KObject);

describe("Proxmox credentials (CAPMOX Secret keys)", () => {
  it("reads url, token, secret; unset insecure means insecure (CAPMOX before v0.7)", () => {
    expect(parseCredentials(secret({ url: "https://pve:8006", token: "capmox@pve!capi", secret: "0b8d3c0e-7f5e-4f7e-9a55-2f1a3b4c5d6e" }))).toEqual({
      url: "https://pve:8006",
      tokenId: "capmox@pve!capi",
      secret: "0b8d3c0e-7f5e-4f7e-9a55-2f1a3b4c5d6e",
      insecure: true,
    });
  });

  it("reads insecure as a yes-like value and the root CA", () => {
    const c = parseCredentials(secret({ url: "u", token: "a@pam!t", secret: "s", insecure: "false", root_ca: "-----BEGIN CERTIFICATE-----" }));
    expect(c.insecure).toBe(false);
    expect(c.rootCA).toBe("-----BEGIN CERTIFICATE-----");
    expect(parseCredentials(secret({ url: "u", token: "a@pam!t", secret: "s", insecure: "Yes" })).insecure).toBe(true);
  });

  it("names what is missing or malformed", () => {
    expect(() => parseCredentials(secret({ url: "u" }))).toThrow(new CredentialsError("credentials secret default/pve lacks token, secret"));
    expect(() => parseCredentials(secret({ url: "u", token: "root", secret: "s" }))).toThrow('token must look like user@realm!tokenid, got "root"');
  });

  it("defaults the Secret's namespace to the ProxmoxCluster's", () => {
    const pc = { apiVersion: "x", kind: "ProxmoxCluster", metadata: { name: "c1", namespace: "team-a" }, spec: { credentialsRef: { name: "pve" } } } as KObject;
    expect(credentialsRefOf(pc)).toEqual({ namespace: "team-a", name: "pve" });
    expect(credentialsRefOf({ ...pc, spec: {} })).toBeUndefined();
  });
});
