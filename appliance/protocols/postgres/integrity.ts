/**
 * Statements the gateway refuses whatever policy says: running them would leave Vigil unable to know what
 * the server executes next (a client encoding whose multibyte characters swallow a backslash, string
 * lexing with standard_conforming_strings off, a setting named at run time), or Vigil could not read them
 * at all (too large, not parsable, a parser fault). Each refusal has the SQLSTATE the client gets.
 */
import type { Classification } from '../../sql/index.ts';

export interface Refusal {
  sqlstate: string;
  /** Recorded as the decision's rule, under `vigil/` — or as is, for a policy's own rule (`policy`). */
  rule: string;
  reason: string;
  hint?: string;
  /** A policy rule (e.g. its limits): the client gets the policy's error, 42501. */
  policy?: boolean;
}

/** The decision rule a refusal is recorded under. */
export function refusalRule(r: Refusal): string {
  return r.policy ? r.rule : `vigil/${r.rule}`;
}

const BY_TAG: Record<string, (c: Classification) => Refusal> = {
  'changes-encoding': () => ({
    sqlstate: '0A000',
    rule: 'client-encoding',
    reason: 'Vigil pins client_encoding to UTF8: the statement would change how the server reads what follows',
    hint: 'send UTF-8 text; SET client_encoding is accepted only for UTF8',
  }),
  'changes-lexing': () => ({
    sqlstate: '0A000',
    rule: 'standard-conforming-strings',
    reason: 'Vigil requires standard_conforming_strings on: with it off the server would split statements differently from Vigil',
  }),
  'dynamic-setting': () => ({
    sqlstate: '0A000',
    rule: 'dynamic-setting',
    reason: 'set_config with a setting name that is not a constant could change how Vigil must read later statements',
    hint: 'name the setting as a string constant',
  }),
  'too-large': () => ({
    sqlstate: '54000',
    rule: 'statement-size',
    reason: 'the statement is longer than 1 MiB, the most Vigil classifies and records',
  }),
  'parse-error': (c) => ({
    sqlstate: '42601',
    rule: 'unparsable',
    reason: `Vigil could not parse this statement: ${c.parseError ?? 'syntax error'}`,
  }),
  'parser-fault': () => ({ sqlstate: '0A000', rule: 'classifier', reason: 'Vigil could not classify this statement (parser fault)' }),
  'internal-error': () => ({ sqlstate: '0A000', rule: 'classifier', reason: 'Vigil could not classify this statement (internal error)' }),
};

/** The refusal that applies to a classified text, if any (the first statement that needs one decides). */
export function integrityRefusal(c: Classification): Refusal | undefined {
  for (const s of c.statements) {
    for (const t of s.tags) {
      const r = BY_TAG[t];
      if (r) return r(c);
    }
  }
  return undefined;
}

/** Invalid UTF-8 in SQL text: the server would read other characters than Vigil classified. */
export const INVALID_UTF8: Refusal = {
  sqlstate: '22021',
  rule: 'utf8',
  reason: 'invalid byte sequence for encoding "UTF8" in the statement text',
};
