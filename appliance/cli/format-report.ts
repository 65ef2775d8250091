/** Human-readable verification report: checks, then one line per session with the exact reasons. */
import type { SessionReport, VerificationReport } from '../../shared/evidence/verify/report.ts';

const STATUS: Record<SessionReport['status'], string> = {
  complete: 'complete',
  interrupted: 'interrupted',
  'in-progress': 'in progress',
  failed: 'FAILED',
};

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
  out.push(`  verified    ${r.withKey ? 'with the auditor key (content decrypted and re-scanned)' : 'without the auditor key (content checks need --key)'}`);
  if (r.fatal) {
    out.push('', `FAILED: ${r.fatal}`);
    return out.join('\n') + '\n';
  }
  out.push('', 'Checks');
  for (const c of r.checks) {
    const tag = c.status === 'pass' ? '[pass]' : c.status === 'fail' ? '[FAIL]' : '[skip]';
    out.push(`  ${tag} ${c.title}${c.status === 'fail' ? '' : c.summary ? `: ${c.summary}` : ''}`);
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
    if (s.status === 'failed') for (const reason of s.reasons) out.push(`         ${reason}`);
    else if (s.status === 'interrupted') out.push(`         ${s.closeReason ?? 'interrupted'}; every durable frame verifies`);
  }
  if (r.approvals?.length) {
    out.push('', 'Approvals');
    for (const a of r.approvals) {
      const seq = r.sessions.find((x) => x.sessionId === a.sessionId)?.seq ?? '?';
      const who = a.decisions.map((d) => `${d.decision} by ${d.approver}${d.reason ? ` (${d.reason})` : ''}`).join('; ') || 'no decision';
      out.push(`  ${a.requestId.padEnd(20)} session #${seq} command ${a.command}: ${a.outcome.toUpperCase()}${a.ran ? ', ran' : ''} — ${who}${a.hashMatches ? '' : ' — HASH MISMATCH'}`);
      // The statement the approver was shown, which is the command that ran (checked against its record).
      if (a.statement !== null) {
        const text = a.statement.replace(/\s+/g, ' ');
        out.push(`  ${''.padEnd(20)} ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`);
      }
    }
  }
  const counts = new Map<string, number>();
  for (const s of r.sessions) counts.set(STATUS[s.status], (counts.get(STATUS[s.status]) ?? 0) + 1);
  const tally = [...counts].map(([k, v]) => `${v} ${k}`).join(', ');
  out.push('', `${r.ok ? 'PASS' : 'FAIL'}: ${r.sessions.length} session(s)${tally ? ` — ${tally}` : ''}`);
  return out.join('\n') + '\n';
}
