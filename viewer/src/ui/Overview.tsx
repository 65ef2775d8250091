import type { ReactNode } from 'react';
import { formatFingerprint } from '../../../shared/evidence/key-id.ts';
import { readCheckpoint } from '../../../shared/evidence/checkpoint.ts';
import { formatBytes, formatTime } from '../model/sessions.ts';
import { CHECK_MARK, FROM_LOG, bannerTitle, checkLine } from '../model/evidence-state.ts';
import { STATUS_WORDS } from '../model/report.ts';
import { plural } from '../model/report-text.ts';
import type { BundleState, KeyState, TrustState, Verification } from './App.tsx';
import { FileButton } from './FileButton.tsx';
import { FingerprintStep } from './Fingerprint.tsx';
import type { FingerprintCheck } from '../model/evidence-id.ts';
import type { BundleSha } from './use-evidence.ts';
import { Txt, oneLine } from './Text.tsx';
import { CredentialsIssued } from './CredentialsIssued.tsx';
import { ConfigChanges } from './ConfigChanges.tsx';

interface Props {
  trust: TrustState | null;
  bundle: BundleState | null;
  keyState: KeyState | null;
  verification: Verification;
  onTrust: (f: File) => void;
  onBundle: (f: File) => void;
  onKey: (f: File) => void;
  onForgetKey: () => void;
  onUnlock: () => void;
  onOpenSession: (id: string) => void;
  sha: BundleSha;
  fingerprint: FingerprintCheck;
  onFingerprint: (c: FingerprintCheck) => void;
}

const MAX_LISTED = 200;

export function Overview(p: Props) {
  const v = p.verification;
  const cp = p.trust ? safeCheckpoint(p.trust) : undefined;
  // The fingerprint step follows the verdict: comparing it is part of accepting this file as the evidence.
  const fingerprint = <FingerprintStep sha={p.sha} check={p.fingerprint} onCheck={p.onFingerprint} />;
  const done = v.state === 'done' ? <Summary report={v.report} ms={v.ms} keyState={p.keyState} onOpenSession={p.onOpenSession} fingerprint={fingerprint} /> : null;
  return (
    <>
      {/* Once verified, the verdict comes first: it is what the auditor opened the bundle for. */}
      {done}
      <div className="steps">
        <section className={`card step${p.trust ? ' done' : ''}`} aria-labelledby="step-trust">
          <h2 id="step-trust">
            <span className="num">1</span>Trust file
          </h2>
          <p>The appliance keys and checkpoint you pinned out of band (trust.json).</p>
          {p.trust && (
            <div className="loaded" data-testid="trust-loaded">
              <strong>{oneLine(p.trust.name, 80)}</strong>
              <div className="muted small">appliance {oneLine(p.trust.trust.applianceId, 64)}</div>
            </div>
          )}
          <div className="actions">
            <FileButton label={p.trust ? 'Change…' : 'Open trust file…'} accept=".json,application/json" onFile={p.onTrust} primary={!p.trust} testId="trust-input" />
          </div>
        </section>
        <section className={`card step${p.bundle ? ' done' : ''}`} aria-labelledby="step-bundle">
          <h2 id="step-bundle">
            <span className="num">2</span>Evidence bundle
          </h2>
          <p>The .vigil file exported by the appliance. It is verified on this computer; nothing is uploaded.</p>
          {p.bundle && (
            <div className="loaded" data-testid="bundle-loaded">
              <strong>{oneLine(p.bundle.name, 80)}</strong> <span className="muted small">{formatBytes(p.bundle.size)}</span>
            </div>
          )}
          <div className="actions">
            <FileButton label={p.bundle ? 'Open another…' : 'Open bundle…'} accept=".vigil" onFile={p.onBundle} primary={!!p.trust && !p.bundle} testId="bundle-input" />
          </div>
        </section>
        <section className={`card step${p.keyState?.unlocked ? ' done' : ''}`} aria-labelledby="step-key">
          <h2 id="step-key">
            <span className="num">3</span>Auditor key <span className="muted small">(to see content)</span>
          </h2>
          <p>Your secret key (.key) decrypts what happened in each session. It stays in memory; nothing decrypted is stored.</p>
          {p.keyState && (
            <div className="loaded" data-testid="key-loaded">
              <strong>{oneLine(p.keyState.name, 80)}</strong>{' '}
              <span className="muted small">
                key {p.keyState.keyId} · {p.keyState.unlocked ? 'unlocked' : p.keyState.needsPassphrase ? 'locked (passphrase)' : 'not used yet'}
              </span>
            </div>
          )}
          <div className="actions">
            <FileButton label={p.keyState ? 'Change…' : 'Open auditor key…'} accept=".key,.json" onFile={p.onKey} testId="key-input" />
            {p.keyState && !p.keyState.unlocked && p.keyState.needsPassphrase && p.bundle && (
              <button className="primary" onClick={p.onUnlock}>
                Enter passphrase…
              </button>
            )}
            {p.keyState && (
              <button onClick={p.onForgetKey} title="Forget the key and every decrypted event">
                Forget key
              </button>
            )}
          </div>
        </section>
      </div>
      <div className="dropzone">You can also drop the trust file, the bundle and the key anywhere in this window, one by one or all three at once: each is recognised by its content.</div>

      {p.trust && (
        <section className="card" aria-labelledby="trust-title" style={{ marginTop: 16 }}>
          <h2 id="trust-title">Pinned trust</h2>
          <dl className="kv">
            <dt>Appliance</dt>
            <dd className="mono">{oneLine(p.trust.trust.applianceId)}</dd>
            <dt>Last checkpoint you saw</dt>
            <dd data-testid="pinned-checkpoint">{cp ? `${cp.size} log entries at ${formatTime(cp.time)} (root ${cp.root.slice(0, 16)}…)` : 'unreadable'}</dd>
            {p.trust.trust.keys.map((k) => (
              <KeyRow key={k.keyId} keyId={k.keyId} fingerprint={k.fingerprint} from={k.validFrom} until={k.validUntil} revoked={!!k.revoked} />
            ))}
          </dl>
          <p className="muted small">Compare each fingerprint with the one the appliance operator gave you out of band (for example read aloud over the phone).</p>
        </section>
      )}

      {v.state === 'running' && (
        <section className="card" aria-live="polite">
          <h2>Verifying{v.withKey ? ' and decrypting' : ''}…</h2>
          <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={v.total ? Math.round((v.done / v.total) * 100) : 0}>
            <div style={{ width: `${v.total ? (v.done / v.total) * 100 : 2}%` }} />
          </div>
          <div className="muted small">{v.total ? `${formatBytes(v.done)} of ${formatBytes(v.total)} of session archives` : 'reading the bundle index, keys and log…'}</div>
        </section>
      )}
      {v.state === 'error' && (
        <div className="error" role="alert" data-testid="verify-error">
          {v.message}
        </div>
      )}
    </>
  );
}

function safeCheckpoint(t: TrustState) {
  try {
    return readCheckpoint(t.trust.checkpoint);
  } catch {
    return undefined;
  }
}

function KeyRow(k: { keyId: string; fingerprint: string; from: string; until: string | null; revoked: boolean }) {
  return (
    <>
      <dt>Appliance key {k.keyId}</dt>
      <dd>
        <span className="mono" data-testid="fingerprint">
          {formatFingerprint(k.fingerprint)}
        </span>
        <div className="muted small">
          valid {formatTime(k.from)} – {k.until ? formatTime(k.until) : 'now'}
          {k.revoked && <strong style={{ color: 'var(--fail)' }}> · REVOKED</strong>}
        </div>
      </dd>
    </>
  );
}

/** What the content checks covered, in numbers: "decrypted and re-scanned" only as far as it happened. */
function contentLine(r: import('../model/types.ts').VerificationReport, keyId: string | undefined): string {
  if (!r.withKey) return 'Integrity only: content not checked. Load the auditor key for decryption, TAG_FINAL and the card-number re-scan.';
  const d = r.checks.find((c) => c.id === 'decryption');
  const of = d && d.covered !== null && d.total !== null ? `${d.covered} of ${plural(d.total, 'archive')}` : 'no archive';
  return `Content of ${of} decrypted with auditor key ${keyId ?? ''} and re-scanned for card data.`;
}

function Summary({ report: r, ms, keyState, onOpenSession, fingerprint }: { report: import('../model/types.ts').VerificationReport; ms: number; keyState: KeyState | null; onOpenSession: (id: string) => void; fingerprint: ReactNode }) {
  const counts = new Map<string, number>();
  for (const s of r.sessions) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const countText = ['complete', 'interrupted', 'in-progress', 'purged', 'failed']
    .filter((k) => counts.get(k))
    .map((k) => `${counts.get(k)} ${STATUS_WORDS[k]}`)
    .join(', ');
  const notable = r.sessions.filter((s) => s.status !== 'complete');
  const listed = (r.sessions.length <= 50 ? r.sessions : notable).slice(0, MAX_LISTED);
  return (
    <>
      {/* The banner follows the verifier's verdict (the worst check), never report.ok alone. */}
      <div className={`banner ${r.verdict.status}`} role="status" data-testid="banner" data-verdict={r.verdict.status} data-verify-ms={Math.round(ms)} data-with-key={r.withKey ? 'yes' : 'no'}>
        {bannerTitle(r)}
        <div className="sub">
          {r.fatal ? `${r.fatal}. No check ran past this point and no content was read.` : `${plural(r.sessions.length, 'session')}${countText ? `: ${countText}` : ''}.`}{' '}
          {!r.fatal && contentLine(r, keyState?.keyId)}{' '}
          <span className="muted">{r.fatal ? 'Attempted' : 'Verified'} {formatTime(r.verifiedAt)}.</span>
        </div>
      </div>
      {fingerprint}
      <section className="card" aria-labelledby="checks-title">
        <h2 id="checks-title">Checks</h2>
        <ul className="checks" data-testid="checks">
          {r.checks.map((c) => (
            <li key={c.id} data-check={c.id} data-status={c.status}>
              <span className={`mark ${c.status}`} aria-label={c.status}>
                {CHECK_MARK[c.status]}
              </span>
              <div>
                <div className="title">
                  {c.title}
                  {c.status === 'partial' && <span className="badge partial"> PARTIAL</span>}
                </div>
                <div className="summary" data-covered={c.covered ?? ''} data-total={c.total ?? ''}>
                  {checkLine(c, !!r.fatal)}
                </div>
              </div>
              {c.failures.length > 0 && (
                <ul className="failures">
                  {c.failures.slice(0, 100).map((f, i) => (
                    <li key={i}>
                      <Txt text={f} max={600} />
                    </li>
                  ))}
                  {c.failures.length > 100 && <li>… and {c.failures.length - 100} more</li>}
                </ul>
              )}
            </li>
          ))}
        </ul>
      </section>
      {r.bundle && (
        <section className="card">
          <h2>Bundle</h2>
          <dl className="kv">
            <dt>Appliance</dt>
            <dd className="mono">{oneLine(r.bundle.applianceId)}</dd>
            <dt>Exported</dt>
            <dd>{formatTime(r.bundle.createdAt)}</dd>
            <dt>Export window</dt>
            <dd>
              {r.bundle.range.since ? formatTime(r.bundle.range.since) : 'from the beginning'} – {r.bundle.range.until ? formatTime(r.bundle.range.until) : 'until the export'}
            </dd>
            <dt>Checkpoint</dt>
            <dd>
              {r.bundle.checkpoint.size} log entries at {formatTime(r.bundle.checkpoint.time)}, key {r.bundle.checkpoint.keyId}
            </dd>
          </dl>
        </section>
      )}
      <CredentialsIssued report={r} />
      <ConfigChanges report={r} />
      {listed.length > 0 && (
        <section className="card" aria-labelledby="sess-title">
          <h2 id="sess-title">{r.sessions.length <= 50 ? 'Sessions' : `Sessions that need attention (${notable.length})`}</h2>
          <table className="plain" data-testid="session-statuses">
            <thead>
              <tr>
                <th>#</th>
                <th>Status</th>
                <th>Identity → target</th>
                <th>Started</th>
                <th>Why</th>
              </tr>
            </thead>
            <tbody>
              {listed.map((s) => (
                <tr key={s.sessionId} data-seq={s.seq ?? ''}>
                  <td>
                    <button className="link" onClick={() => onOpenSession(s.sessionId)}>
                      {s.seq ?? '?'}
                    </button>
                  </td>
                  <td>
                    <span className={`status ${s.status}`}>{STATUS_WORDS[s.status]}</span>
                  </td>
                  <td>
                    {oneLine(s.context?.identity?.subject ?? '—', 120)} → {oneLine(s.context?.target?.name ?? '—', 60)}
                    {s.source === 'log' && <div className="muted small fromlog">{FROM_LOG}: {s.frames === undefined ? 'unknown frames' : plural(s.frames, 'frame')}, {s.events === undefined ? 'unknown events' : plural(s.events, 'event')}, {s.approvalsLogged === undefined ? 'unknown approval requests' : plural(s.approvalsLogged, 'approval request')}</div>}
                  </td>
                  <td>{formatTime(s.startedAt)}</td>
                  <td>
                    {s.status === 'interrupted' && s.reasons.length === 0 ? (
                      <span className="muted">the appliance stopped before the session ended; sealed at start-up; every durable frame verifies</span>
                    ) : (
                      s.reasons.slice(0, 8).map((x, i) => (
                        <div key={i}>
                          <Txt text={x} max={400} />
                        </div>
                      ))
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {r.sessions.length > 50 && notable.length === 0 && <p className="muted">Every session is complete.</p>}
        </section>
      )}
    </>
  );
}
