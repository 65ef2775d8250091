/**
 * The audit report as a small document model, rendered twice from the same blocks: HTML (a single
 * self-contained file with a CSP that allows no script) and PDF (pdf-lib, report-pdf.ts). Every string
 * from the bundle is data: escaped in HTML, drawn as text in the PDF.
 */
import { formatFingerprint } from '../../../shared/evidence/key-id.ts';
import { PCI_NOTE, figures, pciRows } from './pci.ts';
import { formatBytes } from './sessions.ts';
import type { ApprovalRow, SessionDigest, VerificationReport } from './types.ts';
import { CHECK_WORD, FROM_LOG, UNKNOWN, countsKnown, logApprovalRow } from './evidence-state.ts';
import { coverageText } from '../../../shared/evidence/verify/report.ts';
import { approvalTimeline, timelineText } from './approval-timeline.ts';
import { SHA_UNKNOWN, comparedWords, stampRows, type EvidenceStamp } from './evidence-id.ts';
import { fixPlurals, formatTimeMs, plural } from './report-text.ts';
import { CONFIG_WHO, configChangeRows, configChangesProven, previousNote } from './config-changes.ts';

export type Tone = 'pass' | 'fail' | 'warn' | 'muted';

export type Block =
  | { kind: 'title'; text: string }
  | { kind: 'h'; text: string }
  | { kind: 'p'; text: string; tone?: Tone }
  | { kind: 'kv'; rows: [string, string][] }
  /** `ids`: columns of identifiers, broken in HTML only at spaces, never mid-token (the PDF keeps every word whole). */
  | { kind: 'table'; columns: string[]; widths: number[]; rows: string[][]; tones?: (Tone | undefined)[]; note?: string; ids?: number[] };

export interface ReportInput {
  report: VerificationReport;
  digests: ReadonlyMap<string, SessionDigest>;
  fileName: string;
  auditor: string;
  /** When the auditor generated the report (ISO). */
  generatedAt: string;
  keyId?: string;
  viewerVersion: string;
  /** Sessions listed at most (the CSV has all); failed, interrupted and in-progress ones always are. */
  maxSessions?: number;
  /** The bundle's SHA-256, the result and the auditor's fingerprint step (absent: reported as not done). */
  evidence?: EvidenceStamp;
}

export const STATUS_WORDS: Record<string, string> = { complete: 'complete', interrupted: 'interrupted', 'in-progress': 'in progress', purged: 'purged (retention)', failed: 'FAILED' };

/** Every approval request: from the decrypted sessions, plus what the signed log proves for sessions whose content is unavailable. */
export function approvalsOf(digests: ReadonlyMap<string, SessionDigest>, report: VerificationReport): ApprovalRow[] {
  const out: ApprovalRow[] = [];
  const seen = new Set<string>();
  const bySession = new Map(report.sessions.map((s) => [s.sessionId, s]));
  for (const s of report.sessions) for (const a of digests.get(s.sessionId)?.approvals ?? []) out.push(a), seen.add(a.requestId);
  for (const a of report.approvals ?? []) {
    if (a.source === 'log' && !seen.has(a.requestId) && bySession.has(a.sessionId)) out.push(logApprovalRow(a, bySession.get(a.sessionId)));
  }
  // In the order the requests were made, those known only from the signed log among them (not after them);
  // a request without a time keeps its session's place.
  const at = (a: ApprovalRow): number => {
    const logged = a.requestedAt ? Date.parse(a.requestedAt) : NaN;
    if (Number.isFinite(logged)) return logged;
    const start = Date.parse(bySession.get(a.sessionId)?.startedAt ?? '');
    if (!Number.isFinite(start)) return Infinity;
    return a.requestedT !== null ? start + a.requestedT : start;
  };
  const keyed = out.map((a, i) => ({ a, i, t: at(a), seq: a.seq ?? Infinity }));
  keyed.sort((x, y) => (x.t !== y.t ? (x.t < y.t ? -1 : 1) : x.seq !== y.seq ? (x.seq < y.seq ? -1 : 1) : x.i - y.i));
  return keyed.map((k) => k.a);
}

export function hashCheckWords(a: ApprovalRow): string {
  if (a.fromLog) return `unknown: ${FROM_LOG}`;
  if (a.outcome !== 'approved') return a.outcome === 'pending' ? 'no decision recorded' : 'not executed';
  return a.hashCheck === 'match' ? 'MATCH: executed command = approved hash' : a.hashCheck === 'mismatch' ? 'MISMATCH: executed command differs from the approved one' : 'hash of the executed command not recorded';
}

/** What every page of an export must say when the evidence is not certified ('' when it is). */
export function reportStamp(r: VerificationReport): string {
  if (r.verdict.status === 'fail') return r.fatal ? 'VERIFICATION FAILED: the bundle could not be read; nothing here is verified' : 'VERIFICATION FAILED: do not rely on this evidence';
  if (r.verdict.status === 'partial') return 'PARTIAL: not all of the evidence could be checked';
  // Each printed page may be read alone: a keyless verification says on every one that content was not checked.
  if (r.verdict.status === 'integrity-only') return 'INTEGRITY ONLY: no auditor key; commands and card-number masking not checked';
  return '';
}

export function buildReport(input: ReportInput): Block[] {
  const { report: r, digests } = input;
  const f = figures(r, digests);
  const blocks: Block[] = [];
  blocks.push({ kind: 'title', text: 'Vigil evidence verification report' });
  const opened = { by: input.auditor.trim(), at: input.generatedAt };
  blocks.push({
    kind: 'p',
    text: `The evidence bundle ${input.fileName} (SHA-256 ${input.evidence?.sha256 ?? SHA_UNKNOWN}) was opened and verified offline by ${opened.by || '(auditor name not entered)'} with Vigil Evidence Viewer ${input.viewerVersion}. Verification ran at ${formatTimeMs(r.verifiedAt)}; this report was generated at ${formatTimeMs(input.generatedAt)}. ${contentSentence(r, input.keyId)}`,
  });
  // Worded from the verifier's verdict: a fatal bundle gets no counts (there are none to claim).
  const verdict = r.fatal
    ? `FAILED: the bundle could not be read (${r.fatal}). No check ran past that point; nothing in this report is verified.`
    : r.verdict.status === 'pass'
      ? `PASS: every check passed. ${sessionCounts(f)}`
      : r.verdict.status === 'fail'
        ? `FAILED: ${plural(r.checks.filter((c) => c.status === 'fail').length, 'check')} failed. ${sessionCounts(f)}`
        : `${fixPlurals(r.verdict.headline)}. ${sessionCounts(f)}`;
  blocks.push({ kind: 'p', text: verdict, tone: r.verdict.status === 'pass' ? 'pass' : r.verdict.status === 'fail' ? 'fail' : 'warn' });
  // What this report is about, before anything else: the exact file, its result, the auditor's comparison.
  blocks.push({ kind: 'kv', rows: stampRows(input.evidence, r) });

  blocks.push({ kind: 'h', text: 'Verification checks' });
  blocks.push({
    kind: 'table',
    columns: ['Check', 'Result', 'Detail'],
    widths: [0.3, 0.1, 0.6],
    rows: r.checks.map((c) => [
      c.title,
      CHECK_WORD[c.status],
      fixPlurals([coverageText(c), c.status === 'not-run' || c.status === 'skipped' ? c.summary || 'not run' : c.summary, ...c.failures.slice(0, 50), ...(c.failures.length > 50 ? [`… and ${c.failures.length - 50} more`] : [])].filter(Boolean).join('\n')),
    ]),
    tones: r.checks.map((c) => (c.status === 'pass' ? 'pass' : c.status === 'fail' ? 'fail' : c.status === 'partial' ? 'warn' : 'muted')),
  });

  blocks.push({ kind: 'h', text: 'Bundle and trust' });
  const b = r.bundle;
  blocks.push({
    kind: 'kv',
    rows: [
      ['File', `${input.fileName}${b ? ` (${formatBytes(b.bytes)})` : ''}`],
      ['SHA-256 of the file', input.evidence?.sha256 ?? SHA_UNKNOWN],
      ...(b
        ? ([
            ['Bundle id', b.bundleId],
            ['Appliance', b.applianceId],
            ['Exported', formatTimeMs(b.createdAt)],
            ['Export window', `${b.range.since ? formatTimeMs(b.range.since) : 'from the beginning'} – ${b.range.until ? formatTimeMs(b.range.until) : 'to the export'}`],
            ['Checkpoint', `${plural(b.checkpoint.size, 'log entry', 'log entries')} at ${formatTimeMs(b.checkpoint.time)}, signed by key ${b.checkpoint.keyId}`],
            ['Checkpoint root', b.checkpoint.root],
            ['Log excerpt', `entries ${b.log.from} to ${b.log.to - 1}`],
          ] as [string, string][])
        : []),
      ['Pinned checkpoint', `${plural(r.trust.pinnedCheckpoint.size, 'log entry', 'log entries')} at ${formatTimeMs(r.trust.pinnedCheckpoint.time)}`],
      ...r.trust.keys.map((k): [string, string] => [`Appliance key ${k.keyId}`, `${formatFingerprint(k.fingerprint)}; valid ${formatTimeMs(k.validFrom)} – ${k.validUntil ? formatTimeMs(k.validUntil) : 'now'}; ${k.source}`]),
    ],
  });

  blocks.push({ kind: 'h', text: 'PCI DSS v4.0.1: requirement → evidence in this bundle' });
  blocks.push({
    kind: 'table',
    columns: ['Requirement', 'In short', 'Evidence in this bundle'],
    widths: [0.14, 0.36, 0.5],
    rows: pciRows(r, digests, opened).map((p) => [p.req, p.short, fixPlurals(p.evidence)]),
    note: PCI_NOTE,
  });

  blocks.push({ kind: 'h', text: 'Sessions' });
  // An unread bundle lists no sessions, and an empty table would read as "none": say it is not known.
  if (r.fatal) blocks.push({ kind: 'p', text: 'Not known: the bundle could not be read.', tone: 'fail' });
  const max = input.maxSessions ?? Infinity;
  const listed = r.sessions.length <= max ? r.sessions : [...r.sessions.filter((s) => s.status !== 'complete'), ...r.sessions.filter((s) => s.status === 'complete')].slice(0, max).sort((x, y) => (x.seq ?? 0) - (y.seq ?? 0));
  if (!r.fatal) blocks.push({
    kind: 'table',
    // Identity and target share a column wide enough for a long identity: identifiers stay whole and readable.
    columns: ['#', 'Session id', 'Status', 'Protocol', 'Identity → target', 'Started (UTC)', 'Cmds', 'Blocks', 'Approvals', 'Masked', 'Notes'],
    widths: [0.03, 0.19, 0.065, 0.055, 0.25, 0.09, 0.035, 0.04, 0.055, 0.045, 0.145],
    ids: [1, 2, 4, 5],
    rows: listed.map((s) => {
      const d = digests.get(s.sessionId);
      const st = s.stats ?? {};
      const known = countsKnown(s, d);
      const n = (v: number) => (known ? String(v) : UNKNOWN);
      return [
        String(s.seq ?? '?'),
        s.sessionId,
        STATUS_WORDS[s.status] ?? s.status,
        s.protocol ?? '',
        `${s.context?.identity?.subject ?? ''}\n→ ${s.context?.target?.name ?? ''}`,
        formatTimeMs(s.startedAt).replace(/ UTC$/, ''),
        n(d ? d.commands.length : (st.command ?? 0)),
        n(d ? d.blocks : (st['decision.block'] ?? 0)),
        known ? String(d ? d.approvals.length : (st['approval.requested'] ?? 0)) : String(s.approvalsLogged ?? UNKNOWN),
        n(d ? d.masked : (st.masked ?? 0)),
        [...(s.source === 'log' ? [`${FROM_LOG} (${s.frames === undefined ? `${UNKNOWN} frames` : plural(s.frames, 'frame')}, ${s.events === undefined ? `${UNKNOWN} events` : plural(s.events, 'event')})`] : []), ...s.reasons.map(fixPlurals)].join('; '),
      ];
    }),
    tones: listed.map((s) => (s.status === 'failed' ? 'fail' : s.status === 'complete' ? undefined : 'warn')),
    ...(listed.length < r.sessions.length ? { note: `${listed.length} of ${r.sessions.length} sessions listed (every failed, interrupted and in-progress one); the CSV export lists every command of every session.` } : {}),
  });

  blocks.push({ kind: 'h', text: 'Approvals register' });
  const approvals = approvalsOf(digests, r);
  if (r.fatal) blocks.push({ kind: 'p', text: 'Not known: the bundle could not be read.', tone: 'fail' });
  else if (!r.withKey && approvals.length === 0) blocks.push({ kind: 'p', text: 'The approvals register is read from the decrypted sessions: load the auditor key to fill it.', tone: 'muted' });
  else if (approvals.length === 0) blocks.push({ kind: 'p', text: r.sessions.some((s) => !s.contentAvailable) ? 'No approval request in the decrypted sessions or in the signed log.' : 'No approval was requested in this bundle.', tone: 'muted' });
  else {
    const startOf = new Map(r.sessions.map((s) => [s.sessionId, s.startedAt]));
    const timelines = approvals.map((a) => approvalTimeline(a, startOf.get(a.sessionId)));
    blocks.push({
      kind: 'table',
      columns: ['Request', 'Session', 'Requester', 'Command', 'Justification', 'Requested → decided → released → finished (UTC)', 'Outcome', 'Hash check'],
      // The requester gets the room of a sessions-table identity (0.2): a SPIFFE id or a GitHub OIDC subject stays on one line.
      widths: [0.1, 0.04, 0.2, 0.13, 0.08, 0.29, 0.06, 0.1],
      ids: [0, 2],
      rows: approvals.map((a, i) => [
        a.requestId,
        `#${a.seq ?? '?'}`,
        a.requester,
        a.fromLog ? `(${FROM_LOG})` : a.commandText,
        a.justification ?? '',
        timelineText(timelines[i]!),
        a.outcome,
        hashCheckWords(a),
      ]),
      tones: approvals.map((a, i) => (timelines[i]!.order === 'violated' || a.hashCheck === 'mismatch' ? 'fail' : a.outcome === 'approved' && a.hashCheck === 'match' ? 'pass' : undefined)),
    });
  }
  const credentials = r.credentials ?? [];
  if (credentials.length) {
    const proven = r.checks.find((c) => c.id === 'log-inclusion')?.status === 'pass';
    blocks.push({ kind: 'h', text: 'Credentials issued' });
    blocks.push({
      kind: 'p',
      text: `${plural(credentials.length, 'credential')} the appliance issued outside sessions, from the signed log (credential.issued); the tokens traded for them are never logged. ${proven ? 'Covered by the verified checkpoint.' : 'The log did not verify: these entries are what the bundle claims, not proven.'}`,
      ...(proven ? {} : { tone: 'fail' as const }),
    });
    const shown = credentials.slice(0, 200);
    blocks.push({
      kind: 'table',
      columns: ['Issued (UTC)', 'To (token subject, issuer)', 'Credential (serial, key id)', 'Logins', 'Valid until (UTC)'],
      widths: [0.14, 0.28, 0.34, 0.1, 0.14],
      ids: [1],
      rows: shown.map((c) => [
        formatTimeMs(c.at),
        `${c.subject ?? 'unknown'} (${c.issuer ?? 'issuer unknown'})`,
        `${c.kind === 'ssh-user-certificate' ? 'SSH user certificate' : c.kind}, serial ${c.serial ?? '?'}, ${c.keyId ?? 'no key id'}`,
        c.principals.join(', ') || 'none',
        c.validBefore ? formatTimeMs(c.validBefore) : 'unknown',
      ]),
      ...(shown.length < credentials.length ? { note: `${shown.length} of ${credentials.length} credentials listed; vigil verify --json lists every one.` } : {}),
    });
  }
  const changes = configChangeRows(r);
  if (changes.length) {
    const proven = configChangesProven(r);
    blocks.push({ kind: 'h', text: 'Configuration changes' });
    blocks.push({
      kind: 'p',
      text: `${plural(changes.length, 'configuration change')} from the signed log (config.changed): each vigil.yaml the appliance ran with, by SHA-256. ${CONFIG_WHO} ${proven ? 'Covered by the verified checkpoint.' : 'The log did not verify: these entries are what the bundle claims, not proven.'}`,
      ...(proven ? {} : { tone: 'fail' as const }),
    });
    const shown = changes.slice(0, 200);
    blocks.push({
      kind: 'table',
      columns: ['When (UTC)', 'Old → new configuration (SHA-256 of vigil.yaml)', 'Triggered by', 'Log entry'],
      widths: [0.15, 0.5, 0.27, 0.08],
      ids: [1],
      rows: shown.map((c) => [formatTimeMs(c.at), `${c.previous}${previousNote(c)}
→ ${c.digest}`, c.sections ? `${c.trigger}; ${c.sections}` : c.trigger, String(c.entry)]),
      ...(shown.length < changes.length ? { note: `${shown.length} of ${changes.length} changes listed; vigil verify --json lists every one.` } : {}),
    });
  }
  blocks.push({ kind: 'p', text: 'All times are UTC, to the millisecond. Card numbers appear only as the appliance masked them; this report and its exports contain no decrypted secret.', tone: 'muted' });
  return blocks;
}

/** The PDF's footer lines (the page number is added after the last): every page names its evidence. */
export function reportFooter(input: Pick<ReportInput, 'fileName' | 'auditor' | 'generatedAt' | 'evidence'>): string[] {
  const e = input.evidence;
  return [
    `Vigil evidence report - ${input.fileName} - verified by ${input.auditor.trim() || '(auditor name not entered)'} at ${formatTimeMs(input.generatedAt)}`,
    `Bundle SHA-256 ${e?.sha256 ?? SHA_UNKNOWN} - verification result ${e?.result ?? 'not known'} - fingerprint compared by the auditor: ${comparedWords(e?.compared ?? 'no').replace(/ \(the auditor confirmed.*\)$/, '')}`,
  ];
}

/** Claims decryption and re-scan only as far as the decryption check covered them. */
function contentSentence(r: VerificationReport, keyId: string | undefined): string {
  if (r.fatal) return 'The bundle could not be read: nothing was verified, decrypted or re-scanned.';
  if (!r.withKey) return 'No auditor key was loaded: content checks (decryption, TAG_FINAL, card-number re-scan) did not run; integrity verified — content not checked.';
  const d = r.checks.find((c) => c.id === 'decryption');
  return `Content of ${d ? coverageText(d) || 'no archive' : 'no archive'} was decrypted with auditor key ${keyId ?? ''} and re-scanned for clear card data.`;
}

function sessionCounts(f: ReturnType<typeof figures>): string {
  return `${plural(f.sessions, 'session')}: ${f.complete} complete, ${f.interrupted} interrupted, ${f.inProgress} in progress, ${f.failed} failed${f.purged ? `, ${f.purged} purged by retention` : ''}.`;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  // Control characters (terminal escapes) are shown, not passed through.
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Each white-space-separated token unbreakable (a browser would break a UUID at its hyphens). */
function wholeTokens(escaped: string): string {
  return escaped.replace(/[^\s]+/g, (t) => `<span class="nb">${t}</span>`);
}

export function renderHtml(blocks: readonly Block[], stamp = ''): string {
  const body = blocks
    .map((b) => {
      switch (b.kind) {
        case 'title':
          return `<h1>${escapeHtml(b.text)}</h1>`;
        case 'h':
          return `<h2>${escapeHtml(b.text)}</h2>`;
        case 'p':
          return `<p${b.tone ? ` class="${b.tone}"` : ''}>${escapeHtml(b.text)}</p>`;
        case 'kv':
          return `<table class="kv">${b.rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
        case 'table':
          return `<table><thead><tr>${b.columns.map((c, i) => `<th style="width:${Math.round(b.widths[i]! * 100)}%">${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${b.rows
            .map((row, i) => `<tr${b.tones?.[i] ? ` class="${b.tones[i]}"` : ''}>${row.map((c, ci) => (b.ids?.includes(ci) ? `<td>${wholeTokens(escapeHtml(c))}</td>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`)
            .join('\n')}</tbody></table>${b.note ? `<p class="muted">${escapeHtml(b.note)}</p>` : ''}`;
      }
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Vigil evidence verification report</title>
<style>
.stamp{position:fixed;left:0;right:0;background:#b3261e;color:#fff;font-weight:700;text-align:center;padding:3px;font-size:12px}.stamp.top{top:0}.stamp.bottom{bottom:0}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2733;margin:2rem auto;max-width:1200px;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .6rem}h2{font-size:1.15rem;margin:1.8rem 0 .5rem;border-bottom:1px solid #d5dde6;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;font-size:12px}th,td{border:1px solid #d5dde6;padding:4px 6px;text-align:left;vertical-align:top;white-space:pre-wrap;overflow-wrap:anywhere}
th{overflow-wrap:normal}.nb{white-space:nowrap}
thead th{background:#eef2f6}.kv th{width:22%;background:#f5f7fa;font-weight:600}
p.pass{background:#e6f4ea;border-left:4px solid #1e7b3a;padding:.5rem .8rem;font-weight:600}p.fail{background:#fdecea;border-left:4px solid #b3261e;padding:.5rem .8rem;font-weight:600}
tr.pass td:nth-child(2){color:#1e7b3a;font-weight:600}tr.fail td{background:#fdecea}tr.warn td{background:#fff8e1}.muted{color:#5b6773;font-size:12px}
</style></head><body>
${stamp ? `<div class="stamp top" data-stamp>${escapeHtml(stamp)}</div><div class="stamp bottom" data-stamp>${escapeHtml(stamp)}</div>` : ''}
${body}
</body></html>
`;
}
