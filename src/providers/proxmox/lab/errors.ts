/**
 * Failures as PVE reports them: a `die` (500, the message's first line becomes the HTTP reason
 * phrase), a parameter exception (400 `Parameter verification failed.` with per-parameter
 * messages), and the few other statuses the API server itself produces.
 * @module
 */

export class LabPveError extends Error {
  override readonly name = "LabPveError";
  constructor(
    /** Without PVE's trailing newline; the response adds it back to the body `message`. */
    message: string,
    readonly status = 500,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
  }
}

/** PVE's `die "...\n"`: a 500 whose reason phrase is the message. */
export function die(message: string): never {
  throw new LabPveError(message, 500);
}

/** PVE's `raise_param_exc({...})`. */
export function paramError(errors: Record<string, string>): never {
  throw new LabPveError("Parameter verification failed.", 400, errors);
}

export function notImplemented(method: string, path: string): LabPveError {
  return new LabPveError(`Method '${method} ${path}' not implemented`, 501);
}

/** The error text a task's log and exitstatus carry for a thrown value. */
export function errorText(err: unknown): string {
  if (err instanceof LabPveError) {
    if (!err.errors) return err.message;
    // A parameter exception inside a worker stringifies with its per-parameter lines.
    return [err.message, ...Object.entries(err.errors).map(([k, v]) => `${k}: ${v.replace(/\n$/, "")}`)].join("\n");
  }
  return err instanceof Error ? err.message : String(err);
}
