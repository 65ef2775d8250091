/**
 * What a pipeline session tells operations, as opposed to evidence: the metrics it counts and the one log
 * line per event that matters (session opened, identified, refused, closed; identity rejected; a command
 * blocked or held; a hold's outcome), each with the session id. Never a statement's text, a token or a
 * secret; free text (reasons, subjects) is masked as evidence is.
 */
import { maskEvidenceText } from '../../shared/pan/index.ts';
import { noMetrics, type Metrics, type SessionOutcome } from '../metrics/metrics.ts';

export interface SessionLogger {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

const quiet: SessionLogger = { info() {}, warn() {} };
const safe = (s: string) => maskEvidenceText(s.slice(0, 500)).text;

export interface Who {
  subject: string;
  issuer: string;
  method: string;
  target: string;
}

export class SessionTelemetry {
  private readonly metrics: Metrics;
  private readonly log: SessionLogger;
  private requestedAt: number | undefined;

  constructor(
    private readonly sessionId: string,
    private readonly protocol: string,
    opts: { metrics?: Metrics | undefined; logger?: SessionLogger | undefined },
  ) {
    this.metrics = opts.metrics ?? noMetrics;
    this.log = opts.logger ?? quiet;
  }

  private get ids() {
    return { sessionId: this.sessionId, protocol: this.protocol };
  }

  opened(seq: number, client: string): void {
    this.metrics.sessionOpened(this.protocol);
    this.log.info({ event: 'session.opened', ...this.ids, seq, client }, 'session opened');
  }

  identityRejected(method: string, code: string, reason: string): void {
    this.metrics.identityFailure(this.protocol, code);
    this.log.warn({ event: 'identity.rejected', ...this.ids, method, code, reason: safe(reason) }, 'identity refused');
  }

  private who(w: Who) {
    return { ...this.ids, subject: safe(w.subject), issuer: safe(w.issuer), method: w.method, target: w.target };
  }

  refused(w: Who, reason: string): void {
    this.log.warn({ event: 'session.refused', ...this.who(w), reason: safe(reason) }, 'no policy grants this identity the target');
  }

  granted(w: Who, policy: string): void {
    this.log.info({ event: 'session.identified', ...this.who(w), policy }, 'session identified and granted');
  }

  /** `decision`: allow | block | hold | deferred. Blocks and holds are logged (the archive has every command). */
  decided(command: number, decision: string, rule: string, classes: readonly string[], reason: string | undefined): void {
    for (const c of classes.length ? classes : ['none']) this.metrics.command(this.protocol, c, decision);
    if (decision !== 'block' && decision !== 'hold') return;
    this.log.info(
      { event: 'command.decided', ...this.ids, command, decision, rule, classes, ...(reason !== undefined ? { reason: safe(reason) } : {}) },
      decision === 'block' ? 'command blocked' : 'command held for approval',
    );
  }

  /**
   * Counted here, by the session that holds the command, for every approval gate (the local service, the
   * fleet's shared one): one place for vigil_approvals_pending and the decision latency, per appliance.
   */
  holdRequested(): void {
    this.requestedAt = Date.now();
    this.metrics.approvalRequested();
  }

  /** A hold ended (requested or not: a gate that could not create the request ends one too). */
  holdEnded(command: number, requestId: string | null, outcome: string): void {
    const at = this.requestedAt;
    this.requestedAt = undefined;
    const seconds = at !== undefined ? (Date.now() - at) / 1000 : undefined;
    if (seconds !== undefined) this.metrics.approvalEnded(outcome, seconds);
    this.log.info({ event: 'approval.ended', ...this.ids, command, requestId, outcome, ...(seconds !== undefined ? { seconds } : {}) }, 'held command decided');
  }

  masked(kinds: Record<string, number>): void {
    for (const [k, n] of Object.entries(kinds)) this.metrics.masked(k, n);
  }

  sealFailed(): void {
    this.metrics.recorderFailure('seal');
  }

  closed(outcome: SessionOutcome, reason: string): void {
    this.metrics.sessionClosed(this.protocol, outcome);
    this.log.info({ event: 'session.closed', ...this.ids, outcome, reason: safe(reason) }, 'session closed');
  }
}
