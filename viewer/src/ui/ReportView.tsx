import { useState } from 'react';
import { describeError } from '../../../shared/errors.ts';
import { chronologicalCsv } from '../model/csv.ts';
import { buildReport, renderHtml, reportFooter, reportStamp } from '../model/report.ts';
import { stampOf, type FingerprintCheck } from '../model/evidence-id.ts';
import { FingerprintStep } from './Fingerprint.tsx';
import type { BundleSha } from './use-evidence.ts';
import type { SessionDigest, VerificationReport } from '../model/types.ts';
import { saveFile } from '../platform.ts';
import { oneLine } from './Text.tsx';

export const VIEWER_VERSION = '0.1.0';
/** The PDF lists at most this many sessions (every failed, interrupted and in-progress one first); HTML and CSV list all. */
const PDF_MAX_SESSIONS = 2000;

function baseName(fileName: string): string {
  return fileName.replace(/\.vigil$/i, '').replace(/[^\w.-]+/g, '_').slice(0, 80) || 'bundle';
}

/** The audit handoff: who verified (typed by the auditor), the report as HTML and PDF, the chronological CSV. */
export function ReportView(props: {
  report: VerificationReport;
  digests: ReadonlyMap<string, SessionDigest>;
  fileName: string;
  auditor: string;
  onAuditor: (s: string) => void;
  keyId: string | undefined;
  sha: BundleSha;
  fingerprint: FingerprintCheck;
  onFingerprint: (c: FingerprintCheck) => void;
}) {
  const [busy, setBusy] = useState('');
  const [done, setDone] = useState<string[]>([]);
  const r = props.report;
  const name = baseName(props.fileName);
  // Every export names the bundle's SHA-256: wait for it (a failure to compute it is said in the exports).
  const hashing = props.sha.state === 'running' || props.sha.state === 'idle';
  const evidence = stampOf(props.fileName, props.sha.state === 'done' ? props.sha.sha256 : null, r, props.fingerprint);
  const input = (maxSessions?: number) => ({
    report: r,
    digests: props.digests,
    fileName: props.fileName,
    auditor: props.auditor,
    generatedAt: new Date().toISOString(),
    viewerVersion: VIEWER_VERSION,
    ...(props.keyId ? { keyId: props.keyId } : {}),
    ...(maxSessions ? { maxSessions } : {}),
    evidence,
  });
  const run = (what: string, fn: () => Promise<string>) => async () => {
    setBusy(what);
    try {
      const m = await fn();
      setDone((d) => [...d, m]);
    } catch (e) {
      setDone((d) => [...d, `${what} failed: ${describeError(e)}`]);
    } finally {
      setBusy('');
    }
  };
  return (
    <>
      {/* First: what the report will record about the file itself. */}
      <FingerprintStep sha={props.sha} check={props.fingerprint} onCheck={props.onFingerprint} />
      <section className="card">
        <h2>Report and exports</h2>
        <p className="muted small">
          The report records that this bundle was opened and verified, by whom and when. Exports contain only what the appliance recorded — card numbers masked, no secrets — and are written only where you choose.
        </p>
        <label style={{ display: 'block', maxWidth: 420, marginBottom: 12 }}>
          <div className="small">Your name (printed in the report as the person who verified)</div>
          <input type="text" value={props.auditor} onChange={(e) => props.onAuditor(e.target.value)} placeholder="e.g. Dana Auditor, QSA, Example Assessors Ltd" aria-label="Auditor name" style={{ width: '100%' }} maxLength={200} />
        </label>
        {!r.ok && <div className="error">Verification failed: the report will say so on its first page.</div>}
        {!r.withKey && <div className="notice">No auditor key loaded: the report will cover integrity only, and the CSV will hold no commands.</div>}
        <div className="actions">
          <button className="primary" disabled={!!busy || hashing || !props.auditor.trim()} onClick={run('PDF report', async () => {
            const { renderPdf } = await import('../model/report-pdf.ts');
            const i = input(PDF_MAX_SESSIONS);
            const pdf = await renderPdf(buildReport(i), { title: 'Vigil evidence verification report', author: i.auditor, footer: reportFooter({ ...i, fileName: oneLine(props.fileName, 80), auditor: oneLine(i.auditor, 80) }), stamp: reportStamp(i.report) });
            return saveFile(`${name}-report.pdf`, 'application/pdf', pdf);
          })}>
            Save PDF report
          </button>
          <button disabled={!!busy || hashing || !props.auditor.trim()} onClick={run('HTML report', async () => saveFile(`${name}-report.html`, 'text/html', renderHtml(buildReport(input()), reportStamp(props.report))))}>
            Save HTML report
          </button>
          <button disabled={!!busy || hashing} onClick={run('CSV', async () => saveFile(`${name}-log.csv`, 'text/csv', chronologicalCsv(r.sessions, props.digests, evidence, { fatal: r.fatal, approvals: r.approvals ?? [] })))}>
            Save chronological log (CSV)
          </button>
          {!props.auditor.trim() && <span className="muted small">Enter your name to create the report.</span>}
          {hashing && <span className="muted small">Waiting for the bundle's SHA-256 (every export names it)…</span>}
          {busy && <span className="muted small">Preparing the {busy}…</span>}
        </div>
        {done.length > 0 && (
          <ul className="small" data-testid="export-log">
            {done.map((d, i) => (
              <li key={i}>{d}</li>
            ))}
          </ul>
        )}
        <p className="muted small">Per-session terminal replays (.cast) are saved from each session's page; their header names this bundle's SHA-256 and result too.</p>
      </section>
    </>
  );
}
