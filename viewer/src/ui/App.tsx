/**
 * The auditor's viewer: trust file → bundle → (auditor key) → verification summary, sessions, approvals,
 * replay and the audit handoff. All verification and decryption runs in a Web Worker; this thread only
 * renders. Nothing is persisted: no localStorage, no IndexedDB, no cookies.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { parseTrustFile, type TrustFile } from '../../../shared/evidence/trust.ts';
import { describeError } from '../../../shared/errors.ts';
import { onOpenFile } from '../platform.ts';
import { PILL } from '../model/evidence-state.ts';
import { approvalsOf } from '../model/report.ts';
import { sessionRows } from '../model/sessions.ts';
import type { SessionDigest, SessionRow, VerificationReport } from '../model/types.ts';
import { VerifierClient, WorkerError } from '../worker/client.ts';
import { ApprovalsView } from './ApprovalsView.tsx';
import { ErrorBoundary } from './ErrorBoundary.tsx';
import { EventTable } from './EventTable.tsx';
import { Overview } from './Overview.tsx';
import { PassphraseDialog } from './PassphraseDialog.tsx';
import { ReportView } from './ReportView.tsx';
import { SessionDetail } from './SessionDetail.tsx';
import { SessionsView } from './SessionsView.tsx';
import { EMPTY_FILTER, type SessionFilter } from '../model/sessions.ts';

export type View = 'overview' | 'sessions' | 'approvals' | 'events' | 'report';

export interface TrustState {
  name: string;
  text: string;
  trust: TrustFile;
}

export interface BundleState {
  name: string;
  size: number;
  source: Blob | { url: string; size: number };
}

export interface KeyState {
  name: string;
  text: string;
  keyId: string;
  needsPassphrase: boolean;
  unlocked: boolean;
}

export type Verification =
  | { state: 'idle' }
  | { state: 'running'; done: number; total: number; withKey: boolean }
  | { state: 'done'; report: VerificationReport; digests: Map<string, SessionDigest>; ms: number }
  | { state: 'error'; message: string };

const MAX_SMALL_FILE = 8 * 1024 * 1024;

/** Recognises a dropped or opened file: bundle by its magic (tar with bundle members) or name, JSON files by their `format`. */
async function classify(file: Blob & { name: string }): Promise<'bundle' | 'trust' | 'key' | 'public-key' | 'unknown'> {
  if (/\.vigil$/i.test(file.name)) return 'bundle';
  if (file.size <= MAX_SMALL_FILE) {
    const head = await file.slice(0, 4096).text();
    if (/^\s*\{/.test(head)) {
      if (head.includes('"vigil-trust"')) return 'trust';
      if (head.includes('"vigil-auditor-secret-key"')) return 'key';
      if (head.includes('"vigil-auditor-public-key"')) return 'public-key';
    }
  }
  if (file.size >= 1024) {
    const block = new Uint8Array(await file.slice(257, 262).arrayBuffer());
    if (String.fromCharCode(...block) === 'ustar') return 'bundle';
  }
  return 'unknown';
}

export function App() {
  const client = useRef<VerifierClient | null>(null);
  const [trust, setTrust] = useState<TrustState | null>(null);
  const [bundle, setBundle] = useState<BundleState | null>(null);
  const [key, setKey] = useState<KeyState | null>(null);
  const [askPassphrase, setAskPassphrase] = useState<{ error?: string } | null>(null);
  const [verification, setVerification] = useState<Verification>({ state: 'idle' });
  const [errors, setErrors] = useState<string[]>([]);
  const [view, setView] = useState<View>('overview');
  const [selected, setSelected] = useState<string | null>(null);
  const [auditor, setAuditor] = useState('');
  const [filter, setFilter] = useState<SessionFilter>(EMPTY_FILTER);
  const [dropping, setDropping] = useState(false);
  const runId = useRef(0);

  const worker = useCallback(() => (client.current ??= new VerifierClient()), []);
  useEffect(() => () => client.current?.terminate(), []);

  const report = verification.state === 'done' ? verification.report : undefined;
  const digests = useMemo(() => (verification.state === 'done' ? verification.digests : new Map<string, SessionDigest>()), [verification]);
  const rows: SessionRow[] = useMemo(() => (report ? sessionRows(report.sessions, digests) : []), [report, digests]);

  const note = (m: string) => setErrors((e) => [...e.slice(-4), m]);

  const verify = useCallback(
    async (t: TrustState, b: BundleState, k: KeyState | null) => {
      const id = ++runId.current;
      const withKey = !!k?.unlocked;
      setVerification({ state: 'running', done: 0, total: 0, withKey });
      try {
        const w = worker();
        const r = await w.call('verify', {}, (done, total) => {
          if (runId.current === id) setVerification({ state: 'running', done, total, withKey });
        });
        if (runId.current !== id) return;
        setVerification({ state: 'done', report: r.report, digests: new Map(r.digests.map((d) => [d.sessionId, d])), ms: r.ms });
        void t;
        void b;
      } catch (e) {
        if (runId.current === id) setVerification({ state: 'error', message: describeError(e) });
      }
    },
    [worker],
  );

  const openBundle = useCallback(
    async (t: TrustState, b: BundleState, k: KeyState | null) => {
      setSelected(null);
      try {
        await worker().call('open', { bundle: b.source, trustText: t.text });
        let unlockedKey = k;
        if (k) {
          // A new engine has no key: unlock again (the passphrase is asked again when the key is protected).
          if (k.needsPassphrase) {
            unlockedKey = { ...k, unlocked: false };
            setKey(unlockedKey);
          } else {
            await worker().call('unlock', { keyText: k.text });
            unlockedKey = { ...k, unlocked: true };
            setKey(unlockedKey);
          }
        }
        await verify(t, b, unlockedKey);
        if (unlockedKey && !unlockedKey.unlocked) setAskPassphrase({});
      } catch (e) {
        setVerification({ state: 'error', message: describeError(e) });
      }
    },
    [verify, worker],
  );

  const loadTrust = useCallback(
    async (file: Blob & { name: string }) => {
      try {
        if (file.size > MAX_SMALL_FILE) throw new Error('this file is too large to be a trust file');
        const text = await file.text();
        const t = { name: file.name, text, trust: parseTrustFile(text) };
        setTrust(t);
        if (bundle) await openBundle(t, bundle, key);
      } catch (e) {
        note(`Trust file ${file.name}: ${describeError(e)}`);
      }
    },
    [bundle, key, openBundle],
  );

  const loadBundle = useCallback(
    async (b: BundleState) => {
      setBundle(b);
      setView('overview');
      if (trust) await openBundle(trust, b, key);
    },
    [trust, key, openBundle],
  );

  const unlock = useCallback(
    async (k: KeyState, passphrase?: string) => {
      try {
        const r = await worker().call('unlock', { keyText: k.text, ...(passphrase ? { passphrase } : {}) });
        const next = { ...k, keyId: r.keyId, unlocked: true };
        setKey(next);
        setAskPassphrase(null);
        if (trust && bundle) await verify(trust, bundle, next);
      } catch (e) {
        if (e instanceof WorkerError && e.code === 'E_PASSPHRASE') setAskPassphrase({ ...(passphrase ? { error: 'That passphrase does not open this key. Try again.' } : {}) });
        else note(`Auditor key ${k.name}: ${describeError(e)}`);
      }
    },
    [worker, trust, bundle, verify],
  );

  const loadKey = useCallback(
    async (file: Blob & { name: string }) => {
      try {
        if (file.size > 64 * 1024) throw new Error('this file is too large to be an auditor key');
        const text = await file.text();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new Error('not a Vigil auditor key (not JSON)');
        }
        const o = parsed as Record<string, unknown>;
        if (o?.format === 'vigil-auditor-public-key') throw new Error('this is the public half of an auditor key (.pub): open the secret key file (.key)');
        if (o?.format !== 'vigil-auditor-secret-key') throw new Error('not a Vigil auditor key');
        const k: KeyState = { name: file.name, text, keyId: typeof o.keyId === 'string' ? o.keyId.slice(0, 16) : '?', needsPassphrase: !!o.protected, unlocked: false };
        setKey(k);
        if (!bundle || !trust) return; // unlocked when the bundle is opened
        if (k.needsPassphrase) setAskPassphrase({});
        else await unlock(k);
      } catch (e) {
        note(`Auditor key ${file.name}: ${describeError(e)}`);
      }
    },
    [bundle, trust, unlock],
  );

  const forgetKey = useCallback(async () => {
    setKey(null);
    setSelected(null);
    try {
      await worker().call('lock', {});
    } catch {
      /* no bundle open */
    }
    if (trust && bundle) await verify(trust, bundle, null);
  }, [worker, trust, bundle, verify]);

  const loadAny = useCallback(
    async (files: (Blob & { name: string })[]) => {
      for (const f of files) {
        const kind = await classify(f);
        if (kind === 'bundle') await loadBundle({ name: f.name, size: f.size, source: f });
        else if (kind === 'trust') await loadTrust(f);
        else if (kind === 'key') await loadKey(f);
        else if (kind === 'public-key') note(`${f.name} is an auditor public key: open the secret key (.key) to decrypt`);
        else note(`${f.name}: not a Vigil bundle, trust file or auditor key`);
      }
    },
    [loadBundle, loadTrust, loadKey],
  );

  // Files the OS handed to the desktop app (file association, command line).
  useEffect(() => onOpenFile((f) => void loadBundle({ name: f.name, size: f.size, source: { url: f.url, size: f.size } })), [loadBundle]);

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
      if (files.length) void loadAny(files);
    };
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, [loadAny]);

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
              ['sessions', 'Sessions', report ? String(report.sessions.length) : ''],
              ['approvals', 'Approvals', report && (report.withKey || approvals) ? String(approvals) : ''],
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
                onTrust={loadTrust}
                onBundle={(f) => loadBundle({ name: f.name, size: f.size, source: f })}
                onKey={loadKey}
                onForgetKey={forgetKey}
                onUnlock={() => setAskPassphrase({})}
                onOpenSession={(id) => (setView('sessions'), setSelected(id))}
              />
            )}
            {view === 'sessions' && report && !selectedRow && <SessionsView rows={rows} filter={filter} onFilter={setFilter} withKey={report.withKey} onOpen={setSelected} />}
            {view === 'sessions' && report && selectedRow && (
              <SessionDetail key={selectedRow.report.sessionId} row={selectedRow} withKey={report.withKey} client={worker()} onBack={() => setSelected(null)} />
            )}
            {view === 'approvals' && report && <ApprovalsView report={report} digests={digests} onOpenSession={(id) => (setView('sessions'), setSelected(id))} />}
            {view === 'events' && report && bundle && <EventTable report={report} client={worker()} fileName={bundle.name} onOpenSession={(id) => (setView('sessions'), setSelected(id))} />}
            {view === 'report' && report && bundle && (
              <ReportView report={report} digests={digests} fileName={bundle.name} auditor={auditor} onAuditor={setAuditor} keyId={key?.unlocked ? key.keyId : undefined} />
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
