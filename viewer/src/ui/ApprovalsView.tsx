import { approvalTimeline } from '../model/approval-timeline.ts';
import { FROM_LOG } from '../model/evidence-state.ts';
import { plural } from '../model/report-text.ts';
import { approvalsOf, hashCheckWords } from '../model/report.ts';
import type { ApprovalRow, SessionDigest, VerificationReport } from '../model/types.ts';
import { ApprovalSteps } from './ApprovalTimeline.tsx';
import { Txt, oneLine } from './Text.tsx';

function HashMark({ a }: { a: ApprovalRow }) {
  const words = hashCheckWords(a);
  if (a.fromLog)
    return (
      <span className="hash none" title={words} data-hash="unknown">
        unknown — content unavailable
      </span>
    );
  if (a.outcome === 'approved' && a.hashCheck === 'match')
    return (
      <span className="hash match" title={words} data-hash="match">
        ✓ matches
      </span>
    );
  if (a.hashCheck === 'mismatch')
    return (
      <span className="hash mismatch" title={words} data-hash="mismatch">
        ✗ differs
      </span>
    );
  return (
    <span className="hash none" title={words} data-hash="none">
      — {words}
    </span>
  );
}

/** Every approval request in the bundle: who asked, who decided, why, when, and whether what ran is what was approved. */
export function ApprovalsView({ report, digests, onOpenSession }: { report: VerificationReport; digests: ReadonlyMap<string, SessionDigest>; onOpenSession: (id: string) => void }) {
  const rows = approvalsOf(digests, report);
  if (!report.withKey && rows.length === 0) return <div className="notice">The approvals register is read from the decrypted sessions: load the auditor key (Verification → step 3).</div>;
  const fromLog = rows.filter((a) => a.fromLog).length;
  const startOf = new Map(report.sessions.map((s) => [s.sessionId, s.startedAt]));
  return (
    <section className="card">
      <h2>Approvals register</h2>
      <p className="muted small">
        A check mark means the command that ran carries the same hash (session id + exact command bytes) as the one the approver approved.
      </p>
      {fromLog > 0 && (
        <div className="notice fromlog" data-testid="approvals-from-log">
          {plural(fromLog, 'request')} {FROM_LOG}: the archive of their session is missing, unreadable or not decrypted, so who asked and who decided come from the verified transparency log; the
          command text and whether it ran are unknown.
        </div>
      )}
      {rows.length === 0 ? (
        <p className="empty">{report.sessions.some((s) => !s.contentAvailable) ? 'No approval request in the decrypted sessions or in the signed log.' : 'No approval was requested in this bundle.'}</p>
      ) : (
        <div style={{ overflowX: 'auto' }}>
          <table className="plain" data-testid="approvals">
            <thead>
              <tr>
                <th>Request</th>
                <th>Session</th>
                <th>Requester</th>
                <th>Command and justification</th>
                <th style={{ whiteSpace: 'normal' }}>Requested → decided → released → finished (UTC)</th>
                <th>Outcome</th>
                <th>Executed command</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a, i) => (
                <tr key={i} data-request={oneLine(a.requestId, 64)} data-source={a.fromLog ? 'log' : 'archive'}>
                  <td className="mono nowrap">{oneLine(a.requestId, 64)}</td>
                  <td>
                    <button className="link" onClick={() => onOpenSession(a.sessionId)}>
                      #{a.seq ?? '?'}
                    </button>
                  </td>
                  <td style={{ minWidth: 130 }}>
                    <Txt text={a.requester} max={200} />
                    {a.requesterIssuer && <div className="muted small">{oneLine(a.requesterIssuer, 120)}</div>}
                    {a.target && <div className="muted small">on {oneLine(a.target, 80)}</div>}
                  </td>
                  <td>
                    <pre className="cmd">
                      <Txt text={a.fromLog ? `command ${a.command ?? '?'}: text unknown` : a.commandText || '(command not recorded)'} max={2000} />
                    </pre>
                    {a.fromLog && <div className="muted small fromlog">{FROM_LOG}</div>}
                    {a.justification && (
                      <div className="small">
                        Justification: <Txt text={a.justification} max={500} />
                      </div>
                    )}
                    {a.rule && <div className="muted small">rule {oneLine(a.rule, 80)}</div>}
                  </td>
                  <td>
                    <ApprovalSteps tl={approvalTimeline(a, startOf.get(a.sessionId))} compact />
                  </td>
                  <td>
                    <span className={`badge ${oneLine(a.outcome, 20)}`}>{a.outcome}</span>
                  </td>
                  <td>
                    <HashMark a={a} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
