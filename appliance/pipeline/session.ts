/**
 * The session pipeline every protocol adapter drives: identity → target grant → per-command policy →
 * (approval hold) → forward, with the recorder and masker as taps. Adapters translate their wire
 * protocol into these calls; nothing here knows about PostgreSQL, SSH or Kubernetes.
 *
 * Record, then forward: `decide()` records the command and the decision; the adapter then awaits
 * `commit()` before a byte of the command reaches the target.
 */
import { createHmac } from 'node:crypto';
import { describeError, isVigilError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/evidence/archive-format.ts';
import type { SessionContext } from '../../shared/evidence/archive-format.ts';
import type { EventInput } from '../evidence/archive-writer.ts';
import type { RecordedSession, SessionRecorder } from '../evidence/session-recorder.ts';
import type { BoundPolicy, CommandFacts, Decision, PolicyEngine } from '../policy/engine.ts';
import { noApprovals, type ApprovalGate, type ApprovalListener, type ApprovalOutcome, type ApprovalRequest } from './approval-gate.ts';
import { maskEvidenceText } from '../../shared/pan/index.ts';
import { MaskCounter } from './masking.ts';
import { redactEventStrings } from './recorded-text.ts';
import type { Metrics, SessionOutcome } from '../metrics/metrics.ts';
import { SessionTelemetry, type SessionLogger } from './session-telemetry.ts';

/** What the identity step proved (a subset of appliance/identity's VerifiedIdentity). */
export interface SessionIdentity {
  method: string;
  provider: string;
  issuer: string;
  subject: string;
  groups: string[];
  tokenId?: string | undefined;
  tokenHash?: string | undefined;
  expiresAt?: string | undefined;
  claims?: Record<string, unknown>;
}

export interface PipelineOptions {
  recorder: SessionRecorder;
  policy: PolicyEngine;
  approvals?: ApprovalGate;
  /**
   * Keys the command hash an approval binds (HMAC-SHA-256): the exact bytes may hold a card number whose
   * masked display would make an unkeyed hash easy to invert. The appliance's fingerprint key.
   */
  commandKey: Uint8Array;
  /** Counts sessions, decisions, holds, masking and identity failures (/metrics); labels are closed vocabularies. */
  metrics?: Metrics;
  /** The operational log: one JSON line per event that matters, with the session id (session-telemetry.ts). */
  logger?: SessionLogger;
}

export interface CommandInput {
  /** What sort of command (sql, sql-prepare, exec, shell…): the command event's `kind`. */
  kind: string;
  /** The command as it will be recorded: already masked/redacted by the adapter. */
  text: string;
  /**
   * What policy decides on: one entry per part that runs (a multi-statement query is several). Recorded as
   * the command event's `classification`, with `objects` under its archive name `tables`.
   */
  facts: readonly CommandFacts[];
  /**
   * The adapter's own fields of the command event, recorded as given: `fields` before `classification`
   * (PostgreSQL: params, fingerprint), `extra` after it (portal, statement…). Two places only so that the
   * recorded events keep their byte order (docs/test-vectors).
   */
  fields?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  /**
   * Set by the adapter when the gateway itself cannot let the command run, whatever policy says (it could
   * not tell what the target would execute), or by a policy limit the adapter checks itself: recorded as a
   * block by that rule (`vigil/…` for the gateway's own).
   */
  refusal?: { rule: string; reason: string };
  /**
   * The command only prepares a statement (a PostgreSQL Parse): nothing runs, so one that needs approval is
   * not held here but recorded as `deferred` — each execution of it is decided, and held, on its own.
   */
  prepareOnly?: boolean;
  /**
   * The adapter cannot hold this command (why not): one that needs approval is refused instead, recorded as
   * a block by the approval rule — never a `hold` that no request follows.
   */
  unholdable?: string;
}

export interface CommandDecision {
  id: number;
  decision: Decision;
}

export class SessionPipeline {
  private readonly live = new Set<PipelineSession>();

  constructor(readonly opts: PipelineOptions) {}

  open(protocol: string, client: { address: string; tls?: string }): PipelineSession {
    const s = new PipelineSession(this.opts, protocol, client, () => this.live.delete(s));
    this.live.add(s);
    return s;
  }

  /** Sessions opened and not yet closed (graceful shutdown waits for them). */
  get openSessions(): readonly PipelineSession[] {
    return [...this.live];
  }
}

export class PipelineSession {
  readonly masks = new MaskCounter();
  identity: SessionIdentity | undefined;
  policy: BoundPolicy | undefined;
  target: string | undefined;
  private readonly recorded: RecordedSession;
  private nextId = 1;
  private closed = false;
  /** Aborted when the client goes away: cancels pending approval requests. */
  private readonly gone = new AbortController();
  /** Commands waiting for approval: closing waits for them to record how they ended. */
  private readonly holds = new Set<Promise<unknown>>();

  private readonly telemetry: SessionTelemetry;
  /** Set when the session is ended by shutdown rather than by its client: the metrics outcome. */
  private endedAs: SessionOutcome | undefined;

  constructor(
    private readonly opts: PipelineOptions,
    readonly protocol: string,
    readonly client: { address: string; tls?: string },
    private readonly onClosed: () => void = () => undefined,
  ) {
    const context: SessionContext = { protocol, identity: null, target: null, client: { address: client.address, ...(client.tls ? { tls: client.tls } : {}) } };
    this.recorded = opts.recorder.start(context);
    this.put({ type: 'session.open', protocol, client: context.client });
    this.telemetry = new SessionTelemetry(this.id, protocol, opts);
    this.telemetry.opened(this.seq, client.address);
  }

  get id(): string {
    return this.recorded.id;
  }

  get seq(): number {
    return this.recorded.seq;
  }

  identityVerified(id: SessionIdentity): void {
    this.identity = id;
    // As recorded: an identity's strings come from outside (claims, a CA's 64-bit serial in decimal) and one
    // may read like a card number — a random serial does 1 time in 4 — so they are masked like any recorded
    // text, and counted. Policy still decides on `id` as proven.
    const shown = redactEventStrings(stripUndefined(id), (s) => this.masks.evidence(s));
    this.recorded.setContext({
      identity: {
        subject: shown.subject!,
        issuer: shown.issuer!,
        method: shown.method!,
        groups: shown.groups!,
        ...(shown.tokenId ? { tokenId: shown.tokenId } : {}),
        ...(shown.tokenHash ? { tokenHash: shown.tokenHash } : {}),
      },
    });
    this.put({ type: 'identity.verified', ...shown });
    this.recordMasking(undefined);
  }

  /** `reason` is the internal description (never the token or a secret). */
  identityRejected(method: string, reason: string, code: string): void {
    this.put({ type: 'identity.rejected', method, reason, code });
    this.telemetry.identityRejected(method, code, reason);
  }

  /** Asks policy whether the proven identity may reach `target`; logs who connected to what, records the answer. */
  grantTarget(target: string, details: { address?: string; user?: string; credentialRef?: string }): { ok: true } | { ok: false; reason: string } {
    const id = this.identity;
    if (!id) return { ok: false, reason: 'no identity' };
    const g = this.opts.policy.grant({ provider: id.provider, subject: id.subject, groups: id.groups }, target);
    this.target = target;
    this.recorded.setContext({ target: { name: target, ...stripUndefined(details) } });
    // Identity and target are both known now: the signed log says who connected to what, refused or not.
    this.recorded.identified({ protocol: this.protocol, subject: id.subject, issuer: id.issuer, method: id.method, target });
    const who = { subject: id.subject, issuer: id.issuer, method: id.method, target };
    if (!g.ok) {
      this.telemetry.refused(who, g.reason);
      this.put({ type: 'decision', decision: 'block', rule: 'access', reason: g.reason, scope: 'session', target });
      return g;
    }
    this.policy = g.policy;
    this.put({ type: 'decision', decision: 'allow', rule: `${g.policy.name}/access`, scope: 'session', target });
    this.telemetry.granted(who, g.policy.name);
    return { ok: true };
  }

  /** Classifies nothing itself: records the command (as given, masked) and the policy's decision. */
  decide(cmd: CommandInput): CommandDecision {
    const id = this.nextId++;
    let decision: Decision = cmd.refusal
      ? { action: 'block', rule: cmd.refusal.rule, reason: cmd.refusal.reason }
      : this.policy
        ? this.policy.decideAll(cmd.facts, this.protocol)
        : { action: 'block', rule: 'access', reason: 'no policy governs this session' };
    if (decision.action === 'require-approval' && cmd.unholdable) decision = { action: 'block', rule: decision.rule, reason: cmd.unholdable };
    // The archive format keeps its names (docs/evidence-format.md §4.2): `tables` holds the objects.
    const classification = cmd.facts.map((s) => ({ class: s.class, command: s.command, tags: s.tags, tables: s.objects }));
    try {
      this.put({ type: 'command', id, kind: cmd.kind, text: cmd.text, ...cmd.fields, classification, ...cmd.extra });
    } catch (e) {
      if (!isVigilError(e, 'E_EVENT_TOO_LARGE')) throw e;
      // A command that cannot be recorded whole does not run (record, then forward): its text (bounded by the
      // adapter) is recorded without the adapter's fields (bind parameters), and it is refused.
      this.put({ type: 'command', id, kind: cmd.kind, text: cmd.text, classification, fieldsOmitted: true });
      decision = { action: 'block', rule: 'vigil/evidence-size', reason: `the command is too large to record (its evidence exceeds the ${LIMITS.framePlaintextBytes / (1024 * 1024)} MiB an archive frame holds), so it was not run` };
    }
    this.put({
      type: 'decision',
      command: id,
      decision: decision.action === 'require-approval' ? (cmd.prepareOnly ? 'deferred' : 'hold') : decision.action,
      rule: decision.rule,
      ...('reason' in decision ? { reason: decision.reason } : {}),
    });
    const shown = decision.action === 'require-approval' ? (cmd.prepareOnly ? 'deferred' : 'hold') : decision.action;
    this.telemetry.decided(id, shown, decision.rule, cmd.facts.map((f) => f.class), 'reason' in decision ? decision.reason : undefined);
    return { id, decision };
  }

  /**
   * Holds a command until the approval gate decides, recording the request, every approver's decision and
   * the outcome. Resolves with the outcome; the adapter then forwards the command or refuses it.
   */
  async hold(
    command: CommandDecision,
    req: { display: string; exactBytes: Uint8Array; justification?: string; classification: unknown },
    tellClient: (info: { requestId: string; expiresAt: string; howTo: string }) => void,
  ): Promise<ApprovalOutcome> {
    const d = command.decision;
    if (d.action !== 'require-approval' || !this.identity) throw new Error('hold() needs a require-approval decision');
    const commandHash = createHmac('sha256', this.opts.commandKey).update(this.id).update('\0').update(req.exactBytes).digest('hex');
    const gate = this.opts.approvals ?? noApprovals;
    // What approvers see and the approvals store keeps is evidence too: the recorded text (masked by the
    // adapter; masking again is a no-op), the justification (taken from the raw SQL), and the statement
    // classification as the command event records it (a parse tree holds literals, and is shared by every
    // statement of its shape). Counted with the command already, so not counted again.
    const display = maskEvidenceText(req.display).text;
    const justification = req.justification ? maskEvidenceText(req.justification).text : undefined;
    const classification = classificationSummary(req.classification);
    const pending = ask(
      gate,
      {
        sessionId: this.id,
        sessionSeq: this.seq,
        commandId: command.id,
        display,
        commandHash,
        rule: d.rule,
        reason: d.reason,
        approvers: d.approvers,
        requester: { subject: this.identity.subject, issuer: this.identity.issuer, groups: this.identity.groups },
        target: this.target ?? '',
        classification,
        ...(justification ? { justification } : {}),
      },
      this.gone.signal,
      {
        pending: async (info) => {
          this.record({
            type: 'approval.requested',
            command: command.id,
            requestId: info.requestId,
            // What the approver is shown: the recorded text of the statement that runs if approved.
            statement: display,
            rule: d.rule,
            commandHash,
            approvers: d.approvers,
            expiresAt: info.expiresAt,
            ...(justification ? { justification } : {}),
          });
          // The request must be on disk before anyone can act on it.
          await this.commit();
          this.telemetry.holdRequested();
        },
        offered: tellClient,
        decided: (requestId, dec, remaining) =>
          this.record({
            type: 'approval.decided',
            command: command.id,
            requestId,
            decision: dec.decision === 'approve' ? 'approved' : 'denied',
            approver: dec.approver,
            reason: dec.reason === null ? null : maskEvidenceText(dec.reason).text,
            address: dec.address,
            at: dec.at,
            commandHash,
            remaining,
          }),
      },
    );
    this.holds.add(pending);
    let outcome: ApprovalOutcome;
    try {
      outcome = await pending;
    } finally {
      this.holds.delete(pending);
    }
    this.telemetry.holdEnded(command.id, outcome.requestId, outcome.approved ? 'approved' : outcome.kind);
    if (!outcome.approved && (outcome.kind === 'expired' || outcome.kind === 'cancelled')) {
      this.record({ type: outcome.kind === 'expired' ? 'approval.expired' : 'approval.cancelled', command: command.id, requestId: outcome.requestId, reason: outcome.reason, commandHash });
    }
    this.record({
      type: 'decision',
      command: command.id,
      decision: outcome.approved ? 'approved' : outcome.kind === 'expired' ? 'expired' : 'denied',
      rule: d.rule,
      commandHash,
      // A denial's reason quotes what the approver typed.
      ...(outcome.approved ? { approvedBy: outcome.approvers } : { reason: maskEvidenceText(outcome.reason).text }),
      requestId: outcome.requestId,
    });
    if (outcome.approved) await this.released(command.id, outcome.requestId, commandHash);
    return outcome;
  }

  /**
   * An approved command is about to reach the target (hold() resolves, the adapter forwards): recorded and
   * made durable first, so every protocol proves its held commands ran only once approved (no SQL `result`
   * needed). Not recorded once the session is closed: the adapter then forwards nothing.
   */
  private async released(command: number, requestId: string, commandHash: string): Promise<void> {
    if (this.closed) return;
    this.put({ type: 'command.released', command, requestId, commandHash });
    await this.commit();
  }

  record(event: EventInput): void {
    if (!this.closed) this.put(event);
  }

  /** Every event goes to the archive through here: no string of it keeps a security code or PIN (recorded-text.ts). */
  private put(event: EventInput): void {
    this.recorded.record(redactEventStrings(event, (s) => this.masks.securityCodes(s)));
  }

  /** Records pending mask counts for a command as one `masking` event. */
  recordMasking(command: number | undefined): void {
    const m = this.masks.take();
    if (!m) return;
    // `sad`: security codes and PINs redacted from free text; only present when there were any.
    const kinds = { pan: m.pan, redacted: m.redacted, ...(m.sad ? { sad: m.sad } : {}) };
    this.telemetry.masked(kinds);
    this.record({ type: 'masking', ...(command !== undefined ? { command } : {}), count: m.pan + m.redacted + (m.sad ?? 0), kinds });
  }

  /** The durability barrier before forwarding (fsync or write, as evidence.durability says). */
  commit(): Promise<void> {
    return this.recorded.sync();
  }

  private closing: Promise<void> | undefined;

  close(reason: string): Promise<void> {
    this.closing ??= this.closeOnce(reason);
    return this.closing;
  }

  /** Ends the session from the appliance's side (shutdown after the drain deadline): counted as interrupted. */
  interrupt(reason: string): Promise<void> {
    this.endedAs ??= 'interrupted';
    return this.close(reason);
  }

  private async closeOnce(reason: string): Promise<void> {
    this.gone.abort();
    // Held commands are cancelled by the abort; let them record that before the archive is sealed.
    await Promise.allSettled([...this.holds]);
    await new Promise((r) => setImmediate(r));
    this.closed = true;
    try {
      await this.recorded.close(reason);
    } catch (e) {
      this.telemetry.sealFailed();
      throw e;
    } finally {
      this.telemetry.closed(this.endedAs ?? (this.policy ? 'served' : this.identity ? 'refused' : 'unauthenticated'), reason);
      this.onClosed();
    }
  }
}

/**
 * A gate that cannot even create the request refuses the command (fail closed), and the hold still ends
 * with a recorded outcome that says why.
 */
async function ask(gate: ApprovalGate, req: ApprovalRequest, signal: AbortSignal, listener: ApprovalListener): Promise<ApprovalOutcome> {
  try {
    return await gate.request(req, signal, listener);
  } catch (e) {
    return { approved: false, requestId: null, kind: 'unavailable', reason: `the approval request could not be created: ${describeError(e)}` };
  }
}

/** Per statement only what policy decided on (the command event's `classification`), whatever the adapter gave. */
function classificationSummary(c: unknown): { class: unknown; command: unknown; tags: unknown; tables: unknown }[] {
  if (!Array.isArray(c)) return [];
  return c.map((x: Record<string, unknown>) => ({ class: x['class'], command: x['command'], tags: x['tags'], tables: x['tables'] }));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
