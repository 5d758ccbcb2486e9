/**
 * The host's locks: per-VM flocks (`/var/lock/qemu-server/lock-<vmid>.conf`, shared or exclusive)
 * and per-storage locks. Waiters queue in order; a wait that outlasts its timeout fails with the
 * text PVE prints for that lock.
 * @module
 */

export type LockMode = "ex" | "sh";

interface Waiter {
  mode: LockMode;
  owner: string;
  grant: () => void;
}

export class LockTable {
  #held = new Map<string, { mode: LockMode; owners: Set<string> }>();
  #queue = new Map<string, Waiter[]>();

  /** Takes the lock now if nothing holds it incompatibly and nobody queues ahead. */
  tryAcquire(key: string, mode: LockMode, owner: string): boolean {
    const h = this.#held.get(key);
    if (h?.owners.has(owner)) return true;
    if ((this.#queue.get(key)?.length ?? 0) > 0) return false;
    return this.#grant(key, mode, owner);
  }

  #grant(key: string, mode: LockMode, owner: string): boolean {
    const h = this.#held.get(key);
    if (!h) {
      this.#held.set(key, { mode, owners: new Set([owner]) });
      return true;
    }
    if (h.mode === "sh" && mode === "sh") {
      h.owners.add(owner);
      return true;
    }
    return false;
  }

  /** Waits for the lock up to `timeoutMs`; rejects with `timeoutError()` when the time is up. */
  acquire(key: string, mode: LockMode, owner: string, timeoutMs: number, timeoutError: () => Error): Promise<void> {
    if (this.tryAcquire(key, mode, owner)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        mode,
        owner,
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const q = this.#queue.get(key) ?? [];
        const i = q.indexOf(waiter);
        if (i >= 0) q.splice(i, 1);
        this.#pump(key);
        reject(timeoutError());
      }, Math.max(0, timeoutMs));
      const q = this.#queue.get(key) ?? [];
      q.push(waiter);
      this.#queue.set(key, q);
    });
  }

  release(key: string, owner: string): void {
    const h = this.#held.get(key);
    if (!h || !h.owners.delete(owner)) return;
    if (h.owners.size === 0) this.#held.delete(key);
    this.#pump(key);
  }

  /** Restores a lock a task held before a restart (no waiting, no checks). */
  restore(key: string, mode: LockMode, owner: string): void {
    const h = this.#held.get(key);
    if (h) h.owners.add(owner);
    else this.#held.set(key, { mode, owners: new Set([owner]) });
  }

  holders(key: string): string[] {
    return [...(this.#held.get(key)?.owners ?? [])];
  }

  #pump(key: string): void {
    const q = this.#queue.get(key);
    while (q?.length) {
      const w = q[0]!;
      if (!this.#grant(key, w.mode, w.owner)) break;
      q.shift();
      w.grant();
    }
    if (q && !q.length) this.#queue.delete(key);
  }
}

export const vmLockKey = (vmid: number | string) => `vm:${vmid}`;

export function vmLockTimeoutText(vmid: number | string): string {
  return `can't lock file '/var/lock/qemu-server/lock-${vmid}.conf' - got timeout`;
}

export function storageLockKey(storage: { id: string; shared: boolean }, node: string): string {
  return storage.shared ? `storage:${storage.id}` : `storage:${node}:${storage.id}`;
}

export function storageLockTimeoutText(storage: { id: string; shared: boolean }): string {
  return storage.shared ? `cfs-lock 'storage-${storage.id}' error: got lock request timeout` : `can't lock file '/var/lock/pve-manager/pve-storage-${storage.id}' - got timeout`;
}
