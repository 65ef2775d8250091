import { useDeferredValue, useEffect, useMemo, useState } from 'react';
import { describeError } from '../../../shared/errors.ts';
import { EVENT_TABLE_COLUMNS, cellOf, eventTableCsv, loadEventTable, rowMatches, type EventRow, type EventTable as Table } from '../model/event-table.ts';
import type { EvidenceStamp } from '../model/evidence-id.ts';
import type { VerificationReport } from '../model/types.ts';
import { plural } from '../model/report-text.ts';
import { saveFile } from '../platform.ts';
import type { VerifierClient } from '../worker/client.ts';
import { useVirtualWindow } from './use-virtual-window.ts';
import { Txt, oneLine } from './Text.tsx';

const ROW = 30;
const OVERSCAN = 15;
/** Column widths (px): a spreadsheet's fixed grid, scrolled sideways. */
const WIDTH: Partial<Record<keyof EventRow, number>> = { time: 226, session: 72, event: 140, approvalStep: 120, identity: 150, target: 110, commandId: 56, command: 320, decision: 90, rule: 170, reason: 220, requestId: 150, approver: 160, approverAddress: 110, expiresAt: 226, result: 110, rowCount: 54, durationMs: 96, errorCode: 80, error: 260, params: 220, client: 140, source: 66, eventSeq: 76, sessionId: 120 };
const widthOf = (k: keyof EventRow) => WIDTH[k] ?? 110;
const TEMPLATE = EVENT_TABLE_COLUMNS.map(([k]) => `${widthOf(k)}px`).join(' ');
const TOTAL = EVENT_TABLE_COLUMNS.reduce((n, [k]) => n + widthOf(k), 0);

/** One table per verification: rows are loaded once (decrypting in the worker) and kept while the report lives. */
const cache = new WeakMap<VerificationReport, Promise<Table>>();

function baseName(fileName: string): string {
  return fileName.replace(/\.vigil$/i, '').replace(/[^\w.-]+/g, '_').slice(0, 80) || 'bundle';
}

/** Every event that matters, across sessions, as a spreadsheet: filter, read a row whole, save exactly these rows as CSV. */
export function EventTable(props: { report: VerificationReport; client: VerifierClient; fileName: string; evidence: EvidenceStamp | undefined; hashing: boolean; onOpenSession: (id: string) => void }) {
  const { report } = props;
  const [table, setTable] = useState<Table | null>(null);
  const [error, setError] = useState('');
  const [progress, setProgress] = useState<[number, number]>([0, report.sessions.length]);
  const [kind, setKind] = useState('');
  const [session, setSession] = useState('');
  const [approvalOnly, setApprovalOnly] = useState(false);
  const [search, setSearch] = useState('');
  const [selected, setSelected] = useState<EventRow | null>(null);
  const [saved, setSaved] = useState('');
  const q = useDeferredValue(search);

  useEffect(() => {
    if (!report.withKey) return;
    let live = true;
    let p = cache.get(report);
    if (!p) {
      p = loadEventTable(report, async (id) => (await props.client.call('eventRows', { sessionId: id })).rows, (d, t) => live && setProgress([d, t]));
      cache.set(report, p);
      p.catch(() => cache.delete(report));
    }
    p.then((t) => live && setTable(t)).catch((e) => live && setError(describeError(e)));
    return () => {
      live = false;
    };
  }, [report, props.client]);

  const kinds = useMemo(() => [...new Set((table?.rows ?? []).map((r) => r.event))].sort(), [table]);
  const rows = useMemo(() => {
    const all = table?.rows ?? [];
    const seq = session.trim().replace(/^#/, '');
    return all.filter((r) => (!kind || r.event === kind) && (!seq || String(r.session ?? '') === seq) && (!approvalOnly || r.approvalStep !== '') && rowMatches(r, q.trim()));
  }, [table, kind, session, approvalOnly, q]);

  if (!report.withKey) return <div className="notice">The event table is read from the decrypted sessions: load the auditor key (Verification → step 3).</div>;
  if (error) return <div className="error">The event table could not be built: {error}</div>;
  if (!table) {
    return (
      <section className="card" data-testid="event-table-loading">
        <h2>Event table</h2>
        <p className="muted">
          Reading the events of session {Math.min(progress[0] + 1, progress[1])} of {progress[1]}…
        </p>
      </section>
    );
  }
  const filtering = kind || session || approvalOnly || search;
  return (
    <>
      <div className="filters" role="search" aria-label="Filter events">
        <label>
          Session #
          <input type="text" value={session} onChange={(e) => setSession(e.target.value)} placeholder="any" aria-label="Session number" style={{ width: 80 }} />
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value)} aria-label="Event kind">
            <option value="">any</option>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {oneLine(k, 40)}
              </option>
            ))}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={approvalOnly} onChange={(e) => setApprovalOnly(e.target.checked)} /> approval steps only
        </label>
        <label>
          Search in every cell
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="text…" aria-label="Search events" style={{ width: 220 }} />
        </label>
        <span style={{ flex: 1 }} />
        <button
          className="primary"
          onClick={async () => setSaved(await saveFile(`${baseName(props.fileName)}-events${filtering ? '-filtered' : ''}.csv`, 'text/csv', eventTableCsv(rows, props.evidence)))}
          // Every line names the bundle's SHA-256: wait for it (a failed hash is written as unknown).
          disabled={rows.length === 0 || props.hashing}
        >
          Save these {rows.length.toLocaleString('en')} rows (CSV)
        </button>
      </div>
      <div className="muted small" style={{ marginBottom: 6 }} data-testid="event-count" aria-live="polite">
        {rows.length === table.rows.length ? `${table.rows.length.toLocaleString('en')} events` : `${rows.length.toLocaleString('en')} of ${table.rows.length.toLocaleString('en')} events`} from{' '}
        {table.sessionsLoaded} of {plural(table.sessions, 'session')} · times in UTC with milliseconds · bind parameters as the appliance recorded them (masked) · rows from the signed log are marked “log”
        {saved && <span> · {saved}</span>}
      </div>
      {table.truncated && (
        <div className="notice" data-testid="event-table-truncated">
          Partial: {table.truncated}.
        </div>
      )}
      <div className="vtable events" role="table" aria-label="Events" aria-rowcount={rows.length + 1} data-testid="event-table">
        <Grid rows={rows} onSelect={setSelected} selected={selected} />
      </div>
      {selected && <RowDetail row={selected} onOpenSession={props.onOpenSession} onClose={() => setSelected(null)} />}
    </>
  );
}

function Grid({ rows, onSelect, selected }: { rows: EventRow[]; onSelect: (r: EventRow) => void; selected: EventRow | null }) {
  const { viewport, onScroll, first, last } = useVirtualWindow(rows, ROW, OVERSCAN, 500);
  return (
    <div className="viewport" ref={viewport} onScroll={onScroll} data-testid="events-viewport">
      <div className="head" role="row" style={{ gridTemplateColumns: TEMPLATE, width: TOTAL }}>
        {EVENT_TABLE_COLUMNS.map(([k, label]) => (
          <div key={k} role="columnheader">
            {label}
          </div>
        ))}
      </div>
      <div style={{ height: rows.length * ROW, position: 'relative', width: TOTAL }}>
        {rows.length === 0 && <div className="empty">No event matches these filters.</div>}
        {rows.slice(first, last).map((r, i) => (
          <div
            key={first + i}
            className={`row ev-${r.approvalStep || r.decision || r.event.replace('.', '-')}${r.source === 'log' ? ' fromlog' : ''}${r === selected ? ' selected' : ''}`}
            role="row"
            tabIndex={0}
            style={{ top: (first + i) * ROW, gridTemplateColumns: TEMPLATE, width: TOTAL }}
            data-event={r.event}
            data-step={r.approvalStep}
            data-source={r.source}
            onClick={() => onSelect(r)}
            onKeyDown={(e) => e.key === 'Enter' && onSelect(r)}
          >
            {EVENT_TABLE_COLUMNS.map(([k]) => {
              const v = cellOf(r, k);
              return (
                <div key={k} role="cell" data-col={k} title={oneLine(v, 2000)} className={k === 'time' || k === 'params' || k === 'requestId' || k === 'sessionId' ? 'mono' : ''}>
                  {oneLine(v, 400)}
                </div>
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}

function RowDetail({ row, onOpenSession, onClose }: { row: EventRow; onOpenSession: (id: string) => void; onClose: () => void }) {
  return (
    <section className="card" style={{ marginTop: 12 }} data-testid="event-detail">
      <div className="actions" style={{ marginBottom: 8 }}>
        <h2 style={{ margin: 0 }}>
          {oneLine(row.event, 40)} · session #{row.session ?? '?'}
          {row.eventSeq !== null ? ` · event ${row.eventSeq}` : ''}
        </h2>
        <button className="link" onClick={() => onOpenSession(row.sessionId)}>
          Open the session
        </button>
        <button className="link" onClick={onClose}>
          Close
        </button>
      </div>
      <dl className="kv">
        {EVENT_TABLE_COLUMNS.filter(([k]) => cellOf(row, k) !== '').map(([k, label]) => (
          <div key={k} style={{ display: 'contents' }}>
            <dt>{label}</dt>
            <dd className={k === 'command' || k === 'params' ? 'mono' : ''} style={{ whiteSpace: 'pre-wrap' }}>
              <Txt text={cellOf(row, k)} max={20_000} />
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
