/**
 * What a log line must never hold: a clear card number (the project's own detector, strict mode), a JWT,
 * a private key, a SCRAM exchange, a bearer/basic credential, or a secret a fixture registered.
 */
import { findCardData } from '../../shared/pan/index.ts';

const PATTERNS: [RegExp, string][] = [
  [/eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*/, 'a JWT'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  [/\bc=biws\b|\br=[A-Za-z0-9+/=]{16,},s=[A-Za-z0-9+/=]+,i=\d+/, 'a SCRAM exchange'],
  [/\b(?:Bearer|Basic)\s+[A-Za-z0-9+/=._-]{12,}/, 'an Authorization credential'],
];

export function scanLogLines(lines: readonly string[], secrets: readonly string[]): { line: number; what: string }[] {
  const out: { line: number; what: string }[] = [];
  lines.forEach((l, i) => {
    for (const [re, what] of PATTERNS) if (re.test(l)) out.push({ line: i + 1, what });
    for (const s of secrets) if (l.includes(s)) out.push({ line: i + 1, what: `a registered secret (${s.slice(0, 3)}…)` });
    for (const m of findCardData(l, { strict: true })) out.push({ line: i + 1, what: `a clear card number (${m.kind} at column ${m.start})` });
  });
  return out;
}
