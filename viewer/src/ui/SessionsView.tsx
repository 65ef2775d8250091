import { useDeferredValue, useMemo, useState } from 'react';
import { STATUS_WORDS } from '../model/report.ts';
import { applyFilter, distinct, formatTime, isFiltering, EMPTY_FILTER, type SessionFilter } from '../model/sessions.ts';
import type { SessionRow } from '../model/types.ts';
import { FROM_LOG, UNKNOWN } from '../model/evidence-state.ts';
import { oneLine } from './Text.tsx';
import { useVirtualWindow } from './use-virtual-window.ts';

function Unknown() {
  return (
    <span className="unknown" title={`not known: ${FROM_LOG}`}>
      {UNKNOWN}
    </span>
  );
}

const ROW = 36;
const OVERSCAN = 12;

type SortKey = 'seq' | 'started' | 'identity' | 'target' | 'commands' | 'blocks' | 'approvals' | 'masked';

export function SessionsView(props: { rows: SessionRow[]; filter: SessionFilter; onFilter: (f: SessionFilter) => void; withKey: boolean; onOpen: (id: string) => void }) {
  const { rows, filter: f, onFilter } = props;
  const deferred = useDeferredValue(f);
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'seq', desc: false });
  const protocols = useMemo(() => distinct(rows, 'protocol'), [rows]);
  const filtered = useMemo(() => {
    const out = applyFilter(rows, deferred);
    if (sort.key === 'seq' && !sort.desc) return out;
    const val = (r: SessionRow): string | number =>
      sort.key === 'seq' ? (r.report.seq ?? 0) : sort.key === 'started' ? r.startedMs : sort.key === 'identity' ? r.identity : sort.key === 'target' ? r.target : (r[sort.key] ?? -1);
    const dir = sort.desc ? -1 : 1;
    return [...out].sort((a, b) => {
      const x = val(a);
      const y = val(b);
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
  }, [rows, deferred, sort]);

  const set = (patch: Partial<SessionFilter>) => onFilter({ ...f, ...patch });
  const header = (key: SortKey, label: string, cls = '') => (
    <div className={cls}>
      <button onClick={() => setSort((s) => ({ key, desc: s.key === key ? !s.desc : false }))} aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
        {label}
        {sort.key === key ? (sort.desc ? ' ▾' : ' ▴') : ''}
      </button>
    </div>
  );

  return (
    <>
      <div className="filters" role="search" aria-label="Filter sessions">
        <label>
          Identity
          <input type="text" value={f.identity} onChange={(e) => set({ identity: e.target.value })} placeholder="subject contains…" aria-label="Identity" />
        </label>
        <label>
          Target
          <input type="text" value={f.target} onChange={(e) => set({ target: e.target.value })} placeholder="target contains…" aria-label="Target" />
        </label>
        <label>
          Protocol
          <select value={f.protocol} onChange={(e) => set({ protocol: e.target.value })} aria-label="Protocol">
            <option value="">any</option>
            {protocols.map((p) => (
              <option key={p} value={p}>
                {oneLine(p, 32)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Outcome
          <select value={f.outcome} onChange={(e) => set({ outcome: e.target.value })} aria-label="Outcome">
            <option value="">any</option>
            <option value="complete">complete</option>
            <option value="interrupted">interrupted</option>
            <option value="in-progress">in progress</option>
            <option value="failed">FAILED</option>
          </select>
        </label>
        <label>
          Started from (UTC)
          <input type="datetime-local" step={1} value={f.from} onChange={(e) => set({ from: e.target.value })} aria-label="Started from" />
        </label>
        <label>
          to (UTC)
          <input type="datetime-local" step={1} value={f.to} onChange={(e) => set({ to: e.target.value })} aria-label="Started to" />
        </label>
        <label className="check">
          <input type="checkbox" checked={f.approvals} onChange={(e) => set({ approvals: e.target.checked })} /> had approvals
        </label>
        <label className="check">
          <input type="checkbox" checked={f.blocks} onChange={(e) => set({ blocks: e.target.checked })} /> had blocks
        </label>
        <label className="check">
          <input type="checkbox" checked={f.masking} onChange={(e) => set({ masking: e.target.checked })} /> had masking
        </label>
        <label>
          Search in commands
          <input
            type="search"
            value={f.search}
            onChange={(e) => set({ search: e.target.value })}
            placeholder={props.withKey ? 'text in any command…' : 'needs the auditor key'}
            disabled={!props.withKey}
            aria-label="Search in commands"
            style={{ width: 220 }}
          />
        </label>
        {isFiltering(f) && (
          <button className="link" onClick={() => onFilter(EMPTY_FILTER)} style={{ paddingBottom: 6 }}>
            Clear filters
          </button>
        )}
      </div>
      <div className="muted small" style={{ marginBottom: 6 }} data-testid="session-count" aria-live="polite">
        {filtered.length === rows.length ? `${rows.length.toLocaleString('en')} sessions` : `${filtered.length.toLocaleString('en')} of ${rows.length.toLocaleString('en')} sessions`}
        {!props.withKey && ' · counts come from the signed manifests; load the auditor key for commands and search'}
      </div>
      <div className="vtable" role="table" aria-label="Sessions" aria-rowcount={filtered.length + 1}>
        <div className="head" role="row">
          {header('seq', '#', 'num')}
          <div>Status</div>
          <div>Protocol</div>
          {header('identity', 'Identity')}
          {header('target', 'Target')}
          {header('started', 'Started (UTC)')}
          {header('commands', 'Cmds', 'num')}
          {header('blocks', 'Blocks', 'num')}
          {header('approvals', 'Approvals', 'num')}
          {header('masked', 'Masked', 'num')}
        </div>
        <VirtualRows rows={filtered} onOpen={props.onOpen} />
      </div>
    </>
  );
}

function VirtualRows({ rows, onOpen }: { rows: SessionRow[]; onOpen: (id: string) => void }) {
  const { viewport, onScroll, first, last } = useVirtualWindow(rows, ROW, OVERSCAN, 600);
  const visible = rows.slice(first, last);
  return (
    <div className="viewport" ref={viewport} onScroll={onScroll} data-testid="sessions-viewport">
      <div style={{ height: rows.length * ROW, position: 'relative' }}>
        {rows.length === 0 && <div className="empty">No session matches these filters.</div>}
        {visible.map((r, i) => {
          const s = r.report;
          return (
            <div
              key={s.sessionId}
              className="row"
              role="row"
              tabIndex={0}
              style={{ top: (first + i) * ROW }}
              data-seq={s.seq ?? ''}
              onClick={() => onOpen(s.sessionId)}
              onKeyDown={(e) => e.key === 'Enter' && onOpen(s.sessionId)}
            >
              <div className="num">{s.seq ?? '?'}</div>
              <div>
                <span className={`status ${s.status}`}>{STATUS_WORDS[s.status] ?? s.status}</span>
                {s.source === 'log' && (
                  <span className="fromlog" title={`identity, target and times ${FROM_LOG}`} data-testid="from-log">
                    log only
                  </span>
                )}
              </div>
              <div>{oneLine(r.protocol, 20)}</div>
              <div title={oneLine(r.identity, 1000)}>{oneLine(r.identity, 200)}</div>
              <div title={oneLine(r.target, 500)}>{oneLine(r.target, 100)}</div>
              <div>{formatTime(s.startedAt).replace(' UTC', '')}</div>
              <div className="num">{r.commands ?? <Unknown />}</div>
              <div className="num">{r.blocks === null ? <Unknown /> : r.blocks || ''}</div>
              <div className="num">{r.approvals === null ? <Unknown /> : r.approvals || ''}</div>
              <div className="num">{r.masked === null ? <Unknown /> : r.masked || ''}</div>
            </div>
          );
        })}
      </div>
    </div>
  );
}
