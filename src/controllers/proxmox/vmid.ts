/**
 * VMID choice. With `vmIDRange` (CAPMOX getNextFreeVMIDfromRange): the first id in the range
 * that no ProxmoxMachine has recorded and that PVE reports free (`/cluster/nextid?vmid=N`); none
 * left is terminal. Without it: `/cluster/nextid`, which is not atomic, so ids handed out to
 * concurrent reconciles but not yet recorded are reserved in-process and skipped.
 * @module
 */

/** CAPMOX's text for an exhausted range. */
export const NO_FREE_VMID = "No free vmid found in vmIDRange";

export class VmidsExhaustedError extends Error {
  override readonly name = "VmidsExhaustedError";
  constructor(range: { start: number; end: number }) {
    super(`${NO_FREE_VMID} [${range.start}-${range.end}]`);
  }
}

export interface VmidSource {
  nextId(): Promise<number>;
  vmidFree(vmid: number): Promise<boolean>;
}

/** How long an id stays reserved after it was handed out (until the owner has recorded it). */
const RESERVATION_MS = 5 * 60_000;
/** How far past `/cluster/nextid` to look for an id nobody reserved. */
const NEXTID_PROBES = 1000;
const MAX_VMID = 999_999_999;

/** In-process reservations of ids chosen but not yet visible as recorded. */
export class VmidReservations {
  #held = new Map<number, { owner: string; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Reserved by someone other than `owner`. */
  heldByOther(vmid: number, owner: string): boolean {
    const r = this.#held.get(vmid);
    if (!r) return false;
    if (r.until < this.now()) {
      this.#held.delete(vmid);
      return false;
    }
    return r.owner !== owner;
  }

  reserve(vmid: number, owner: string): void {
    this.#held.set(vmid, { owner, until: this.now() + RESERVATION_MS });
  }

  release(vmid: number, owner: string): void {
    if (this.#held.get(vmid)?.owner === owner) this.#held.delete(vmid);
  }
}

export interface ChooseVmidInput {
  range?: { start: number; end: number };
  /** Ids recorded by ProxmoxMachines (CAPMOX: the cluster's; the appliance passes all it knows). */
  used: ReadonlySet<number>;
  /** Who asks (a ProxmoxMachine uid), for the reservation. */
  owner: string;
  reservations: VmidReservations;
  source: VmidSource;
}

export async function chooseVmid(input: ChooseVmidInput): Promise<number> {
  const { range, used, owner, reservations, source } = input;
  const taken = (id: number) => used.has(id) || reservations.heldByOther(id, owner);
  if (range && range.start !== 0 && range.end !== 0) {
    for (let id = range.start; id <= range.end; id++) {
      if (taken(id)) continue;
      // Reserve before asking PVE: concurrent reconciles interleave at every await.
      reservations.reserve(id, owner);
      if (await source.vmidFree(id)) return id;
      reservations.release(id, owner);
    }
    throw new VmidsExhaustedError(range);
  }
  let id = await source.nextId();
  for (let probes = 0; probes < NEXTID_PROBES && id <= MAX_VMID; probes++, id++) {
    if (taken(id)) continue;
    reservations.reserve(id, owner);
    // nextid's own answer is free unless someone raced us; later ids must be asked about.
    if (probes === 0 || (await source.vmidFree(id))) return id;
    reservations.release(id, owner);
  }
  throw new Error(`no free VMID within ${NEXTID_PROBES} ids after /cluster/nextid`);
}
