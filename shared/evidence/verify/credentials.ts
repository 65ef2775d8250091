/**
 * Credentials the appliance issued outside any session (`credential.issued` log entries, e.g. an SSH user
 * certificate traded for an OIDC token): who got what, valid for how long. Read from the signed log, so they
 * are as trustworthy as the log-inclusion check; the fields are shown as logged (strings capped), never
 * interpreted further.
 */
import type { LogEntry } from '../log-entry.ts';

export interface IssuedCredential {
  /** Log entry index and time. */
  entry: number;
  at: string;
  kind: string;
  provider: string | null;
  issuer: string | null;
  subject: string | null;
  tokenId: string | null;
  keyId: string | null;
  serial: string | null;
  principals: string[];
  validAfter: string | null;
  validBefore: string | null;
  keyFingerprint: string | null;
  caFingerprint: string | null;
  address: string | null;
}

const str = (v: unknown, max = 512): string | null => (typeof v === 'string' ? v.slice(0, max) : null);

/** The credential a `credential.issued` entry records, or undefined for any other entry. */
export function issuedCredential(e: LogEntry): IssuedCredential | undefined {
  if (e.type !== 'credential.issued') return undefined;
  const f: Record<string, unknown> = e;
  return {
    entry: e.i,
    at: e.t,
    kind: str(f['kind'], 64) ?? 'unknown',
    provider: str(f['provider'], 64),
    issuer: str(f['issuer']),
    subject: str(f['subject']),
    tokenId: str(f['tokenId']),
    keyId: str(f['keyId']),
    serial: str(f['serial'], 32),
    principals: Array.isArray(f['principals']) ? f['principals'].filter((p): p is string => typeof p === 'string').slice(0, 64).map((p) => p.slice(0, 256)) : [],
    validAfter: str(f['validAfter'], 64),
    validBefore: str(f['validBefore'], 64),
    keyFingerprint: str(f['keyFingerprint'], 128),
    caFingerprint: str(f['caFingerprint'], 128),
    address: str(f['address'], 128),
  };
}
