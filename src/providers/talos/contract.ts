/**
 * Talos machine-config version contracts: `v1.13`, `1.13.9`, `v1.14.0-rc.1` all name contract 1.13 /
 * 1.14. The generator in this directory implements contracts 1.11 through 1.15.
 * @module
 */

export interface Contract {
  major: number;
  minor: number;
}

export const OLDEST_CONTRACT: Contract = { major: 1, minor: 11 };
export const NEWEST_CONTRACT: Contract = { major: 1, minor: 15 };
/** The contract used when none is given (the Talos release this appliance targets by default). */
export const DEFAULT_CONTRACT: Contract = { major: 1, minor: 13 };

export class ContractError extends Error {}

/** Parses `v1.13`, `1.13.9`, `v1.14.0-rc.1` into a contract; refuses versions outside 1.11..1.15. */
export function parseContract(version: string): Contract {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$/.exec(version.trim());
  if (!m) throw new ContractError(`invalid Talos version ${JSON.stringify(version)} (want v1.MINOR or v1.MINOR.PATCH)`);
  const c = { major: Number(m[1]), minor: Number(m[2]) };
  if (compareContract(c, OLDEST_CONTRACT) < 0 || compareContract(c, NEWEST_CONTRACT) > 0) {
    throw new ContractError(
      `Talos version ${version} is not supported (contracts v${OLDEST_CONTRACT.major}.${OLDEST_CONTRACT.minor} to v${NEWEST_CONTRACT.major}.${NEWEST_CONTRACT.minor})`,
    );
  }
  return c;
}

export function compareContract(a: Contract, b: Contract): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

/** True when contract `c` is at least `major.minor`. */
export function atLeast(c: Contract, major: number, minor: number): boolean {
  return compareContract(c, { major, minor }) >= 0;
}

export function contractString(c: Contract): string {
  return `v${c.major}.${c.minor}`;
}
