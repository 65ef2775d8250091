import { Fragment, useState } from 'react';
import { approvalTimeline, formatTimeMs } from '../model/approval-timeline.ts';
import { absoluteTime } from '../model/csv.ts';
import { objectOf, readableBody, type KubeBody, type KubeExchange } from '../model/kube.ts';
import type { impersonation } from '../model/kube.ts';
import { plural } from '../model/report-text.ts';
import { formatBytes } from '../model/sessions.ts';
import type { ApprovalRow } from '../model/types.ts';
import { ApprovalSteps } from './ApprovalTimeline.tsx';
import { DecisionBadge } from './SessionDetail.tsx';
import { Txt, oneLine } from './Text.tsx';

const MAX_ROWS = 2000;

/** The exchange list of a Kubernetes session; a row opens the request and response as recorded (masked). */
export function KubeExchanges({ exchanges, startedAt, approvals, actingAs }: { exchanges: KubeExchange[]; startedAt: string | undefined; approvals: readonly ApprovalRow[]; actingAs: ReturnType<typeof impersonation> }) {
  const [open, setOpen] = useState<number | null>(null);
  const [raw, setRaw] = useState(false);
  const shown = exchanges.slice(0, MAX_ROWS);
  return (
    <section className="card" data-testid="kube-exchanges">
      <h2>HTTP exchanges ({exchanges.length.toLocaleString('en')})</h2>
      <p className="small" data-testid="kube-impersonation">
        {actingAs ? (
          <>
            Vigil called the API server with its own credential, impersonating user <span className="mono">{oneLine(actingAs.user, 300)}</span>
            {actingAs.groups.length > 0 && (
              <>
                {' '}in groups <span className="mono">{actingAs.groups.map((g) => oneLine(g, 120)).join(', ')}</span>
              </>
            )}
            : the cluster's RBAC and audit log saw this identity.
          </>
        ) : (
          <span className="unknown">impersonation not recorded</span>
        )}
      </p>
      <p className="muted small">
        One row per request the client sent through Vigil, in order. Select a row for its request and response bodies as recorded: card numbers masked, Secret values
        redacted. <label><input type="checkbox" checked={raw} onChange={(e) => setRaw(e.target.checked)} /> show JSON exactly as recorded (not formatted)</label>
      </p>
      {exchanges.length === 0 ? (
        <p className="empty">No request was recorded in this session.</p>
      ) : (
        <div style={{ overflowX: 'auto' }}>
          <table className="result kube-table">
            <thead>
              <tr>
                {['Time (UTC)', '#', 'Verb', 'Resource', 'Namespace/name', 'Status', 'Decision', 'Duration', 'Masked'].map((h) => (
                  <th key={h}>{h}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shown.map((x, i) => (
                <Fragment key={i}>
                  <tr className={`clickable${open === i ? ' selected' : ''}`} data-testid="kube-exchange" onClick={() => setOpen(open === i ? null : i)}>
                    <td className="mono small">{formatTimeMs(absoluteTime(startedAt, x.t))}</td>
                    <td>
                      <button className="link" aria-expanded={open === i} aria-label={`request ${x.id ?? '?'}: ${open === i ? 'hide' : 'show'} bodies`} onClick={(e) => { e.stopPropagation(); setOpen(open === i ? null : i); }}>
                        {open === i ? '▾' : '▸'} {x.id ?? '?'}
                      </button>
                    </td>
                    <td className="mono">{oneLine(x.verb || x.method, 32)}</td>
                    <td className="mono small" title={oneLine(x.path, 2000)}>{oneLine(x.resource || x.path, 120)}</td>
                    <td className="mono small">{oneLine(objectOf(x), 200)}</td>
                    <td>{statusCell(x)}</td>
                    <td>
                      <DecisionBadge s={x.statement} held={approvals.some((a) => a.command === x.id)} />
                    </td>
                    <td className="small">{x.durationMs === null ? '—' : `${x.durationMs} ms`}</td>
                    <td>{x.statement.masked > 0 ? <span className="badge">{x.statement.masked}</span> : '0'}</td>
                  </tr>
                  {open === i && (
                    <tr className="detail">
                      <td colSpan={9}>
                        <ExchangeDetail x={x} startedAt={startedAt} approvals={approvals.filter((a) => a.command === x.id)} raw={raw} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
          {exchanges.length > MAX_ROWS && <p className="muted small">The first {MAX_ROWS.toLocaleString('en')} exchanges are listed; the chronological CSV (Report) holds all of them.</p>}
        </div>
      )}
    </section>
  );
}

function statusCell(x: KubeExchange) {
  if (x.status !== null) return <span className={x.status >= 400 ? 'badge block' : 'badge allow'}>{x.status}</span>;
  if (x.statement.decision === 'block' || x.statement.decision === 'denied') return <span className="muted small">not forwarded</span>;
  if (x.statement.errors.length) return <span className="badge block">error</span>;
  return <span className="unknown">not recorded</span>;
}

function ExchangeDetail({ x, startedAt, approvals, raw }: { x: KubeExchange; startedAt: string | undefined; approvals: readonly ApprovalRow[]; raw: boolean }) {
  return (
    <div className="kube-detail" data-testid="kube-exchange-detail">
      <pre className="small">
        <Txt text={`${x.method} ${x.path}${x.query ? `?${x.query}` : ''}`} max={4000} />
      </pre>
      <dl className="kv">
        {x.userAgent && (
          <>
            <dt>Client</dt>
            <dd className="small">{oneLine(x.userAgent, 300)}</dd>
          </>
        )}
        <dt>Decision</dt>
        <dd>
          <DecisionBadge s={x.statement} held={approvals.length > 0} />
          {x.statement.rule && <span className="muted small"> rule {oneLine(x.statement.rule, 120)}</span>}
          {x.statement.reason && (
            <div className="small">
              <Txt text={x.statement.reason} max={600} />
            </div>
          )}
        </dd>
        {approvals.map((a) => (
          <Fragment key={a.requestId}>
            <dt>Approval</dt>
            <dd className="small">
              <span className="mono">{oneLine(a.requestId, 64)}</span>
              <ApprovalSteps tl={approvalTimeline(a, startedAt)} />
            </dd>
          </Fragment>
        ))}
        <dt>Response</dt>
        <dd className="small">
          {x.status === null ? 'no response was recorded' : `HTTP ${x.status}`}
          {x.contentType && ` · ${oneLine(x.contentType, 120)}`}
          {x.secretsRedacted && ' · Secret values redacted'}
        </dd>
      </dl>
      {x.statement.errors.map((e, j) => (
        <div key={j} className="error small">
          <Txt text={e} max={1000} />
        </div>
      ))}
      {x.request && <Body title="Request body" body={x.request} raw={raw} />}
      {x.response && <Body title="Response body" body={x.response} raw={raw} />}
      {x.watch && (
        <>
          <h3>
            Watch: {plural(x.watch.events.length, 'event')}
            {x.watch.end && <span className="muted small"> · ended: {oneLine(x.watch.end, 200)}</span>}
          </h3>
          <ol className="small kube-watch">
            {x.watch.events.map((w, k) => (
              <li key={k}>
                <span className="mono">{formatTimeMs(absoluteTime(startedAt, w.t))}</span> {oneLine(w.event, 32)} <span className="mono">{oneLine(w.object, 200)}</span>
                <details>
                  <summary>object</summary>
                  <pre>
                    <Txt text={raw ? w.body : readableBody(w.body)} max={200_000} />
                  </pre>
                </details>
              </li>
            ))}
          </ol>
        </>
      )}
      {x.stream && (
        <>
          <h3>
            Streamed output ({formatBytes(x.stream.bytes)}){x.stream.end && <span className="muted small"> · ended: {oneLine(x.stream.end, 200)}</span>}
          </h3>
          <pre className="small">
            <Txt text={x.stream.text} max={200_000} />
          </pre>
        </>
      )}
    </div>
  );
}

function Body({ title, body, raw }: { title: string; body: KubeBody; raw: boolean }) {
  const size = body.bytes === null ? 'size not recorded' : formatBytes(body.bytes);
  return (
    <>
      <h3>
        {title} <span className="muted small">({size})</span>
      </h3>
      {body.omitted ? (
        <p className="small notice">Not recorded: {oneLine(body.omitted, 200)}. Only its size is in the evidence.</p>
      ) : body.text === null ? (
        <p className="small unknown">not recorded</p>
      ) : (
        <>
          <pre className="small kube-body">
            <Txt text={raw || body.truncated ? body.text : readableBody(body.text)} max={200_000} />
          </pre>
          {body.truncated && <p className="small notice">The recording keeps only the first part of this body (the appliance's maxRecordedBodyBytes); the rest was sent but not recorded.</p>}
        </>
      )}
    </>
  );
}
