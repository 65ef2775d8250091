import type { ApprovalStep, ApprovalTimeline } from '../model/approval-timeline.ts';
import { formatTimeMs } from '../model/approval-timeline.ts';
import { Txt } from './Text.tsx';

const STATE_WORDS = { recorded: '', 'from-log': 'signed log', 'not-recorded': 'not recorded', unknown: 'unknown', none: '—' } as const;

/** The step's words without repeating its state, which the time line already says ("not recorded: …"). */
function detail(s: ApprovalStep): string {
  return s.at ? s.text : s.text.replace(/^(not recorded|unknown)(: |$)/, '');
}

/** requested → decided → released → finished, each with its time (UTC, ms) or why it has none, and the interval. */
export function ApprovalSteps({ tl, compact = false }: { tl: ApprovalTimeline; compact?: boolean }) {
  // A check mark only for what it proves: approved, then released, in the archive's order.
  const mood = tl.order === 'violated' ? 'violated' : tl.order === 'unknown' ? 'unknown' : tl.leadMs !== null ? 'proven' : '';
  return (
    <div className={`approval-timeline${compact ? ' compact' : ''}`} data-testid="approval-timeline" data-request={tl.requestId} data-order={tl.order}>
      <ol className="approval-steps">
        {tl.steps.map((s) => (
          <li key={s.step} data-step={s.step} data-state={s.state} className={`st-${s.state}`}>
            <span className="step-title">{s.title}</span>
            <span className="step-when mono">{s.at ? formatTimeMs(s.at) : STATE_WORDS[s.state] || 'not recorded'}</span>
            {s.state === 'from-log' && <span className="badge">signed log</span>}
            {detail(s) && (
              <span className="step-text">
                <Txt text={detail(s)} max={800} />
              </span>
            )}
          </li>
        ))}
      </ol>
      <div className={`approval-interval ${mood}`} data-testid="approval-interval">
        {mood === 'proven' ? '✓ ' : mood === 'violated' ? '✗ ' : ''}
        <Txt text={tl.interval} max={600} />
      </div>
    </div>
  );
}
