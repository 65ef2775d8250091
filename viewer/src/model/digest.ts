/**
 * Builds a SessionDigest from a session's decrypted events, frame by frame. Bundles are untrusted: every
 * field is type-checked, strings are capped, and unknown event types are counted, never interpreted.
 */
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { plural } from './report-text.ts';
import type { ApprovalRow, CommandRow, SessionDigest } from './types.ts';

/** Longest command text kept for display and search (the full text stays in the decrypted events). */
export const MAX_TEXT = 16 * 1024;
const MAX_FIELD = 1024;
const MAX_COMMANDS = 100_000;

export function str(v: unknown, max = MAX_FIELD): string | undefined {
  if (typeof v === 'string') return v.length > max ? v.slice(0, max) + '…' : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** A person or identity as recorded: a string, or an object with a subject. */
export function who(v: unknown): { subject: string; issuer?: string } | undefined {
  if (typeof v === 'string') return { subject: str(v)! };
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const subject = str(o.subject) ?? str(o.name) ?? str(o.id);
    if (!subject) return undefined;
    const issuer = str(o.issuer);
    return issuer ? { subject, issuer } : { subject };
  }
  return undefined;
}

function strings(v: unknown, max = 64): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: string[] = [];
  for (const x of v.slice(0, max)) {
    const w = who(x);
    if (w) out.push(w.subject);
    else if (x === null) out.push('NULL');
  }
  return out;
}

function classificationOf(v: unknown): string | undefined {
  const one = (c: unknown): string | undefined => {
    if (!c || typeof c !== 'object') return str(c, 64);
    const o = c as Record<string, unknown>;
    return str(o.class, 64) ?? str(o.command, 64);
  };
  if (Array.isArray(v)) {
    const parts = v.slice(0, 8).map(one).filter((x): x is string => !!x);
    return parts.length ? [...new Set(parts)].join(', ') : undefined;
  }
  return one(v);
}

export class DigestBuilder {
  readonly digest: SessionDigest;
  private readonly byId = new Map<number, CommandRow>();
  private readonly approvalsById = new Map<string, ApprovalRow>();
  private last: CommandRow | undefined;

  constructor(
    sessionId: string,
    private readonly meta: { seq: number | null; requester?: string; requesterIssuer?: string; target?: string } = { seq: null },
  ) {
    this.digest = {
      sessionId,
      events: 0,
      lastT: 0,
      terminal: false,
      outputBytes: 0,
      commands: [],
      approvals: [],
      masked: 0,
      maskingKinds: {},
      errors: 0,
      blocks: 0,
      identityRejected: [],
      partial: false,
    };
  }

  add(events: readonly EvidenceEvent[]): void {
    for (const e of events) this.one(e);
  }

  private command(id: unknown): CommandRow | undefined {
    const n = num(id);
    return n === undefined ? this.last : this.byId.get(n);
  }

  private one(e: EvidenceEvent): void {
    const d = this.digest;
    d.events++;
    const t = num(e.t) ?? d.lastT;
    if (t > d.lastT) d.lastT = t;
    switch (e.type) {
      case 'session.open': {
        const pty = e.pty as Record<string, unknown> | undefined;
        if (pty && typeof pty === 'object') {
          const cols = clampInt(num(pty.cols), 10, 500, 80);
          const rows = clampInt(num(pty.rows), 4, 200, 24);
          const term = str(pty.term, 64);
          d.pty = term ? { cols, rows, term } : { cols, rows };
        }
        break;
      }
      case 'identity.verified': {
        const w = who(e);
        if (w && !this.meta.requester) {
          this.meta.requester = w.subject;
          if (w.issuer) this.meta.requesterIssuer = w.issuer;
        }
        break;
      }
      case 'identity.rejected':
        if (d.identityRejected.length < 100) d.identityRejected.push(str(e.reason) ?? 'identity rejected');
        break;
      case 'command': {
        if (d.commands.length >= MAX_COMMANDS) break;
        const raw = typeof e.text === 'string' ? e.text : e.text === undefined ? '' : JSON.stringify(e.text) ?? '';
        const id = num(e.id) ?? null;
        const params = strings(e.params);
        const classification = classificationOf(e.classification);
        const row: CommandRow = {
          id,
          t,
          kind: str(e.kind, 32) ?? 'command',
          text: raw.length > MAX_TEXT ? raw.slice(0, MAX_TEXT) : raw,
          truncated: Math.max(0, raw.length - MAX_TEXT),
          decisions: [],
          decision: null,
          errors: [],
          masked: 0,
          ...(params ? { params } : {}),
          ...(classification ? { classification } : {}),
        };
        d.commands.push(row);
        if (id !== null) this.byId.set(id, row);
        this.last = row;
        break;
      }
      case 'decision': {
        const decision = str(e.decision, 32) ?? 'unknown';
        if (decision === 'block' || decision === 'denied') d.blocks++;
        const c = e.command === undefined && e.scope === 'session' ? undefined : this.command(e.command);
        const approvedBy = strings(e.approvedBy);
        const row = {
          t,
          decision,
          ...(str(e.rule) ? { rule: str(e.rule)! } : {}),
          ...(str(e.reason) ? { reason: str(e.reason)! } : {}),
          ...(approvedBy ? { approvedBy } : {}),
          ...(str(e.commandHash, 128) ? { commandHash: str(e.commandHash, 128)! } : {}),
        };
        if (c) {
          c.decisions.push(row);
          c.decision = decision;
        }
        if (decision === 'approved' || decision === 'denied' || decision === 'expired') {
          const a = this.approvalFor(str(e.requestId, 128), c?.id ?? null);
          if (a) {
            if (row.commandHash) a.executedHash = row.commandHash;
            // The first final decision is the gate's: for an approval, the moment it released the command.
            a.gate ??= { t, eventSeq: num(e.seq) ?? -1, decision };
            // The gate's final decision is authoritative (an approver's "yes" may not have been enough).
            a.outcome = decision as ApprovalRow['outcome'];
            if (decision === 'approved' && a.approvers.length === 0) {
              for (const s of approvedBy ?? []) a.approvers.push({ subject: s, decision: 'approved', t }); // named by the gate only: no eventSeq of its own
            }
            this.check(a);
          }
        }
        break;
      }
      case 'approval.requested': {
        const requestId = str(e.requestId, 128) ?? `#${d.approvals.length + 1}`;
        const c = this.command(e.command);
        const a: ApprovalRow = {
          sessionId: d.sessionId,
          seq: this.meta.seq,
          requestId,
          command: c?.id ?? num(e.command) ?? null,
          commandText: c?.text.slice(0, 2048) ?? '',
          requester: this.meta.requester ?? '(unknown identity)',
          requestedT: t,
          requestedSeq: num(e.seq) ?? -1,
          approvers: [],
          outcome: 'pending',
          hashCheck: 'not-recorded',
          executed: false,
          ...(this.meta.requesterIssuer ? { requesterIssuer: this.meta.requesterIssuer } : {}),
          ...(this.meta.target ? { target: this.meta.target } : {}),
          ...(str(e.rule) ? { rule: str(e.rule)! } : {}),
          ...(str(e.justification) ? { justification: str(e.justification)! } : {}),
          ...(str(e.expiresAt, 64) ? { expiresAt: str(e.expiresAt, 64)! } : {}),
          ...(str(e.commandHash, 128) ? { requestedHash: str(e.commandHash, 128)! } : {}),
        };
        const requester = who(e.requester);
        if (requester) {
          a.requester = requester.subject;
          if (requester.issuer) a.requesterIssuer = requester.issuer;
        }
        if (d.approvals.length < MAX_COMMANDS) {
          d.approvals.push(a);
          this.approvalsById.set(requestId, a);
        }
        break;
      }
      case 'approval.decided':
      case 'approval.expired':
      case 'approval.cancelled': {
        const a = this.approvalFor(str(e.requestId, 128), num(e.command) ?? null);
        if (!a) break;
        const decision = e.type === 'approval.decided' ? (str(e.decision, 32) ?? 'decided') : e.type === 'approval.expired' ? 'expired' : 'cancelled';
        const approver = who(e.approver);
        const list = Array.isArray(e.approvers) ? e.approvers.map(who).filter((x) => !!x) : approver ? [approver] : [];
        const remaining = num(e.remaining);
        for (const p of list.slice(0, 64)) {
          a.approvers.push({
            subject: p!.subject,
            decision,
            t,
            eventSeq: num(e.seq) ?? -1,
            ...(str(e.at, 64) ? { at: str(e.at, 64)! } : {}),
            ...(remaining !== undefined ? { remaining } : {}),
            ...(p!.issuer ? { issuer: p!.issuer } : {}),
            ...(str(e.reason) ? { reason: str(e.reason)! } : {}),
            ...(str(e.address, 256) ? { address: str(e.address, 256)! } : {}),
          });
        }
        // Until the gate's final decision event: a denial, expiry or cancellation ends the request; an approval
        // does only when no further approver is needed (N-of-M rules record how many remain).
        if (a.outcome === 'pending') {
          if (decision === 'denied' || decision === 'expired' || decision === 'cancelled') a.outcome = decision;
          else if (decision === 'approved' && (remaining === undefined || remaining <= 0)) a.outcome = 'approved';
        }
        const h = str(e.commandHash, 128);
        if (h && !a.requestedHash) a.requestedHash = h;
        this.check(a);
        break;
      }
      case 'command.released': {
        const a = this.approvalFor(str(e.requestId, 128), num(e.command) ?? null);
        if (!a || a.released) break;
        a.released = { t, eventSeq: num(e.seq) ?? -1 };
        // A release bound to another hash than the request's shows as a mismatch, whatever the gate named.
        const h = str(e.commandHash, 128);
        if (h && (!a.executedHash || h !== a.requestedHash)) a.executedHash = h;
        this.check(a);
        break;
      }
      case 'result': {
        const c = this.command(e.command);
        if (!c) break;
        const status = str(e.status, 32);
        const tag = str(e.tag, 128);
        const rowCount = num(e.rowCount);
        const durationMs = num(e.durationMs);
        if (status) c.status = status;
        if (tag) c.tag = tag;
        if (rowCount !== undefined) c.rowCount = rowCount;
        if (durationMs !== undefined) c.durationMs = durationMs;
        this.markExecuted(c);
        const words = [tag ?? status ?? 'result', rowCount !== undefined ? plural(rowCount, 'row') : ''].filter(Boolean).join(', ');
        // A result while still pending is kept too: the timeline then shows it ran before any release.
        this.markFinished(c, e, t, 'result', words, (a) => a.outcome === 'approved' || a.outcome === 'pending');
        break;
      }
      case 'error': {
        d.errors++;
        const c = this.command(e.command);
        const err = { message: str(e.message, 4096) ?? 'error', ...(str(e.code, 32) ? { code: str(e.code, 32)! } : {}) };
        if (c && c.errors.length < 100) c.errors.push(err);
        if (c && c.decision !== 'block' && c.decision !== 'denied') this.markExecuted(c);
        // An error finishes a held command only after its release; before it, it is part of the refusal.
        if (c) this.markFinished(c, e, t, 'error', `error${err.code ? ` ${err.code}` : ''}: ${err.message.slice(0, 300)}`, (a) => a.gate?.decision === 'approved');
        break;
      }
      case 'masking': {
        const n = num(e.count) ?? 0;
        if (n > 0) d.masked += n;
        const c = this.command(e.command);
        if (c && n > 0) c.masked += n;
        const kinds = e.kinds;
        if (kinds && typeof kinds === 'object' && !Array.isArray(kinds)) {
          for (const [k, v] of Object.entries(kinds as Record<string, unknown>).slice(0, 32)) {
            const x = num(v);
            if (x !== undefined && k.length <= 64) d.maskingKinds[k] = (d.maskingKinds[k] ?? 0) + x;
          }
        }
        break;
      }
      case 'output':
      case 'input':
        if (e.type === 'output') d.terminal = true;
        d.outputBytes += e.data?.length ?? 0;
        break;
      case 'session.close':
        d.closeReason = str(e.reason) ?? '';
        break;
    }
  }

  private approvalFor(requestId: string | undefined, command: number | null): ApprovalRow | undefined {
    if (requestId && this.approvalsById.has(requestId)) return this.approvalsById.get(requestId);
    for (let i = this.digest.approvals.length - 1; i >= 0; i--) {
      const a = this.digest.approvals[i]!;
      if (command !== null && a.command === command) return a;
    }
    return undefined;
  }

  private markExecuted(c: CommandRow): void {
    for (const a of this.digest.approvals) if (a.command !== null && a.command === c.id && a.outcome === 'approved') a.executed = true;
  }

  private markFinished(c: CommandRow, e: EvidenceEvent, t: number, kind: 'result' | 'error', text: string, applies: (a: ApprovalRow) => boolean): void {
    if (c.id === null) return;
    for (const a of this.digest.approvals) {
      if (a.command === c.id && !a.finished && applies(a)) a.finished = { t, eventSeq: num(e.seq) ?? -1, kind, text };
    }
  }

  private check(a: ApprovalRow): void {
    if (a.requestedHash && a.executedHash) a.hashCheck = a.requestedHash === a.executedHash ? 'match' : 'mismatch';
    else a.hashCheck = 'not-recorded';
  }
}

function clampInt(v: number | undefined, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  return Math.min(max, Math.max(min, Math.round(v)));
}
