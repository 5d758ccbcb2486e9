/**
 * DATA_DIR/lab/pve-state.json: written atomically (temp file + rename), debounced, and flushed on
 * stop. Lab state is hardware: it survives the daemon.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { LabState } from "./state.ts";

export class StateFile {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #snapshot: () => LabState = () => {
    throw new Error("state file has no source");
  };

  constructor(
    readonly path: string,
    private readonly debounceMs = 50,
  ) {}

  load(): LabState | undefined {
    if (!existsSync(this.path)) return undefined;
    const state = JSON.parse(readFileSync(this.path, "utf8")) as LabState;
    if (state.version !== 1) throw new Error(`${this.path}: unsupported lab state version ${String(state.version)}`);
    return state;
  }

  /** Where `schedule` and `flush` read the state from. */
  bind(snapshot: () => LabState): void {
    this.#snapshot = snapshot;
  }

  schedule(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.debounceMs);
  }

  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#snapshot()));
    renameSync(tmp, this.path);
  }

  /** Writes once more and ignores later changes (the process is handing the state over). */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}
