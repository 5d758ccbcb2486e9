/**
 * Loads client-cert.ts with reflect-metadata first (the bundler does not keep the order of a lazily
 * imported module's own imports; see src/providers/kubeadm/load-generation.ts).
 * @module
 */
export async function loadEtcdClientCert(): Promise<typeof import("./client-cert.ts")> {
  await import("reflect-metadata");
  return import("./client-cert.ts");
}
