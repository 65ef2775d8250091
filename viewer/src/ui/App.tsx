/**
 * The auditor's viewer: trust file → bundle → (auditor key) → verification summary, sessions, approvals,
 * replay and the audit handoff. All verification and decryption runs in a Web Worker; this thread only
 * renders. Nothing is persisted: no localStorage, no IndexedDB, no cookies.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { onOpenFile } from '../platform.ts';
import { NO_FINGERPRINT_CHECK, stampOf, type FingerprintCheck } from '../model/evidence-id.ts';
import { PILL } from '../model/evidence-state.ts';
import { approvalsOf } from '../model/report.ts';
import { sessionRows } from '../model/sessions.ts';
import type { SessionDigest, SessionRow } from '../model/types.ts';
import { VerifierClient } from '../worker/client.ts';
import { ApprovalsView } from './ApprovalsView.tsx';
import { ErrorBoundary } from './ErrorBoundary.tsx';
import { EventTable } from './EventTable.tsx';
import { Overview } from './Overview.tsx';
import { PassphraseDialog } from './PassphraseDialog.tsx';
import { ReportView } from './ReportView.tsx';
import { SessionDetail } from './SessionDetail.tsx';
import { SessionsView } from './SessionsView.tsx';
import { EMPTY_FILTER, type SessionFilter } from '../model/sessions.ts';
import { useEvidence } from './use-evidence.ts';

export type { BundleState, KeyState, TrustState, Verification } from './use-evidence.ts';

export type View = 'overview' | 'sessions' | 'approvals' | 'events' | 'report';

export function App() {
  const client = useRef<VerifierClient | null>(null);
  const [errors, setErrors] = useState<string[]>([]);
  const [view, setView] = useState<View>('overview');
  const [selected, setSelected] = useState<string | null>(null);
  const [auditor, setAuditor] = useState('');
  const [filter, setFilter] = useState<SessionFilter>(EMPTY_FILTER);
  const [dropping, setDropping] = useState(false);
  const [fingerprint, setFingerprint] = useState<FingerprintCheck>(NO_FINGERPRINT_CHECK);

  const worker = useCallback(() => (client.current ??= new VerifierClient()), []);
  useEffect(() => () => client.current?.terminate(), []);
  const note = useCallback((m: string) => setErrors((e) => [...e.slice(-4), m]), []);
  const clearNotes = useCallback(() => setErrors([]), []);
  // A new bundle (or the same one opened again): nothing confirmed about the previous one carries over.
  const onNewBundle = useCallback(() => (setSelected(null), setView('overview'), setFingerprint(NO_FINGERPRINT_CHECK)), []);
  const { trust, bundle, key, verification, sha, askPassphrase, setAskPassphrase, load, loadBundleUrl, unlock, forgetKey } = useEvidence(worker, note, clearNotes, onNewBundle);

  const report = verification.state === 'done' ? verification.report : undefined;
  const digests = useMemo(() => (verification.state === 'done' ? verification.digests : new Map<string, SessionDigest>()), [verification]);
  const rows: SessionRow[] = useMemo(() => (report ? sessionRows(report.sessions, digests) : []), [report, digests]);
  const sha256 = sha.state === 'done' ? sha.sha256 : null;
  const evidence = useMemo(() => (report && bundle ? stampOf(bundle.name, sha256, report, fingerprint) : undefined), [report, bundle, sha256, fingerprint]);

  // Files the OS handed to the desktop app (file association, command line).
  useEffect(() => onOpenFile((f) => void loadBundleUrl(f)), [loadBundleUrl]);

  // Drag and drop anywhere in the window. The browser's default (navigating to the file) is always prevented.
  useEffect(() => {
    const over = (e: DragEvent) => {
      e.preventDefault();
      setDropping(true);
    };
    const leave = (e: DragEvent) => {
      if (!e.relatedTarget) setDropping(false);
    };
    const drop = (e: DragEvent) => {
      e.preventDefault();
      setDropping(false);
      const files = [...(e.dataTransfer?.files ?? [])];
      if (files.length) void load(files);
    };
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, [load]);

  // The pill follows the verifier's verdict (the worst check), like the banner.
  const verdict = verification.state === 'done' ? verification.report.verdict.status : 'idle';
  const approvals = useMemo(() => (report ? approvalsOf(digests, report).length : 0), [digests, report]);
  const selectedRow = selected ? rows.find((r) => r.report.sessionId === selected) : undefined;

  return (
    <div className={`app${dropping ? ' dropping' : ''}`}>
      <header className="topbar">
        <h1>Vigil Evidence Viewer</h1>
        {bundle && <span className="file" title={bundle.name}>{bundle.name}</span>}
        <span className="spacer" />
        <span className="offline" title="The viewer makes no network connection: everything is verified on this computer">Offline</span>
        <span className={`verdict ${verdict}`} data-testid="verdict">
          {verification.state === 'done' ? PILL[verification.report.verdict.status] : verification.state === 'running' ? 'Verifying…' : 'Not verified'}
        </span>
      </header>
      <div className="body">
        <nav className="side" aria-label="Sections">
          {(
            [
              ['overview', 'Verification', ''],
              // A bundle that could not be read lists nothing: no count, which would read as "none".
              ['sessions', 'Sessions', report && !report.fatal ? String(report.sessions.length) : ''],
              ['approvals', 'Approvals', report && !report.fatal && (report.withKey || approvals) ? String(approvals) : ''],
              ['events', 'Event table', ''],
              ['report', 'Report & exports', ''],
            ] as [View, string, string][]
          ).map(([v, label, count]) => (
            <button key={v} aria-current={view === v ? 'page' : undefined} onClick={() => (setView(v), setSelected(null))} disabled={v !== 'overview' && !report}>
              {label}
              {count && <span className="count">{count}</span>}
            </button>
          ))}
        </nav>
        <main className={(view === 'sessions' && !selected) || view === 'events' ? 'fill' : ''}>
          {errors.length > 0 && (
            <div className="error" role="alert">
              {errors.map((e, i) => (
                <div key={i}>{e}</div>
              ))}
              <button className="link" onClick={() => setErrors([])}>
                Dismiss
              </button>
            </div>
          )}
          <ErrorBoundary>
            {view === 'overview' && (
              <Overview
                trust={trust}
                bundle={bundle}
                keyState={key}
                verification={verification}
                onTrust={(f) => load([f], 'trust')}
                onBundle={(f) => load([f], 'bundle')}
                onKey={(f) => load([f], 'key')}
                onForgetKey={() => (setSelected(null), forgetKey())}
                sha={sha}
                fingerprint={fingerprint}
                onFingerprint={setFingerprint}
                onUnlock={() => setAskPassphrase({})}
                onOpenSession={(id) => (setView('sessions'), setSelected(id))}
              />
            )}
            {report?.fatal && (view === 'sessions' || view === 'approvals' || view === 'events') && <FatalNotice fatal={report.fatal} />}
            {view === 'sessions' && report && !report.fatal && !selectedRow && <SessionsView rows={rows} filter={filter} onFilter={setFilter} withKey={report.withKey} onOpen={setSelected} />}
            {view === 'sessions' && report && !report.fatal && selectedRow && (
              <SessionDetail key={selectedRow.report.sessionId} row={selectedRow} withKey={report.withKey} client={worker()} evidence={evidence} onBack={() => setSelected(null)} />
            )}
            {view === 'approvals' && report && !report.fatal && <ApprovalsView report={report} digests={digests} onOpenSession={(id) => (setView('sessions'), setSelected(id))} />}
            {view === 'events' && report && !report.fatal && bundle && <EventTable report={report} client={worker()} fileName={bundle.name} evidence={evidence} hashing={sha.state === 'running' || sha.state === 'idle'} onOpenSession={(id) => (setView('sessions'), setSelected(id))} />}
            {view === 'report' && report && bundle && (
              <ReportView
                report={report}
                digests={digests}
                fileName={bundle.name}
                auditor={auditor}
                onAuditor={setAuditor}
                keyId={key?.unlocked ? key.keyId : undefined}
                sha={sha}
                fingerprint={fingerprint}
                onFingerprint={setFingerprint}
              />
            )}
          </ErrorBoundary>
        </main>
      </div>
      {askPassphrase && key && (
        <PassphraseDialog keyName={key.name} error={askPassphrase.error} onCancel={() => setAskPassphrase(null)} onSubmit={(p) => unlock(key, p)} />
      )}
    </div>
  );
}

/** A bundle that could not be read has no sessions, approvals or events to list — not zero of them. */
function FatalNotice({ fatal }: { fatal: string }) {
  return (
    <div className="error" data-testid="fatal-notice">
      <strong>The bundle cannot be read</strong>: {fatal}. Nothing in it was read, so no session, approval or event can be listed — this is not a bundle without any.
    </div>
  );
}
