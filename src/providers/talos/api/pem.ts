/**
 * PEM helpers without crypto dependencies (safe to import from modules loaded at daemon start).
 * @module
 */

/** Talos writes `ED25519 PRIVATE KEY`; the body is PKCS#8, so relabel it for node:crypto and TLS. */
export function normalizeKeyPem(keyPem: string): string {
  return keyPem.replace(/-----(BEGIN|END) ED25519 PRIVATE KEY-----/g, "-----$1 PRIVATE KEY-----");
}

/** A PEM that may arrive base64-encoded (as in machine configs and talosconfig). */
export function pemFromConfig(value: string): string {
  const v = value.trim();
  if (v.startsWith("-----BEGIN")) return v + "\n";
  return Buffer.from(v, "base64").toString("utf8");
}
