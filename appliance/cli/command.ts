/**
 * A tiny command framework over node:util parseArgs: every command declares its options once, which
 * gives strict parsing, `--help` text and usage errors (exit 2) that say what to type instead.
 */
import { parseArgs } from 'node:util';
import { VigilError } from '../../shared/errors.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  value?: string;
  description: string;
  required?: boolean;
}

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  name: string;
  summary: string;
  /** Positional arguments, e.g. ['FILE']; a trailing '?' marks one optional, a trailing '...' the last as repeatable. */
  positionals?: string[];
  options: O;
  description?: string;
  examples?: string[];
}

type Values<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K]['type'] extends 'boolean' ? boolean | undefined : O[K]['multiple'] extends true ? string[] | undefined : string | undefined;
};

export interface Parsed<O extends Record<string, OptionSpec>> {
  values: Values<O>;
  positionals: string[];
}

export const EXIT = { ok: 0, failed: 1, usage: 2, partial: 3 } as const;

export class UsageError extends VigilError {
  constructor(message: string, command: string) {
    super('E_USAGE', message, { hint: `see: vigil ${command} --help` });
  }
}

export function helpText<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  const pos = (spec.positionals ?? []).map((p) => (p.endsWith('?') ? `[${p.slice(0, -1)}]` : p)).join(' ');
  const opts = Object.entries(spec.options);
  const lines = [`Usage: vigil ${spec.name}${pos ? ' ' + pos : ''}${opts.length ? ' [options]' : ''}`, '', spec.summary];
  if (spec.description) lines.push('', spec.description);
  if (opts.length) {
    lines.push('', 'Options:');
    const rows = opts.map(([name, o]) => [`  ${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`, o.description + (o.required ? ' (required)' : '')]);
    rows.push(['  -h, --help', 'show this help']);
    const w = Math.max(...rows.map((r) => r[0]!.length)) + 2;
    for (const [a, b] of rows) lines.push(a!.padEnd(w) + b);
  }
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

/** Parses argv for a command; returns undefined when --help was printed. */
export function parseCommand<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>, argv: string[]): Parsed<O> | undefined {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(spec));
    return undefined;
  }
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [k, o] of Object.entries(spec.options)) {
    options[k] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, ''), spec.name);
  }
  const declared = spec.positionals ?? [];
  const required = declared.filter((p) => !p.endsWith('?')).length;
  const repeatable = declared.at(-1)?.endsWith('...') === true;
  if (parsed.positionals.length < required) throw new UsageError(`missing ${declared[parsed.positionals.length]}`, spec.name);
  if (!repeatable && parsed.positionals.length > declared.length) throw new UsageError(`unexpected argument '${parsed.positionals[declared.length]}'`, spec.name);
  for (const [k, o] of Object.entries(spec.options)) {
    if (o.required && parsed.values[k] === undefined) throw new UsageError(`--${k} is required`, spec.name);
  }
  return { values: parsed.values as Values<O>, positionals: parsed.positionals };
}

/** Declares a command, keeping option types literal so parsed values are typed. */
export function defineCommand<const O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}
