import { useEffect, useMemo, useState, type ReactNode } from 'react';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { describeError } from '../../../shared/errors.ts';
import { approvalTimeline, formatTimeMs } from '../model/approval-timeline.ts';
import { asciicast, castFileName } from '../model/asciicast.ts';
import { absoluteTime } from '../model/csv.ts';
import { FROM_LOG, countText, countsKnown } from '../model/evidence-state.ts';
import { STATUS_WORDS } from '../model/report.ts';
import { plural } from '../model/report-text.ts';
import { isTerminal, statements, type Statement } from '../model/replay.ts';
import { impersonation, isKube, kubeExchanges } from '../model/kube.ts';
import { clientLoginFacts, forwards, isSsh, sshChannels, sshCommands, targetLoginFacts, transfers } from '../model/ssh.ts';
import { channelAsciicast, channelCastFileName } from '../model/ssh-replay.ts';
import { formatBytes, formatDuration, formatTime } from '../model/sessions.ts';
import type { EvidenceStamp } from '../model/evidence-id.ts';
import type { ApprovalRow, SessionRow } from '../model/types.ts';
import { saveFile } from '../platform.ts';
import type { VerifierClient } from '../worker/client.ts';
import { ApprovalSteps } from './ApprovalTimeline.tsx';
import { KubeExchanges } from './KubeExchanges.tsx';
import { SshLogins, SshTables } from './SshDetail.tsx';
import { SshReplay } from './SshReplay.tsx';
import { StatementPlayer } from './StatementPlayer.tsx';
import { TerminalPlayer } from './TerminalPlayer.tsx';
import { Txt, oneLine } from './Text.tsx';

const ENDED_SOURCE = { 'last-event': 'time of the last durable event', 'last-anchor': 'time the log last anchored durable frames', 'log-end': 'time of the end entry in the signed log' } as const;

type Loaded = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; events: EvidenceEvent[]; note?: string | undefined };

export function SessionDetail(props: { row: SessionRow; withKey: boolean; client: VerifierClient; evidence: EvidenceStamp | undefined; onBack: () => void }) {
  const s = props.row.report;
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const [tab, setTab] = useState<'timeline' | 'replay'>('timeline');
  const [saved, setSaved] = useState('');
  useEffect(() => {
    if (!props.withKey || s.source === 'log') return; // no archive to decrypt
    let live = true;
    props.client
      .call('events', { sessionId: s.sessionId })
      .then((r) => live && setLoaded({ state: 'ready', events: r.events, note: r.note }))
      .catch((e) => live && setLoaded({ state: 'error', message: describeError(e) }));
    return () => {
      live = false;
    };
  }, [props.client, props.withKey, s.sessionId, s.source]);

  const events = loaded.state === 'ready' ? loaded.events : undefined;
  const stmts = useMemo(() => (events ? statements(events) : []), [events]);
  const terminal = useMemo(() => (events ? isTerminal(events) : false), [events]);
  const ssh = useMemo(() => {
    if (!events || !isSsh(events)) return null;
    const channels = sshChannels(events);
    return { channels, commands: sshCommands(events, channels), transfers: transfers(events), forwards: forwards(events), client: clientLoginFacts(events), target: targetLoginFacts(events) };
  }, [events]);
  const kube = useMemo(() => (events && isKube(events) ? { exchanges: kubeExchanges(events), actingAs: impersonation(events) } : null), [events]);
  const [channelKey, setChannelKey] = useState<number | null>(null);
  const shownKey = ssh ? (channelKey ?? ssh.channels.find((c) => c.outputBytes > 0)?.key ?? ssh.channels[0]?.key ?? null) : null;
  const shownChannel = ssh && shownKey !== null ? ssh.channels[shownKey] : undefined;
  const identity = s.context?.identity;
  const target = s.context?.target;
  const castMeta = { seq: s.seq, sessionId: s.sessionId, ...(s.startedAt ? { startedAt: s.startedAt } : {}), ...(identity?.subject ? { identity: identity.subject } : {}), ...(target?.name ? { target: target.name } : {}), ...(props.evidence ? { evidence: props.evidence } : {}) };
  const client = s.context?.client;
  const started = s.startedAt ? Date.parse(s.startedAt) : NaN;
  const ended = s.endedAt ? Date.parse(s.endedAt) : NaN;
  const d = props.row.digest;
  const sessionEvents = useMemo(() => (events ?? []).filter((e) => e.type === 'identity.verified' || e.type === 'identity.rejected' || (e.type === 'decision' && e.scope === 'session') || e.type === 'session.close'), [events]);

  return (
    <div data-testid="session-detail">
      <div className="actions" style={{ marginBottom: 12 }}>
        <button onClick={props.onBack}>← All sessions</button>
        <h2 style={{ margin: 0, fontSize: 18 }}>
          Session #{s.seq ?? '?'} <span className={`status ${s.status}`}>{STATUS_WORDS[s.status] ?? s.status}</span>
        </h2>
        <span className="muted small mono">{s.sessionId}</span>
      </div>
      {s.reasons.length > 0 && (
        <div className={s.status === 'failed' ? 'error' : 'notice'} role="alert">
          {s.reasons.map((r, i) => (
            <div key={i}>
              <Txt text={r} max={600} />
            </div>
          ))}
        </div>
      )}
      {s.status === 'interrupted' && s.reasons.length === 0 && <div className="notice">The appliance stopped before this session ended; the archive was sealed at start-up and every durable frame verifies.</div>}
      {s.source === 'log' && (
        <div className="notice fromlog" data-testid="from-log-notice">
          <strong>{FROM_LOG[0]!.toUpperCase() + FROM_LOG.slice(1)}.</strong> The archive of this session is missing or unreadable: identity, target, times, counts
          and approval requests shown here are what the verified transparency log records; commands and results are unknown.
        </div>
      )}
      <div className="grid2">
        <section className="card">
          <h2>Who</h2>
          <dl className="kv">
            <dt>Identity</dt>
            <dd data-testid="identity">
              <Txt text={identity?.subject ?? '—'} max={300} />
            </dd>
            <dt>Issuer</dt>
            <dd>
              <Txt text={identity?.issuer ?? '—'} max={300} />
            </dd>
            <dt>Method</dt>
            <dd>{oneLine(identity?.method ?? '—', 64)}</dd>
            <dt>Groups</dt>
            <dd>{identity?.groups?.length ? identity.groups.map((g) => oneLine(g, 80)).join(', ') : '—'}</dd>
            <dt>Token id</dt>
            <dd className="mono">{oneLine(identity?.tokenId ?? '—', 120)}</dd>
            <dt>Token fingerprint</dt>
            <dd className="mono" title="a keyed hash of the token, never the token">
              {oneLine(identity?.tokenHash ?? '—', 130)}
            </dd>
          </dl>
        </section>
        <section className="card">
          <h2>Where and when</h2>
          <dl className="kv">
            <dt>From</dt>
            <dd>
              {oneLine(client?.address ?? '—', 100)}
              {client?.tls ? <span className="muted small"> · {oneLine(client.tls, 100)}</span> : null}
            </dd>
            <dt>Target</dt>
            <dd data-testid="target">
              {oneLine(target?.name ?? '—', 120)}
              {target?.address ? <span className="muted small"> · {oneLine(target.address, 120)}</span> : null}
            </dd>
            <dt>As user</dt>
            <dd>{oneLine(target?.user ?? '—', 120)}</dd>
            <dt>Credential</dt>
            <dd className="mono" title="a reference to where the appliance keeps the credential; the secret itself is never recorded">
              {oneLine(target?.credentialRef ?? '—', 200)}
            </dd>
            <dt>Protocol</dt>
            <dd>{oneLine(s.protocol ?? '—', 32)}</dd>
            <dt>Started</dt>
            <dd>{formatTime(s.startedAt)}</dd>
            <dt>Ended</dt>
            <dd>
              {s.endedAt ? formatTime(s.endedAt) : 'unknown'} {Number.isFinite(started) && Number.isFinite(ended) && <span className="muted small">({formatDuration(ended - started)})</span>}
              {s.endedAtSource && s.endedAtSource !== 'manifest' && <div className="muted small" data-testid="ended-source">{ENDED_SOURCE[s.endedAtSource]}{s.sealedAt ? `; sealed ${formatTime(s.sealedAt)}` : ''}</div>}
            </dd>
            <dt>Closed because</dt>
            <dd>
              <Txt text={s.closeReason ?? '—'} max={300} />
            </dd>
          </dl>
        </section>
        <section className="card">
          <h2>Evidence</h2>
          <dl className="kv">
            <dt>Archive</dt>
            <dd className="mono small">{oneLine(s.file ?? '—', 120)}</dd>
            <dt>Size</dt>
            <dd>
              {s.bytes !== undefined ? formatBytes(s.bytes) : '—'} · {countText(s.frames)} frames · {countText(s.events)} events
              {s.source === 'log' && <span className="muted small"> ({FROM_LOG})</span>}
            </dd>
            <dt>Commands</dt>
            <dd>{countText(props.row.commands)}</dd>
            <dt>Blocked / denied</dt>
            <dd>{countText(props.row.blocks)}</dd>
            <dt>Approvals</dt>
            <dd data-testid="approvals-count">{countText(props.row.approvals)}</dd>
            <dt>Values masked</dt>
            <dd data-testid="masked-count">
              {countText(props.row.masked)}
              {d && Object.keys(d.maskingKinds).length > 0 && (
                <span className="muted small">
                  {' '}
                  ({Object.entries(d.maskingKinds)
                    .map(([k, n]) => `${oneLine(k, 32)} ${n}`)
                    .join(', ')}
                  )
                </span>
              )}
            </dd>
            <dt>Errors</dt>
            <dd>{d ? d.errors : countsKnown(s, d) ? (s.stats?.error ?? 0) : 'unknown'}</dd>
          </dl>
        </section>
      </div>

      {!props.withKey && <div className="notice">Load the auditor key (Verification → step 3) to see the commands, results and the replay of this session.</div>}
      {props.withKey && s.source !== 'log' && loaded.state === 'loading' && <p className="muted">Decrypting the session…</p>}
      {loaded.state === 'error' && (
        <div className="error" role="alert">
          {loaded.message}
        </div>
      )}
      {events && (
        <>
          {loaded.state === 'ready' && loaded.note && <div className="notice">{loaded.note}</div>}
          {ssh && !kube && <SshLogins client={ssh.client} target={ssh.target} />}
          {kube && <KubeExchanges exchanges={kube.exchanges} actingAs={kube.actingAs} startedAt={s.startedAt} approvals={d?.approvals ?? []} />}
          <div className="tabs" role="tablist">
            <button role="tab" aria-selected={tab === 'timeline'} onClick={() => setTab('timeline')}>
              Timeline
            </button>
            <button role="tab" aria-selected={tab === 'replay'} onClick={() => setTab('replay')}>
              Replay
            </button>
            <span style={{ flex: 1 }} />
            {ssh && shownChannel && (
              <button
                onClick={async () => setSaved(await saveFile(channelCastFileName(s.seq, s.sessionId, shownChannel.channel, shownChannel.key), 'application/x-asciicast', channelAsciicast(events, shownChannel.key, { ...castMeta, channel: shownChannel.channel, ...(shownChannel.command ? { command: shownChannel.command } : {}) })))}
              >
                Save channel {shownChannel.channel} replay (.cast)
              </button>
            )}
            {terminal && !shownChannel && (
              <button
                onClick={async () =>
                  setSaved(
                    await saveFile(
                      castFileName(s.seq, s.sessionId),
                      'application/x-asciicast',
                      asciicast(events, castMeta),
                    ),
                  )
                }
              >
                Save replay (.cast)
              </button>
            )}
          </div>
          {saved && <p className="muted small">{saved}</p>}
          {tab === 'timeline' && <Timeline statements={stmts} sessionEvents={sessionEvents} startedAt={s.startedAt} approvals={d?.approvals ?? []} />}
          {tab === 'replay' &&
            (ssh && ssh.channels.length > 0 ? (
              <SshReplay events={events} channels={ssh.channels} commands={ssh.commands} startedAt={s.startedAt} channelKey={shownKey} onChannel={setChannelKey} />
            ) : terminal ? (
              <TerminalPlayer events={events} startedAt={s.startedAt} />
            ) : (
              <StatementPlayer statements={stmts} startedAt={s.startedAt} approvals={d?.approvals ?? []} />
            ))}
          {ssh && (
            <SshTables
              channels={ssh.channels}
              transfers={ssh.transfers}
              forwards={ssh.forwards}
              startedAt={s.startedAt}
              onChannel={(k) => {
                setChannelKey(k);
                setTab('replay');
              }}
            />
          )}
        </>
      )}
    </div>
  );
}

/** `held`: the command waited for an approval (its time is when it was received, not when it was approved or ran). */
export function DecisionBadge({ s, held = false }: { s: Pick<Statement, 'decision' | 'approvedBy'>; held?: boolean }) {
  if (!s.decision) return <span className="badge">no decision</span>;
  const label = s.decision === 'approved' ? `${held ? 'held → ' : ''}approved by ${(s.approvedBy ?? []).map((a) => oneLine(a, 60)).join(', ') || '?'}` : s.decision === 'allow' ? 'allowed' : s.decision === 'block' ? 'blocked' : s.decision === 'hold' ? 'held for approval' : oneLine(s.decision, 32);
  return <span className={`badge ${oneLine(s.decision, 32)}`}>{label}</span>;
}

export function ResultTable({ r }: { r: NonNullable<Statement['result']> }) {
  return (
    <div>
      <div className="muted small">
        {oneLine(r.tag ?? r.status ?? 'result', 80)}
        {r.rowCount !== undefined && ` · ${plural(r.rowCount, 'row')}`}
        {r.durationMs !== undefined && ` · ${r.durationMs} ms`}
        {r.rowsOmitted ? ` · ${plural(r.rowsOmitted, 'row')} not recorded` : ''}
      </div>
      {r.columns.length > 0 && r.rows.length > 0 && (
        <div style={{ overflowX: 'auto' }}>
          <table className="result">
            <thead>
              <tr>
                {r.columns.map((c, i) => (
                  <th key={i}>{oneLine(c, 80)}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {r.rows.map((row, i) => (
                <tr key={i}>
                  {row.map((c, j) => (
                    <td key={j} title={oneLine(c, 2000)}>
                      {oneLine(c, 200)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function Timeline({ statements: list, sessionEvents, startedAt, approvals }: { statements: Statement[]; sessionEvents: EvidenceEvent[]; startedAt: string | undefined; approvals: readonly ApprovalRow[] }) {
  const items: { t: number; node: ReactNode }[] = [];
  // A held command's approval: its steps are shown with it, so its time is never read as the approval's.
  const byCommand = new Map<number, ApprovalRow[]>();
  for (const a of approvals) if (a.command !== null) byCommand.set(a.command, [...(byCommand.get(a.command) ?? []), a]);
  sessionEvents.forEach((e, i) => {
    const text =
      e.type === 'identity.verified'
        ? `Identity verified: ${String(e.subject ?? '?')} (${String(e.method ?? '')})`
        : e.type === 'identity.rejected'
          ? `Identity rejected: ${String(e.reason ?? '')}`
          : e.type === 'session.close'
            ? `Session closed: ${String(e.reason ?? '')}`
            : `Access to ${String(e.target ?? 'the target')}: ${String(e.decision ?? '')}${e.rule ? ` (rule ${String(e.rule)})` : ''}${e.reason ? `: ${String(e.reason)}` : ''}`;
    items.push({
      t: typeof e.t === 'number' ? e.t : 0,
      node: (
        <li key={`s${i}`} className={e.type === 'identity.rejected' || e.decision === 'block' ? 'block' : ''}>
          <div className="when">{formatTimeMs(absoluteTime(startedAt, e.t))}</div>
          <div>
            <Txt text={text} max={600} />
          </div>
        </li>
      ),
    });
  });
  list.forEach((s, i) => {
    const held = s.id !== null ? (byCommand.get(s.id) ?? []) : [];
    items.push({
      t: s.t,
      node: (
        <li key={`c${i}`} className={s.decision ?? ''} data-testid="timeline-command">
          <div className="when">
            {held.length > 0 && 'received '}
            {formatTimeMs(absoluteTime(startedAt, s.t))} · {oneLine(s.kind, 20)} #{s.id ?? '?'} <DecisionBadge s={s} held={held.length > 0} />
            {s.rule && <span className="muted small"> rule {oneLine(s.rule, 80)}</span>}
            {s.masked > 0 && <span className="badge" style={{ marginLeft: 6 }}>{s.masked} masked</span>}
          </div>
          <pre>
            <Txt text={s.text} max={20_000} total={s.length} />
          </pre>
          {s.reason && (
            <div className="small">
              Reason: <Txt text={s.reason} max={600} />
            </div>
          )}
          {held.map((a) => (
            <div key={a.requestId} className="small">
              Approval <span className="mono">{oneLine(a.requestId, 64)}</span>
              <ApprovalSteps tl={approvalTimeline(a, startedAt)} />
            </div>
          ))}
          {s.result && <ResultTable r={s.result} />}
          {s.errors.map((e, j) => (
            <div key={j} className="error small">
              <Txt text={e} max={1000} />
            </div>
          ))}
        </li>
      ),
    });
  });
  items.sort((a, b) => a.t - b.t);
  if (items.length === 0) return <p className="empty">No commands were recorded in this session.</p>;
  return <ol className="timeline">{items.map((x) => x.node)}</ol>;
}
