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

/**
 * Generated identifiers Vigil prints (SHA-256 digests, UUIDs, 16-hex key ids, spaced key fingerprints, SSH
 * SHA256 fingerprints): strict card-number detection reads the digits glued across their hex letters, so
 * about one digest in two hundred would pass for a PAN. Blanked before the scan, but only when the
 * identifier has a letter in it: a run of digits alone (what a PAN is) is always scanned.
 */
const IDENTIFIERS = [
  /\b[0-9a-f]{64}\b/gi,
  /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi,
  /\b(?:[0-9A-F]{4} ){15}[0-9A-F]{4}\b/g,
  /\b[0-9a-f]{16}\b/gi,
  /\bSHA256:[A-Za-z0-9+/]{43}/g,
];

export function withoutIdentifiers(line: string): string {
  return IDENTIFIERS.reduce((l, re) => l.replace(re, (m) => (/[a-z]/i.test(m.replace(/^SHA256:/, '')) ? '#'.repeat(m.length) : m)), line);
}

/** Secrets in the lines as written; card numbers with the generated identifiers blanked (withoutIdentifiers). */
export function scanLogLines(lines: readonly string[], secrets: readonly string[]): { line: number; what: string }[] {
  const out: { line: number; what: string }[] = [];
  lines.forEach((l, i) => {
    for (const [re, what] of PATTERNS) if (re.test(l)) out.push({ line: i + 1, what });
    for (const s of secrets) if (l.includes(s)) out.push({ line: i + 1, what: `a registered secret (${s.slice(0, 3)}…)` });
    for (const m of findCardData(withoutIdentifiers(l), { strict: true })) out.push({ line: i + 1, what: `a clear card number (${m.kind} at column ${m.start})` });
  });
  return out;
}
