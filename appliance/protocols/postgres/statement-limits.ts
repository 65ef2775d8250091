/**
 * The policy's `limits.maxStatementSeconds`, enforced twice: the gateway cancels (CancelRequest to the
 * target) any statement the server has been working on for longer, whatever the session's settings say —
 * a function can change them behind Vigil's back — and it refuses statements that would lift the server's
 * own statement_timeout above the limit (SET/SET LOCAL/set_config to 0 or more, a startup value).
 */
import type { ClassifiedStatement } from '../../sql/index.ts';
import type { Pending } from './response-tracker.ts';

const UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A statement_timeout value in milliseconds as PostgreSQL reads it (a bare number is ms); undefined if unreadable. */
export function timeoutMs(value: string): number | undefined {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  // Own keys only: a unit spelled `constructor` or `__proto__` is no unit (it read as NaN ms, which passed every limit).
  const factor = unit === '' ? 1 : Object.hasOwn(UNITS, unit) ? UNITS[unit] : undefined;
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

/** Why a value may not be set under the limit, or undefined when it may. 0 means no timeout at all. */
export function timeoutProblem(value: string | undefined, maxSeconds: number): string | undefined {
  const ms = value === undefined ? undefined : timeoutMs(value);
  if (ms === undefined) return 'statement_timeout is set to a value Vigil cannot read';
  // PostgreSQL rounds to whole milliseconds (rint: 0.4 and 0.5 become 0), and 0 is no limit at all.
  if (ms <= 0) return `statement_timeout 0 (no limit) is above the policy's maxStatementSeconds (${maxSeconds} s)`;
  if (ms < 1) return `statement_timeout ${value} is under 1 ms, which PostgreSQL may round to 0 (no limit): not allowed under the policy's maxStatementSeconds (${maxSeconds} s)`;
  if (ms > maxSeconds * 1000) return `statement_timeout ${value} is above the policy's maxStatementSeconds (${maxSeconds} s)`;
  return undefined;
}

/** What a statement sets statement_timeout to: a value, 'unreadable', or undefined when it does not set it. */
export function setsStatementTimeout(s: ClassifiedStatement): string | 'unreadable' | undefined {
  const t = s.tree as { VariableSetStmt?: { kind?: string; name?: string; args?: unknown[] } } | undefined;
  const v = t?.VariableSetStmt;
  if (v && v.name?.toLowerCase() === 'statement_timeout') {
    // RESET and DEFAULT go back to the value the session started with, which passed the same check.
    if (v.kind !== 'VAR_SET_VALUE') return undefined;
    const arg = v.args?.[0] as { A_Const?: { ival?: { ival?: number }; fval?: { fval?: string }; sval?: { sval?: string } } } | undefined;
    const c = arg?.A_Const;
    if (v.args?.length !== 1 || !c) return 'unreadable';
    if (c.sval?.sval !== undefined) return c.sval.sval;
    if (c.fval?.fval !== undefined) return c.fval.fval;
    // The parse tree leaves out a zero ival.
    return c.ival ? String(c.ival.ival ?? 0) : 'unreadable';
  }
  // Every set_config of statement_timeout counts (a statement may call it more than once): the one that
  // lifts the limit most is the value to check.
  let found: string | undefined;
  for (const f of s.functions) {
    if (f.parts[f.parts.length - 1] !== 'set_config') continue;
    const [name, value] = f.constants?.positional ?? [];
    if (name === null || name === undefined) return 'unreadable';
    if (name.toLowerCase() !== 'statement_timeout') continue;
    if (value === null || value === undefined) return 'unreadable';
    if (found === undefined || lift(value) > lift(found)) found = value;
  }
  return found;
}

/** How far a value lifts the server's limit: no limit (0, under 1 ms, unreadable) is the most. */
function lift(value: string): number {
  const ms = timeoutMs(value);
  return ms === undefined || ms < 1 ? Infinity : ms;
}

/**
 * Watches the command the server is working on (the head of the response queue) and cancels it when it
 * runs past the limit. The clock starts when the command reaches the head, not when it was pipelined.
 */
export class StatementTimer {
  private watched: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly maxSeconds: number,
    private readonly onExceeded: (p: Pending) => void,
  ) {}

  /** Call whenever the head may have changed. */
  check(head: Pending | undefined): void {
    if (head === this.watched) return;
    this.stop();
    if (!head || !('cmd' in head) || !head.cmd) return;
    if (head.kind !== 'query' && head.kind !== 'execute' && head.kind !== 'function') return;
    this.watched = head;
    this.timer = setTimeout(() => {
      if (this.watched === head) this.onExceeded(head);
    }, this.maxSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watched = undefined;
  }
}
