import { useEffect, useState } from 'react';
import { absoluteTime } from '../model/csv.ts';
import type { Statement } from '../model/replay.ts';
import { approvalTimeline, formatTimeMs } from '../model/approval-timeline.ts';
import type { ApprovalRow } from '../model/types.ts';
import { plural } from '../model/report-text.ts';
import { ApprovalSteps } from './ApprovalTimeline.tsx';
import { DecisionBadge, ResultTable } from './SessionDetail.tsx';
import { Txt, oneLine } from './Text.tsx';

/** A database session, statement by statement: step, play with the recorded pacing (capped), jump. */
export function StatementPlayer({ statements, startedAt, approvals = [] }: { statements: Statement[]; startedAt: string | undefined; approvals?: readonly ApprovalRow[] }) {
  const [i, setI] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  const cur = statements[i];
  const held = cur && cur.id !== null ? approvals.filter((a) => a.command === cur.id) : [];
  useEffect(() => {
    if (!playing) return;
    if (i >= statements.length - 1) {
      setPlaying(false);
      return;
    }
    const gap = Math.min(3000, Math.max(400, (statements[i + 1]!.t - statements[i]!.t) / speed));
    const timer = setTimeout(() => setI((x) => x + 1), gap);
    return () => clearTimeout(timer);
  }, [playing, i, speed, statements]);
  if (statements.length === 0) return <p className="empty">No statements were recorded in this session.</p>;
  return (
    <div className="player" data-testid="statement-player">
      <div className="controls" style={{ marginTop: 0, marginBottom: 10 }}>
        <button onClick={() => setI(0)} disabled={i === 0}>
          First
        </button>
        <button onClick={() => setI((x) => Math.max(0, x - 1))} disabled={i === 0}>
          ◀ Previous
        </button>
        <button className="primary" onClick={() => setPlaying((p) => !p)} aria-label={playing ? 'Pause' : 'Play'}>
          {playing ? '❚❚ Pause' : '▶ Play'}
        </button>
        <button onClick={() => setI((x) => Math.min(statements.length - 1, x + 1))} disabled={i >= statements.length - 1}>
          Next ▶
        </button>
        <label className="small muted">
          Speed{' '}
          <select value={speed} onChange={(e) => setSpeed(Number(e.target.value))} aria-label="Speed">
            {[0.5, 1, 2, 4, 8].map((x) => (
              <option key={x} value={x}>
                {x}×
              </option>
            ))}
          </select>
        </label>
        <span className="time" data-testid="statement-position">
          Statement {i + 1} of {statements.length}
        </span>
      </div>
      <div style={{ display: 'grid', gridTemplateColumns: 'minmax(220px, 1fr) 2fr', gap: 14 }}>
        <ol className="stmt-list" aria-label="Statements">
          {statements.map((s, j) => (
            <li key={j} aria-selected={j === i} onClick={() => (setI(j), setPlaying(false))} title={oneLine(s.text, 500)}>
              {j + 1}. {oneLine(s.text, 120)}
            </li>
          ))}
        </ol>
        {cur && (
          <div data-testid="current-statement">
            <div className="when muted small">
              {held.length > 0 && 'received '}
              {formatTimeMs(absoluteTime(startedAt, cur.t))} · #{cur.id ?? '?'} <DecisionBadge s={cur} held={held.length > 0} />
              {cur.rule && <> · rule {oneLine(cur.rule, 80)}</>}
              {cur.masked > 0 && <> · {plural(cur.masked, 'value')} masked</>}
            </div>
            <pre className="cmd">
              <Txt text={cur.text} max={20_000} total={cur.length} />
            </pre>
            {cur.reason && (
              <p className="small">
                Reason: <Txt text={cur.reason} max={600} />
              </p>
            )}
            {held.map((a) => (
              <ApprovalSteps key={a.requestId} tl={approvalTimeline(a, startedAt)} />
            ))}
            {cur.result && <ResultTable r={cur.result} />}
            {cur.errors.map((e, j) => (
              <div key={j} className="error small">
                <Txt text={e} max={1000} />
              </div>
            ))}
            {cur.notices.map((e, j) => (
              <div key={j} className="notice small">
                <Txt text={e} max={1000} />
              </div>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}
