/**
 * The bootstrap data CABPT writes for one Machine, as one function: generate for the TalosConfig's
 * `generateType` and `talosVersion`, apply `configPatches` (RFC 6902), then `strategicPatches`,
 * then the static hostname (if any), and encode without comments. `generateType: none` loads
 * `data` and re-encodes it; patches apply to it too, as in CABPT.
 *
 * Differences from CABPT, on purpose: the hostname follows the *contract* actually generated, so an
 * empty `talosVersion` (current contract, HostnameConfig documents) gets a HostnameConfig hostname
 * instead of the `machine.network.hostname` Talos then rejects next to `auto: stable`.
 * @module
 */
import { DEFAULT_CONTRACT, parseContract, type Contract } from "./contract.ts";
import { GenerateError, generateMachineConfig, withStaticHostname, type ConfigDocument, type GenerateInput } from "./generate.ts";
import { applyConfigPatches, applyStrategicPatches, type JsonPatchOperation } from "./patch.ts";
import type { SecretsBundle } from "./secrets.ts";
import { decodeDocuments, encodeDocuments } from "./yaml.ts";

export type GenerateType = "controlplane" | "worker" | "init" | "none";

export interface BootstrapDataRequest {
  generateType: string;
  /** `v1.13` style; empty = the default contract. */
  talosVersion?: string;
  /** Full machine config for `generateType: none`. */
  data?: string;
  bundle: SecretsBundle;
  clusterName: string;
  endpoint: string;
  kubernetesVersion: string;
  dnsDomain?: string;
  podSubnets?: string[];
  serviceSubnets?: string[];
  configPatches?: JsonPatchOperation[];
  strategicPatches?: string[];
  /** Static hostname (from the Machine or infrastructure name), if the TalosConfig asks for one. */
  hostname?: string;
}

export interface BootstrapData {
  contract: Contract;
  documents: ConfigDocument[];
  /** The YAML text for the bootstrap data secret's `value`. */
  yaml: string;
}

export function buildBootstrapData(req: BootstrapDataRequest): BootstrapData {
  const contract = req.talosVersion ? parseContract(req.talosVersion) : DEFAULT_CONTRACT;
  let docs: ConfigDocument[];
  switch (req.generateType) {
    case "none":
      docs = req.data?.trim() ? decodeDocuments(req.data, "data") : [];
      if (!docs.length) throw new GenerateError("failed to specify config data with none generate type");
      break;
    case "controlplane":
    case "worker":
    case "init": {
      const input: GenerateInput = {
        bundle: req.bundle,
        clusterName: req.clusterName,
        endpoint: req.endpoint,
        kubernetesVersion: req.kubernetesVersion,
        contract,
        type: req.generateType === "worker" ? "worker" : "controlplane",
      };
      if (req.dnsDomain) input.dnsDomain = req.dnsDomain;
      if (req.podSubnets?.length) input.podSubnets = req.podSubnets;
      if (req.serviceSubnets?.length) input.serviceSubnets = req.serviceSubnets;
      docs = generateMachineConfig(input);
      if (req.generateType === "init") ((docs[0] as { machine: Record<string, unknown> }).machine).type = "init";
      break;
    }
    default:
      throw new GenerateError(`unknown generate type specified: ${JSON.stringify(req.generateType)}`);
  }
  docs = applyConfigPatches(docs, req.configPatches ?? []);
  docs = applyStrategicPatches(docs, req.strategicPatches ?? []);
  if (req.hostname) docs = withStaticHostname(docs, contract, req.hostname);
  return { contract, documents: docs, yaml: encodeDocuments(docs) };
}
