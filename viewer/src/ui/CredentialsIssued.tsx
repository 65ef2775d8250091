/**
 * Credentials the appliance issued outside sessions (SSH user certificates traded for tokens), from the
 * signed log: who got one, for which logins, valid until when. Proven only as far as the log-inclusion check
 * passed — otherwise the table says so, and the entries are shown as what the bundle claims.
 */
import type { IssuedCredential } from '../../../shared/evidence/verify/credentials.ts';
import { formatTime } from '../model/sessions.ts';
import { plural } from '../model/report-text.ts';
import type { VerificationReport } from '../model/types.ts';
import { oneLine } from './Text.tsx';

const SHOWN = 500;

const KIND_WORDS: Record<string, string> = { 'ssh-user-certificate': 'SSH user certificate' };

export function CredentialsIssued({ report }: { report: VerificationReport }) {
  const list: IssuedCredential[] = report.credentials ?? [];
  if (list.length === 0) return null;
  const log = report.checks.find((c) => c.id === 'log-inclusion');
  const proven = log?.status === 'pass';
  return (
    <section className="card" aria-labelledby="cred-title" data-testid="credentials-issued">
      <h2 id="cred-title">Credentials issued ({list.length})</h2>
      <p className="muted small">
        From the signed log (<code>credential.issued</code>): each credential Vigil minted outside a session, and the token that paid for it.
        {proven ? ' Covered by the verified checkpoint.' : <strong style={{ color: 'var(--fail)' }}> The log did not verify: these entries are what the bundle claims, not proven.</strong>}
      </p>
      <table className="plain" data-testid="credentials-table">
        <thead>
          <tr>
            <th>Issued (UTC)</th>
            <th>To (token subject, issuer)</th>
            <th>Credential</th>
            <th>Logins</th>
            <th>Valid until</th>
            <th>Certified key</th>
          </tr>
        </thead>
        <tbody>
          {list.slice(0, SHOWN).map((c) => (
            <tr key={c.entry} data-entry={c.entry}>
              <td>{formatTime(c.at)}</td>
              <td>
                {oneLine(c.subject ?? 'unknown', 160)}
                <div className="muted small">
                  {oneLine(c.issuer ?? 'issuer unknown', 160)}
                  {c.provider ? ` (${oneLine(c.provider, 40)})` : ''}
                  {c.address ? ` · from ${oneLine(c.address, 64)}` : ''}
                </div>
              </td>
              <td>
                {KIND_WORDS[c.kind] ?? oneLine(c.kind, 64)}
                <div className="muted small mono">
                  serial {oneLine(c.serial ?? '?', 32)} · {oneLine(c.keyId ?? 'no key id', 200)}
                </div>
              </td>
              <td style={{ whiteSpace: 'nowrap' }}>{c.principals.length ? oneLine(c.principals.join(', '), 200) : <span className="muted">none</span>}</td>
              <td style={{ whiteSpace: 'nowrap' }}>
                {c.validBefore ? formatTime(c.validBefore) : 'unknown'}
                {c.validAfter && <div className="muted small">from {formatTime(c.validAfter)}</div>}
              </td>
              <td className="mono small">{oneLine(c.keyFingerprint ?? 'unknown', 80)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.length > SHOWN && <p className="muted">… and {plural(list.length - SHOWN, 'more credential')}, in the report's JSON.</p>}
    </section>
  );
}
