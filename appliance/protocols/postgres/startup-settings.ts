/**
 * The settings a client may ask for in its startup packet, reviewed: each is harmless to pass to the
 * target (formats, time zone, timeouts the client wants for its own safety), or pinned (client_encoding
 * must be UTF8, standard_conforming_strings on: Vigil parses statements as the server would only then).
 * Anything else is refused with a clear error — never silently dropped, because a client that asked for
 * `statement_timeout=3s` and silently got none runs on past its own safety limit.
 *
 * `options` (`-c name=value` / `--name=value`, what PGOPTIONS sends) is accepted only when the policy
 * says so, and then each setting in it passes the same review.
 */
import { isUtf8Name } from '../../sql/classify-statement.ts';
import { timeoutProblem } from './statement-limits.ts';

/** Passed to the target as given (names are case-insensitive). */
const PASSED = new Set([
  'application_name',
  'datestyle',
  'timezone',
  'intervalstyle',
  'extra_float_digits',
  'search_path',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'idle_session_timeout',
  'bytea_output',
  'default_transaction_isolation',
  'default_transaction_read_only',
  'default_transaction_deferrable',
  'lc_messages',
  'lc_monetary',
  'lc_numeric',
  'lc_time',
  'geqo',
  'jit',
]);

export interface StartupRefusal {
  sqlstate: string;
  message: string;
  hint?: string;
}

export interface ReviewedSettings {
  /** What the target receives (client_encoding is always UTF8). */
  params: Record<string, string>;
  /** Settings with their values as the client asked (recorded). */
  requested: Record<string, string>;
}

/** Reviews one setting; undefined when it may pass (unchanged), else why not. */
function review(name: string, value: string): StartupRefusal | undefined {
  const key = name.toLowerCase();
  if (key === 'client_encoding') {
    // libpq's client_encoding=auto becomes SQL_ASCII in a C locale: bytes pass unconverted, which Vigil
    // reads as UTF-8 (and refuses when they are not), so it is as safe as UTF8.
    if (isUtf8Name(value) || value.toUpperCase() === 'SQL_ASCII') return undefined;
    return {
      sqlstate: '0A000',
      message: `Vigil supports only client_encoding UTF8 (the connection asked for ${value})`,
      hint: 'connect with client_encoding=UTF8 (PGCLIENTENCODING=UTF8)',
    };
  }
  if (key === 'standard_conforming_strings') {
    if (/^(on|true|yes|1)$/i.test(value.trim())) return undefined;
    return { sqlstate: '0A000', message: 'Vigil requires standard_conforming_strings on' };
  }
  if (PASSED.has(key)) return undefined;
  return {
    sqlstate: '0A000',
    message: `the startup parameter "${name}" is not supported through Vigil`,
    hint: `accepted: ${[...PASSED, 'client_encoding (UTF8)', 'standard_conforming_strings (on)'].join(', ')}`,
  };
}

/** `-c a=b --c=d -c "x=y z"`: the settings an options string carries, as PostgreSQL splits it. */
export function parseOptions(options: string): Array<[string, string]> | undefined {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < options.length; i++) {
    const ch = options[i]!;
    if (ch === '\\' && i + 1 < options.length) {
      cur += options[++i];
      inWord = true;
    } else if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '\v') {
      // C isspace(), as pg_split_opts splits: a form feed or vertical tab separates options too.
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < words.length; i++) {
    let w = words[i]!;
    if (w === '-c') {
      const next = words[++i];
      if (next === undefined) return undefined;
      w = next;
    } else if (w.startsWith('-c')) w = w.slice(2);
    else if (w.startsWith('--')) w = w.slice(2);
    else return undefined;
    const eq = w.indexOf('=');
    if (eq <= 0) return undefined;
    out.push([w.slice(0, eq).replace(/-/g, '_'), w.slice(eq + 1)]);
  }
  return out;
}

/**
 * The startup parameters to pass to the target, or the refusal. `user` and `database` are Vigil's own
 * (the target's login comes from its config); `replication` is refused before this.
 */
export function reviewStartup(params: ReadonlyMap<string, string>, allowOptions: boolean, maxStatementSeconds?: number): ReviewedSettings | StartupRefusal {
  const out: Record<string, string> = {};
  const requested: Record<string, string> = {};
  let timeout = false;
  const limit = (name: string, value: string): StartupRefusal | undefined => {
    if (name.toLowerCase() !== 'statement_timeout' || maxStatementSeconds === undefined) return undefined;
    timeout = true;
    const problem = timeoutProblem(value, maxStatementSeconds);
    return problem ? { sqlstate: '42501', message: `${problem} (startup parameter)` } : undefined;
  };
  for (const [name, value] of params) {
    const key = name.toLowerCase();
    if (key === 'user' || key === 'database') continue;
    requested[name] = value;
    if (key === 'options') {
      if (!allowOptions) {
        return { sqlstate: '42501', message: 'the startup parameter "options" is not allowed by the Vigil policy for this identity', hint: 'remove PGOPTIONS / options= from the connection' };
      }
      const settings = parseOptions(value);
      if (!settings) return { sqlstate: '0A000', message: 'Vigil could not read the startup parameter "options": only -c name=value settings are accepted' };
      for (const [n, v] of settings) {
        const r = review(n, v) ?? limit(n, v);
        if (r) return { ...r, message: `${r.message} (in options)` };
      }
      out[name] = value;
      continue;
    }
    const r = review(name, value) ?? limit(name, value);
    if (r) return r;
    if (key !== 'client_encoding') out[name] = value;
  }
  // Under a statement limit the server enforces it too, a second later: the gateway's own timer is the one
  // that cannot be lifted, and the one that records why it stopped the statement.
  if (maxStatementSeconds !== undefined && !timeout) out['statement_timeout'] = String(maxStatementSeconds * 1000 + 1000);
  // Pinned: whatever the client asked for (checked above), the server reads and writes UTF-8.
  out['client_encoding'] = 'UTF8';
  return { params: out, requested };
}

export function isRefusal(r: ReviewedSettings | StartupRefusal): r is StartupRefusal {
  return 'sqlstate' in r;
}
