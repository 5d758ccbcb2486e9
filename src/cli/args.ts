/**
 * A small flag parser: `--name value`, `--name=value`, one-letter `-n value`, repeatable flags, booleans. Unknown
 * flags and missing values are usage errors (exit 2, one line).
 * @module
 */

export class UsageError extends Error {}

export interface FlagSpec {
  [name: string]: { type: "string" | "boolean" | "list" };
}

export type Flags = Record<string, string | boolean | string[] | undefined>;

export function parseFlags(argv: string[], spec: FlagSpec): { flags: Flags; positional: string[] } {
  const flags: Flags = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    if (/^-[A-Za-z]$/.test(arg)) arg = `-${arg}`;
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const s = spec[name];
    if (!s) throw new UsageError(`unknown flag --${name}`);
    if (s.type === "boolean") {
      const v = eq >= 0 ? arg.slice(eq + 1) : "true";
      if (v !== "true" && v !== "false") throw new UsageError(`--${name} takes true or false, not ${JSON.stringify(v)}`);
      flags[name] = v === "true";
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
    }
    if (s.type === "list") flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    else flags[name] = value;
  }
  return { flags, positional };
}
