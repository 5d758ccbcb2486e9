/**
 * Loads certificate-generation.ts: reflect-metadata first (the bundler does not keep the order of
 * a lazily imported module's own imports, see src/daemon/pki-files.ts).
 * @module
 */
export async function loadCertificateGeneration(): Promise<typeof import("./certificate-generation.ts")> {
  await import("reflect-metadata");
  return import("./certificate-generation.ts");
}
