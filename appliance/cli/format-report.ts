/** Human-readable verification report: checks, then one line per session with the exact reasons. */
import { fixPlurals, plural } from '../../shared/text/plural.ts';
import { coverageText, type CheckResult, type SessionReport, type VerificationReport } from '../../shared/evidence/verify/report.ts';

const STATUS: Record<SessionReport['status'], string> = {
  complete: 'complete',
  interrupted: 'interrupted',
  'in-progress': 'in progress',
  purged: 'purged',
  failed: 'FAILED',
};

const TAG: Record<CheckResult['status'], string> = { pass: '[pass]', partial: '[PART]', fail: '[FAIL]', skipped: '[skip]', 'not-run': '[not run]' };
// "INTEGRITY ONLY", not "PASS (integrity only)": a filter or a quick read for PASS must not take a bundle whose
// content nobody decrypted or re-scanned for a full pass.
const VERDICT_WORD: Record<VerificationReport['verdict']['status'], string> = { pass: 'PASS', 'integrity-only': 'INTEGRITY ONLY (content not checked)', partial: 'PARTIAL', fail: 'FAIL' };

/** What the log proves about a session whose archive is not readable: counts, or "unknown". */
function logFacts(s: SessionReport): string {
  const facts = [`${s.events ?? 'unknown'} events`, `${s.frames ?? 'unknown'} frames`, `${plural(s.approvalsLogged ?? 0, 'approval request')} logged`];
  return ` (${facts.join(', ')})`;
}

export function formatReport(r: VerificationReport, file: string): string {
  const out: string[] = [];
  const b = r.bundle;
  out.push(`Vigil evidence bundle ${file}`);
  if (b) {
    const window = b.range.since || b.range.until ? `${b.range.since ?? 'beginning'} → ${b.range.until ?? 'now'}` : 'all sessions';
    out.push(`  appliance   ${b.applianceId}`);
    out.push(`  exported    ${b.createdAt}   window: ${window}`);
    out.push(`  checkpoint  ${b.checkpoint.size} log entries at ${b.checkpoint.time}, key ${b.checkpoint.keyId}`);
  }
  // Only claim decryption and re-scan when the bundle could be read; the checks below say how far they got.
  out.push(`  verified    ${r.fatal ? 'nothing: the bundle could not be read' : r.withKey ? 'with the auditor key (content checks below)' : 'without the auditor key (content checks need --key)'}`);
  out.push('', 'Checks');
  for (const c of r.checks) {
    const cov = coverageText(c);
    out.push(`  ${TAG[c.status]} ${c.title}${cov ? ` [${cov}]` : ''}${c.status === 'fail' ? '' : c.summary ? `: ${fixPlurals(c.summary)}` : ''}`);
    for (const f of c.failures.slice(0, 20)) out.push(`         - ${f}`);
    if (c.failures.length > 20) out.push(`         - … ${c.failures.length - 20} more (see --json)`);
  }
  out.push('', 'Sessions');
  if (r.sessions.length === 0) out.push('  (none in this bundle\'s window)');
  for (const s of r.sessions) {
    const who = s.context?.identity?.subject ?? (s.context ? 'unauthenticated' : '?');
    const target = s.context?.target?.name ?? '-';
    const when = s.startedAt ? s.startedAt.replace('T', ' ').slice(0, 19) : '';
    const size = s.events !== undefined ? `${s.events} events` : s.frames !== undefined ? `${s.frames} frames` : '';
    out.push(`  #${String(s.seq ?? '?').padEnd(5)} ${STATUS[s.status].padEnd(12)} ${(s.protocol ?? '').padEnd(10)} ${who} → ${target}  ${when}  ${size}`.trimEnd());
    if (s.source === 'log') out.push(`         from the signed log; content unavailable${logFacts(s)}`);
    if (s.status === 'failed') for (const reason of s.reasons) out.push(`         ${reason}`);
    else if (s.status === 'purged') for (const reason of s.reasons) out.push(`         ${reason}`);
    else if (s.status === 'interrupted') out.push(`         ${s.closeReason ?? 'interrupted'}; every durable frame verifies`);
  }
  if (r.approvals?.length) {
    out.push('', 'Approvals');
    for (const a of r.approvals) {
      const seq = r.sessions.find((x) => x.sessionId === a.sessionId)?.seq ?? '?';
      const who = a.decisions.map((d) => `${d.decision} by ${d.approver}${d.reason ? ` (${d.reason})` : ''}`).join('; ') || 'no decision';
      const ran = a.ran === null ? ', ran: unknown' : a.ran ? ', ran' : '';
      const src = a.source === 'log' ? ' (from the signed log; content unavailable)' : '';
      out.push(`  ${a.requestId.padEnd(20)} session #${seq} command ${a.command < 0 ? '?' : a.command}: ${a.outcome.toUpperCase()}${ran} — ${who}${a.hashMatches ? '' : ' — HASH MISMATCH'}${src}`);
      // The statement the approver was shown, which is the command that ran (checked against its record).
      if (a.statement !== null) {
        const text = a.statement.replace(/\s+/g, ' ');
        out.push(`  ${''.padEnd(20)} ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`);
      }
    }
  }
  if (r.credentials?.length) {
    out.push('', 'Credentials issued (from the signed log)');
    for (const c of r.credentials.slice(0, 20)) {
      out.push(`  ${c.at.replace('T', ' ').slice(0, 19)}  ${c.kind} serial ${c.serial ?? '?'} to ${c.subject ?? '?'} (${c.issuer ?? '?'}), logins ${c.principals.join(', ') || 'none'}, valid until ${c.validBefore ?? '?'}`);
    }
    if (r.credentials.length > 20) out.push(`  … ${r.credentials.length - 20} more (see --json)`);
  }
  if (r.configChanges?.length) {
    out.push('', 'Configuration changes (from the signed log)');
    for (const c of r.configChanges.slice(0, 20)) {
      const what = c.reason === 'reload' ? `reloaded (SIGHUP)${c.applied.length ? `, applied: ${c.applied.join(', ')}` : ''}${c.restartNeeded.length ? `, awaiting restart: ${c.restartNeeded.join(', ')}` : ''}` : 'at init or start-up';
      out.push(`  ${c.at.replace('T', ' ').slice(0, 19)}  sha256 ${c.digest ?? '?'} ${what}`);
    }
    if (r.configChanges.length > 20) out.push(`  … ${r.configChanges.length - 20} more (see --json)`);
  }
  const counts = new Map<string, number>();
  for (const s of r.sessions) counts.set(STATUS[s.status], (counts.get(STATUS[s.status]) ?? 0) + 1);
  const tally = [...counts].map(([k, v]) => `${v} ${k}`).join(', ');
  if (r.fatal) out.push('', `FAILED: ${r.fatal}`);
  out.push('', fixPlurals(r.verdict.headline), `${VERDICT_WORD[r.verdict.status]}: ${plural(r.sessions.length, 'session')}${tally ? ` — ${tally}` : ''}`);
  return out.join('\n') + '\n';
}
