/**
 * /livez, /readyz, /healthz with the kube-apiserver contract: `ok` or 500, `?verbose` lists
 * `[+]name ok` / `[-]name failed: reason`, `?exclude=name` skips a check.
 * @module
 */

export interface HealthCheck {
  name: string;
  /** Returns undefined when healthy, else the reason. */
  check(): string | undefined;
}

export function healthResponse(kind: string, checks: HealthCheck[], params: URLSearchParams): Response {
  const excluded = new Set(params.getAll("exclude"));
  const lines: string[] = [];
  let failed = false;
  for (const c of checks) {
    if (excluded.has(c.name)) {
      lines.push(`[+]${c.name} excluded: ok`);
      continue;
    }
    let reason: string | undefined;
    try {
      reason = c.check();
    } catch (e) {
      reason = String(e);
    }
    if (reason) {
      failed = true;
      lines.push(`[-]${c.name} failed: reason withheld`);
      if (params.has("verbose")) lines[lines.length - 1] = `[-]${c.name} failed: ${reason}`;
    } else lines.push(`[+]${c.name} ok`);
  }
  const verbose = params.has("verbose") || failed;
  const tail = failed ? `${kind} check failed` : `${kind} check passed`;
  const body = verbose ? `${lines.join("\n")}\n${tail}\n` : "ok";
  return new Response(body, {
    status: failed ? 500 : 200,
    headers: { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
  });
}
