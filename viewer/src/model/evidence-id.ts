/**
 * What ties an output (UI, PDF, HTML, CSV, asciicast) to the evidence it came from: the SHA-256 of the
 * bundle file exactly as received, the verification result, and whether the auditor compared that SHA-256
 * with the one `vigil export` printed on the appliance. "Compared" is recorded only when the auditor
 * confirmed it — a value that does not match can never be confirmed.
 */
import type { VerificationReport } from './types.ts';

/** The auditor's fingerprint step: the value they received (optional) and their confirmation. */
export interface FingerprintCheck {
  entered: string;
  confirmed: boolean;
}

export const NO_FINGERPRINT_CHECK: FingerprintCheck = { entered: '', confirmed: false };

export type Compared = 'yes' | 'no' | 'mismatch';

export interface EvidenceStamp {
  fileName: string;
  /** Lower-case hex; null while it is being computed or when the file could not be read. */
  sha256: string | null;
  /** PASS, INTEGRITY ONLY (content not checked), PARTIAL or FAILED: the verifier's verdict, as `vigil verify` says it. */
  result: string;
  compared: Compared;
}

/** While the SHA-256 is not known, outputs say so (never an empty cell that reads like "none"). */
export const SHA_UNKNOWN = 'not computed';

export function resultWord(r: Pick<VerificationReport, 'verdict'>): string {
  switch (r.verdict.status) {
    case 'pass':
      return 'PASS';
    case 'integrity-only':
      return 'INTEGRITY ONLY (content not checked)';
    case 'partial':
      return 'PARTIAL';
    case 'fail':
      return 'FAILED';
  }
}

/**
 * A SHA-256 out of what the auditor pasted: the `vigil export` line ("SHA-256 <hex>  <file>"), a
 * sha256sum line, or the hex alone (spaces and colons between groups allowed). Null when there is none.
 */
export function readSha256(text: string): string | null {
  const whole = /(?:^|[^0-9a-f])([0-9a-f]{64})(?![0-9a-f])/i.exec(text);
  if (whole) return whole[1]!.toLowerCase();
  const squeezed = text.replace(/[\s:]+/g, '');
  return /^[0-9a-f]{64}$/i.test(squeezed) ? squeezed.toLowerCase() : null;
}

/** How the entered value compares with the bundle's SHA-256. */
export function comparison(sha256: string | null, entered: string): 'none' | 'unreadable' | 'match' | 'mismatch' {
  if (!entered.trim()) return 'none';
  const v = readSha256(entered);
  if (!v) return 'unreadable';
  return sha256 !== null && v === sha256 ? 'match' : 'mismatch';
}

/** What the report records: yes only with a confirmation, a known SHA-256 and no contradicting value. */
export function comparedOf(sha256: string | null, check: FingerprintCheck): Compared {
  const c = comparison(sha256, check.entered);
  if (c === 'mismatch') return 'mismatch';
  return check.confirmed && sha256 !== null && c !== 'unreadable' ? 'yes' : 'no';
}

export function comparedWords(c: Compared): string {
  switch (c) {
    case 'yes':
      return 'yes (the auditor confirmed it equals the SHA-256 printed by vigil export on the appliance)';
    case 'no':
      return 'no (not confirmed)';
    case 'mismatch':
      return 'NO: the SHA-256 the auditor entered does not match this bundle';
  }
}

export function stampOf(fileName: string, sha256: string | null, report: Pick<VerificationReport, 'verdict'>, check: FingerprintCheck): EvidenceStamp {
  return { fileName, sha256, result: resultWord(report), compared: comparedOf(sha256, check) };
}

/** The evidence as report key/value rows (HTML and PDF). */
export function stampRows(e: EvidenceStamp | undefined, report: Pick<VerificationReport, 'verdict'>): [string, string][] {
  return [
    ['Verification result', e?.result ?? resultWord(report)],
    ['Bundle SHA-256', e?.sha256 ?? SHA_UNKNOWN],
    ['Fingerprint compared by the auditor', comparedWords(e?.compared ?? 'no')],
  ];
}

/** The evidence as the last columns of every CSV line: a row cut out of the sheet still names its bundle. */
export const STAMP_CSV_COLUMNS = ['bundle_sha256', 'verification'] as const;

export function stampCells(e: EvidenceStamp): string[] {
  return [e.sha256 ?? SHA_UNKNOWN, e.result];
}
