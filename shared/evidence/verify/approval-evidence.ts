/**
 * The approvals register, rebuilt from decrypted events: for every held command, who asked, who decided,
 * and whether everything about it names the same command hash (session id + exact command bytes). A held
 * command that ran without an approval is a failure, as is a decision or release bound to another hash.
 * "Ran" is protocol-neutral: the pipeline's `command.released` (written just before the command reaches the
 * target, for every protocol), or — for archives and adapters that do not write it — a `result`.
 */
import type { EvidenceEvent } from '../events.ts';

export interface ApprovalDecisionEvidence {
  approver: string;
  decision: 'approved' | 'denied';
  reason: string | null;
  at: string | null;
}

export interface ApprovalEvidence {
  requestId: string;
  sessionId: string;
  command: number;
  commandHash: string;
  /** The statement the approver was shown (the held command's recorded text). */
  statement: string | null;
  rule: string;
  justification: string | null;
  expiresAt: string | null;
  decisions: ApprovalDecisionEvidence[];
  outcome: 'approved' | 'denied' | 'expired' | 'cancelled' | 'pending';
  approvedBy: string[];
  /** The held command was released to the target or produced a result (it ran); null when only the log is known. */
  ran: boolean | null;
  /** Every event about this request carries the request's command hash. */
  hashMatches: boolean;
  problems: string[];
  /** 'log': the archive is missing or unreadable; this row is what the signed log proves, content unavailable. */
  source: 'archive' | 'log';
  /** From the log's request entry (the archive names the requester in its identity instead). */
  requester?: string | null;
  /** The log time of the request (archive events carry offsets, the viewer places them). */
  requestedAt?: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export class ApprovalCollector {
  private readonly byId = new Map<string, ApprovalEvidence>();
  private readonly byCommand = new Map<number, ApprovalEvidence>();
  private readonly held = new Set<number>();
  /** Held commands whose final decision (approved, denied, expired) is recorded. */
  private readonly decided = new Set<number>();
  /** Recorded text of every command, to check the approval was shown the statement that ran. */
  private readonly texts = new Map<number, string>();
  private readonly problems: string[] = [];

  constructor(private readonly sessionId: string) {}

  add(events: readonly EvidenceEvent[]): void {
    for (const e of events) {
      const command = typeof e.command === 'number' ? e.command : undefined;
      switch (e.type) {
        case 'command':
          if (typeof e.id === 'number' && typeof e.text === 'string') this.texts.set(e.id, e.text);
          break;
        case 'approval.requested': {
          const requestId = str(e.requestId);
          if (!requestId || command === undefined) break;
          const a: ApprovalEvidence = {
            requestId,
            sessionId: this.sessionId,
            command,
            commandHash: str(e.commandHash) ?? '',
            statement: str(e.statement),
            rule: str(e.rule) ?? '',
            justification: str(e.justification),
            expiresAt: str(e.expiresAt),
            decisions: [],
            outcome: 'pending',
            approvedBy: [],
            ran: false,
            hashMatches: Boolean(str(e.commandHash)),
            problems: str(e.commandHash) ? [] : [`request ${requestId} records no command hash`],
            source: 'archive',
          };
          const text = this.texts.get(command);
          if (a.statement !== null && text !== undefined && a.statement !== text) {
            a.problems.push(`request ${requestId} showed approvers another statement than command ${command} records`);
          }
          this.byId.set(requestId, a);
          this.byCommand.set(command, a);
          break;
        }
        case 'approval.decided': {
          const a = this.request(e);
          if (!a) break;
          this.checkHash(a, e, 'a decision');
          const who = (e.approver as { subject?: unknown } | undefined)?.subject;
          a.decisions.push({ approver: str(who) ?? '?', decision: e.decision === 'approved' ? 'approved' : 'denied', reason: str(e.reason), at: str(e.at) });
          break;
        }
        case 'approval.expired':
        case 'approval.cancelled': {
          const a = this.request(e);
          if (!a) break;
          this.checkHash(a, e, 'the outcome');
          a.outcome = e.type === 'approval.expired' ? 'expired' : 'cancelled';
          break;
        }
        case 'decision': {
          if (command === undefined) break;
          if (e.decision === 'hold') this.held.add(command);
          if (this.held.has(command) && ['approved', 'denied', 'expired'].includes(String(e.decision))) this.decided.add(command);
          const requestId = str(e.requestId);
          const a = requestId ? this.byId.get(requestId) : undefined;
          if (!a || !['approved', 'denied', 'expired'].includes(String(e.decision))) break;
          this.checkHash(a, e, 'the final decision');
          if (e.decision === 'approved') a.outcome = 'approved';
          else if (a.outcome === 'pending') a.outcome = e.decision === 'expired' ? 'expired' : 'denied';
          if (Array.isArray(e.approvedBy)) a.approvedBy = e.approvedBy.map(String);
          break;
        }
        case 'command.released': {
          if (command === undefined) break;
          const a = this.byCommand.get(command);
          const requestId = str(e.requestId);
          if (!this.held.has(command) || !a || a.outcome !== 'approved') {
            this.problems.push(`command ${command} was released to the target without an approval`);
            if (a) a.ran = true;
            break;
          }
          a.ran = true;
          if (requestId !== a.requestId) a.problems.push(`request ${a.requestId}: the release of command ${command} names another request (${requestId ?? 'none'})`);
          this.checkHash(a, e, 'the release');
          break;
        }
        case 'result': {
          if (command === undefined || !this.held.has(command)) break;
          const a = this.byCommand.get(command);
          if (a) a.ran = true;
          if (!a || a.outcome !== 'approved') this.problems.push(`command ${command} was held for approval but ran without one`);
          break;
        }
      }
    }
  }

  /**
   * The register, and problems that fail the `approvals` check. In a complete archive every held command
   * ends with its outcome; an interrupted one may stop while a command waits (it is then `pending`).
   */
  finish(opts: { complete: boolean }): { approvals: ApprovalEvidence[]; problems: string[] } {
    const approvals = [...this.byId.values()];
    if (opts.complete) {
      for (const command of this.held) {
        if (!this.decided.has(command)) this.problems.push(`command ${command} was held for approval but the archive records no outcome for it (approved, denied or expired)`);
      }
    }
    for (const a of approvals) {
      if (a.outcome === 'approved' && a.decisions.filter((d) => d.decision === 'approved').length === 0) {
        a.problems.push(`request ${a.requestId} is marked approved without any approver's decision`);
      }
    }
    return { approvals, problems: [...this.problems, ...approvals.flatMap((a) => a.problems)] };
  }

  private request(e: EvidenceEvent): ApprovalEvidence | undefined {
    const requestId = str(e.requestId);
    const a = requestId ? this.byId.get(requestId) : undefined;
    if (requestId && !a) this.problems.push(`${e.type} for request ${requestId}, which this session never requested`);
    return a;
  }

  private checkHash(a: ApprovalEvidence, e: EvidenceEvent, what: string): void {
    if (str(e.commandHash) === a.commandHash) return;
    a.hashMatches = false;
    a.problems.push(`request ${a.requestId}: ${what} names another command hash than the request`);
  }
}
