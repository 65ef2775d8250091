/**
 * An approval's life as four steps: requested → decided (who, when, from where) → released to the target →
 * finished, with the intervals between them. Built from the digest's approval row (archive offsets and event
 * seqs) or from what the signed log alone proves. A step the evidence does not hold is "not recorded" or
 * "unknown", never a time or zero; the order is judged on the archive's event sequence, which the
 * verifier proved contiguous and signed, so two steps in the same millisecond are still ordered.
 */
import { FROM_LOG } from './evidence-state.ts';
import { formatDuration } from './sessions.ts';
import type { ApprovalPoint, ApprovalRow, ApproverRow } from './types.ts';

export type StepName = 'requested' | 'decided' | 'released' | 'finished';

/**
 * recorded: the archive holds it; from-log: only the signed log dates it; not-recorded: it should be in the
 * archive and is not; unknown: the archive is unavailable; none: it does not apply (a denied command is never
 * released).
 */
export type StepState = 'recorded' | 'from-log' | 'not-recorded' | 'unknown' | 'none';

export interface ApprovalStep {
  step: StepName;
  title: string;
  state: StepState;
  /** ISO UTC with milliseconds ("+1.234s" when the session's start is unknown); null when not recorded. */
  at: string | null;
  /** What happened (who and from where, the result), or why there is no time. */
  text: string;
}

export type OrderCheck = 'proven' | 'violated' | 'unknown';

export interface ApprovalTimeline {
  requestId: string;
  steps: [ApprovalStep, ApprovalStep, ApprovalStep, ApprovalStep];
  /** requested → decided, decided → released, released → finished (ms); null when either end is missing. */
  waitMs: number | null;
  leadMs: number | null;
  runMs: number | null;
  order: OrderCheck;
  /** One sentence: "approved 1 min 34 s after the request and 3 ms before it ran; finished 12 ms after release". */
  interval: string;
}

export const STEP_TITLES: Record<StepName, string> = { requested: 'Requested', decided: 'Decided', released: 'Released to the target', finished: 'Finished' };

const NOT_RECORDED = 'not recorded';

/** "2026-11-29 18:01:10.123 UTC": where a time proves an order, milliseconds are shown. */
export function formatTimeMs(iso: string | null | undefined): string {
  if (!iso) return NOT_RECORDED;
  const t = Date.parse(iso);
  if (!Number.isFinite(t) || !/^\d{4}-/.test(iso)) return iso.slice(0, 40);
  return new Date(t).toISOString().replace('T', ' ').replace(/Z$/, ' UTC');
}

/** Offset t (ms since the session started) as ISO; "+1.234s" when the start is unknown. */
function isoAt(startedAt: string | undefined, t: number): string {
  const base = startedAt ? Date.parse(startedAt) : NaN;
  return Number.isFinite(base) ? new Date(base + t).toISOString() : `+${(t / 1000).toFixed(3)}s`;
}

/** The approver decision that settled the request: the denial, or the approval after which none remained. */
function deciding(a: ApprovalRow): ApproverRow | undefined {
  const list = a.approvers;
  if (a.outcome === 'denied') return list.find((p) => p.decision === 'denied') ?? list.at(-1);
  if (a.outcome === 'approved') {
    const approvals = list.filter((p) => p.decision === 'approved');
    return approvals.find((p) => p.remaining !== undefined && p.remaining <= 0) ?? approvals.at(-1);
  }
  return list.find((p) => p.decision === 'expired' || p.decision === 'cancelled');
}

function approverWords(p: ApproverRow, startedAt: string | undefined, withTime: boolean): string {
  const when = withTime ? (p.t !== null ? ` at ${formatTimeMs(isoAt(startedAt, p.t))}` : p.at ? ` at ${formatTimeMs(p.at)} (log time)` : '') : '';
  // The approval service's own clock, when it disagrees with the archive by a second or more.
  const own = p.t !== null && p.at && startedAt && Math.abs(Date.parse(p.at) - Date.parse(isoAt(startedAt, p.t))) >= 1000 ? ` (approval service clock: ${formatTimeMs(p.at)})` : '';
  return `${p.subject} ${p.decision}${p.address ? ` from ${p.address}` : ''}${when}${own}${p.reason ? `: ${p.reason}` : ''}`;
}

function diff(a: number | null | undefined, b: number | null | undefined): number | null {
  return a === null || a === undefined || b === null || b === undefined ? null : b - a;
}

function duration(ms: number): string {
  return ms < 1 ? 'under 1 ms' : formatDuration(ms);
}

export function approvalTimeline(a: ApprovalRow, startedAt: string | undefined): ApprovalTimeline {
  return a.fromLog ? fromLog(a) : fromArchive(a, startedAt);
}

function fromLog(a: ApprovalRow): ApprovalTimeline {
  const d = deciding(a);
  const decidedAt = d?.at ?? null;
  const requested: ApprovalStep = a.requestedAt
    ? { step: 'requested', title: STEP_TITLES.requested, state: 'from-log', at: a.requestedAt, text: `time of the signed log entry${a.expiresAt ? `; expires ${formatTimeMs(a.expiresAt)}` : ''}` }
    : { step: 'requested', title: STEP_TITLES.requested, state: 'unknown', at: null, text: `${NOT_RECORDED} in the signed log` };
  const decided: ApprovalStep =
    a.approvers.length > 0
      ? { step: 'decided', title: STEP_TITLES.decided, state: decidedAt ? 'from-log' : 'unknown', at: decidedAt, text: a.approvers.map((p) => approverWords(p, undefined, a.approvers.length > 1)).join('; ') }
      : { step: 'decided', title: STEP_TITLES.decided, state: 'unknown', at: null, text: a.outcome === 'pending' ? 'no decision in the signed log' : `${a.outcome}; ${FROM_LOG}` };
  const unknown = (step: StepName): ApprovalStep => ({ step, title: STEP_TITLES[step], state: 'unknown', at: null, text: `unknown: ${FROM_LOG}` });
  const waitMs = a.requestedAt && decidedAt ? Date.parse(decidedAt) - Date.parse(a.requestedAt) : null;
  const verb = a.outcome === 'approved' ? 'approved' : a.outcome === 'denied' ? 'denied' : a.outcome;
  const head = a.outcome === 'pending' ? 'no decision in the signed log' : waitMs !== null && Number.isFinite(waitMs) ? `${verb} ${duration(waitMs)} after the request (signed log times)` : `${verb} (signed log)`;
  return {
    requestId: a.requestId,
    steps: [requested, decided, unknown('released'), unknown('finished')],
    waitMs: waitMs !== null && Number.isFinite(waitMs) ? waitMs : null,
    leadMs: null,
    runMs: null,
    order: 'unknown',
    interval: `${head}; whether and when it ran is unknown: ${FROM_LOG}`,
  };
}

function fromArchive(a: ApprovalRow, startedAt: string | undefined): ApprovalTimeline {
  const d = deciding(a);
  const decidedT = d?.t ?? (a.outcome === 'expired' || a.outcome === 'cancelled' ? (a.gate?.t ?? null) : null);
  const refused = a.outcome === 'denied' || a.outcome === 'expired' || a.outcome === 'cancelled';
  // The pipeline's `command.released` when recorded; else (older archives) the gate's approval, after which
  // the adapter forwarded the command at once.
  const released: ApprovalPoint | undefined = a.released ?? (a.gate?.decision === 'approved' ? a.gate : undefined);

  const requested: ApprovalStep =
    a.requestedT !== null
      ? { step: 'requested', title: STEP_TITLES.requested, state: 'recorded', at: isoAt(startedAt, a.requestedT), text: a.expiresAt ? `expires ${formatTimeMs(a.expiresAt)}` : '' }
      : { step: 'requested', title: STEP_TITLES.requested, state: 'not-recorded', at: null, text: NOT_RECORDED };

  let decided: ApprovalStep;
  if (a.outcome === 'pending') {
    const some = a.approvers.length ? `; so far: ${a.approvers.map((p) => approverWords(p, startedAt, true)).join('; ')}` : '';
    decided = { step: 'decided', title: STEP_TITLES.decided, state: 'not-recorded', at: null, text: `no decision recorded${some}` };
  } else if (decidedT === null || (d && d.eventSeq === undefined)) {
    const named = a.approvers.length ? ` (the gate's decision names ${a.approvers.map((p) => p.subject).join(', ')})` : '';
    decided = { step: 'decided', title: STEP_TITLES.decided, state: 'not-recorded', at: null, text: `${a.outcome}, but no approver's decision is recorded${named}` };
  } else {
    const who = a.approvers.filter((p) => p.decision === 'approved' || p.decision === 'denied');
    const text =
      a.outcome === 'expired'
        ? `expired: no decision before ${a.expiresAt ? formatTimeMs(a.expiresAt) : 'its expiry'}${who.length ? ` (${who.map((p) => approverWords(p, startedAt, true)).join('; ')})` : ''}`
        : a.outcome === 'cancelled'
          ? `cancelled${a.approvers.find((p) => p.decision === 'cancelled')?.reason ? `: ${a.approvers.find((p) => p.decision === 'cancelled')!.reason}` : ''}`
          : who.map((p) => approverWords(p, startedAt, who.length > 1)).join('; ');
    decided = { step: 'decided', title: STEP_TITLES.decided, state: 'recorded', at: isoAt(startedAt, decidedT), text };
  }

  const release: ApprovalStep = released
    ? { step: 'released', title: STEP_TITLES.released, state: 'recorded', at: isoAt(startedAt, released.t), text: 'the gateway let the command through to the target' }
    : refused
      ? { step: 'released', title: STEP_TITLES.released, state: 'none', at: null, text: `never released (${a.outcome})` }
      : { step: 'released', title: STEP_TITLES.released, state: 'not-recorded', at: null, text: a.outcome === 'approved' ? `${NOT_RECORDED}: the archive holds no release of the approved command` : NOT_RECORDED };

  const f = a.finished;
  const finish: ApprovalStep = f
    ? { step: 'finished', title: STEP_TITLES.finished, state: 'recorded', at: isoAt(startedAt, f.t), text: f.text }
    : refused
      ? { step: 'finished', title: STEP_TITLES.finished, state: 'none', at: null, text: 'never ran' }
      : { step: 'finished', title: STEP_TITLES.finished, state: 'not-recorded', at: null, text: released ? `${NOT_RECORDED}: no result or error for this command in the archive` : NOT_RECORDED };

  const waitMs = diff(a.requestedT, decidedT);
  const leadMs = diff(decidedT, released?.t);
  const runMs = diff(released?.t, f?.t);
  const order = orderOf(a, d, released);
  return { requestId: a.requestId, steps: [requested, decided, release, finish], waitMs, leadMs, runMs, order, interval: intervalWords(a, { waitMs, leadMs, runMs }, order, !!released, !!f) };
}

/** The archive's event seqs must run request < decision < release < finish (and times never go back). */
function orderOf(a: ApprovalRow, d: ApproverRow | undefined, released: ApprovalPoint | undefined): OrderCheck {
  if (a.finished && !released) return 'violated'; // a result while held (only results are kept before a release)
  const chain: { seq: number | undefined; t: number | null | undefined }[] = [{ seq: a.requestedSeq, t: a.requestedT }];
  if (d) chain.push({ seq: d.eventSeq, t: d.t });
  // A recorded release must also follow the gate's final decision (without one, the gate is the release).
  if (a.released && a.gate) chain.push({ seq: a.gate.eventSeq, t: a.gate.t });
  if (released) chain.push({ seq: released.eventSeq, t: released.t });
  if (a.finished) chain.push({ seq: a.finished.eventSeq, t: a.finished.t });
  for (let i = 1; i < chain.length; i++) {
    const x = chain[i - 1]!;
    const y = chain[i]!;
    if (x.seq === undefined || y.seq === undefined || x.seq < 0 || y.seq < 0) return 'unknown';
    if (y.seq <= x.seq || (x.t != null && y.t != null && y.t < x.t)) return 'violated';
  }
  if (released && !d) return 'violated'; // released without any approver's decision
  return a.outcome === 'approved' && !released ? 'unknown' : 'proven';
}

function intervalWords(a: ApprovalRow, ms: { waitMs: number | null; leadMs: number | null; runMs: number | null }, order: OrderCheck, released: boolean, finished: boolean): string {
  if (order === 'violated') {
    if (a.finished && !released) return 'ORDER VIOLATED: a result is recorded for the held command without its release to the target';
    return 'ORDER VIOLATED: the archive records these steps out of order (released or finished before it was approved)';
  }
  const after = ms.waitMs !== null ? ` ${duration(ms.waitMs)} after the request` : ' (request time not recorded)';
  switch (a.outcome) {
    case 'pending':
      return 'no decision recorded; the command was not released';
    case 'denied':
      return `denied${after}; never released to the target`;
    case 'expired':
      return `expired${after} without a decision; never released to the target`;
    case 'cancelled':
      return `cancelled${after}; never released to the target`;
    case 'approved': {
      if (!released) return `approved${after}; its release to the target is not recorded`;
      const lead = ms.leadMs !== null ? (ms.leadMs < 1 ? ' and before it ran (released in the same millisecond; the archive\'s event order proves the approval came first)' : ` and ${duration(ms.leadMs)} before it ran`) : '';
      const run = finished && ms.runMs !== null ? `; finished ${duration(ms.runMs)} after its release` : '; its finish is not recorded';
      return `approved${after}${lead}${run}`;
    }
  }
}

/** One line per step and the interval: the PDF/HTML register cell and the CSV's plain-text form. */
export function timelineText(tl: ApprovalTimeline): string {
  const lines = tl.steps.map((s) => {
    const when = s.at ? ` ${formatTimeMs(s.at)}${s.state === 'from-log' ? ' (signed log)' : ''}` : '';
    return `${s.title}${when}${s.text ? `: ${s.text}` : ''}`;
  });
  return [...lines, `Interval: ${tl.interval}`].join('\n');
}
