/**
 * The backend contract (backend-contract.ts) for each backend against a fresh lab PVE:
 * http through proxmox-api over the lab's HTTPS API, local through the qm/pvesh shims.
 */
import { describeBackendContract, httpContractEnv, localContractEnv } from "./backend-contract.ts";

describeBackendContract("http (proxmox-api over HTTPS)", () => httpContractEnv());
describeBackendContract("local (qm and pvesh shims)", () => localContractEnv());
