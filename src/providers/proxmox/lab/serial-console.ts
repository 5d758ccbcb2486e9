/**
 * The serial ports of lab VMs: what a simulated guest prints on `serial0` is kept in
 * DATA_DIR/lab/console/<vmid>.log (appended per boot, removed with the VM) and handed to anyone
 * attached at the time — `qm terminal` behind termproxy/vncwebsocket. A real serial socket has no
 * scrollback; the lab replays the log on attach so that a user who connects after a failed boot
 * still reads why (as the chardev log file of a real VM would show it).
 * @module
 */
import { appendFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export type SerialListener = (text: string) => void;

export class SerialConsoles {
  #listeners = new Map<number, Set<SerialListener>>();

  constructor(
    /** DATA_DIR/lab */
    private readonly dir: string,
  ) {}

  path(vmid: number): string {
    return join(this.dir, "console", `${vmid}.log`);
  }

  /** Everything the VM printed since it was created ("" if nothing). */
  read(vmid: number): string {
    try {
      return readFileSync(this.path(vmid), "utf8");
    } catch {
      return "";
    }
  }

  /** The guest prints `text` (lines end with `\n`). */
  write(vmid: number, text: string): void {
    const file = this.path(vmid);
    mkdirSync(join(file, ".."), { recursive: true });
    appendFileSync(file, text);
    for (const l of this.#listeners.get(vmid) ?? []) {
      try {
        l(text);
      } catch {
        // a reader's failure is not the guest's
      }
    }
  }

  /** Live output from now on; returns the detach function. */
  attach(vmid: number, listener: SerialListener): () => void {
    let set = this.#listeners.get(vmid);
    if (!set) this.#listeners.set(vmid, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (!set.size && this.#listeners.get(vmid) === set) this.#listeners.delete(vmid);
    };
  }

  /** The VM is destroyed: its log goes with it. */
  remove(vmid: number): void {
    rmSync(this.path(vmid), { force: true });
  }
}
