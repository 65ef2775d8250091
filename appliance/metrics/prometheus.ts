/**
 * The Metrics interface over prom-client, on a registry of its own (not prom-client's global one). Served by
 * the admin API at /metrics (admin/server.ts). Names follow Prometheus conventions: vigil_*_total for
 * counters, *_seconds / *_bytes units.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { LabelGuard } from './labels.ts';
import type { Metrics, SessionOutcome } from './metrics.ts';

/** What the evidence-storage gauges show (appliance/shipping/health.ts computes it). */
export interface EvidenceStorageFigures {
  shippingLagSeconds: number;
  shippingPending: number;
  shippingFailing: number;
  retentionDue: number;
  retentionOverdue: number;
}

export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly guard = new LabelGuard();
  private readonly sessionsOpen;
  private readonly sessionsTotal;
  private readonly commands;
  private readonly approvalsPending;
  private readonly approvalSeconds;
  private readonly maskedTotal;
  private readonly commitSeconds;
  private readonly commitGroup;
  private readonly archiveBytesTotal;
  private readonly recorderFailures;
  private readonly identityFailures;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.sessionsOpen = new Gauge({ name: 'vigil_sessions_open', help: 'Sessions open now, by protocol', labelNames: ['protocol'], registers });
    this.sessionsTotal = new Counter({ name: 'vigil_sessions_total', help: 'Sessions ended, by protocol and outcome', labelNames: ['protocol', 'outcome'], registers });
    this.commands = new Counter({ name: 'vigil_commands_total', help: 'Commands decided, by protocol, policy class and decision', labelNames: ['protocol', 'class', 'decision'], registers });
    this.approvalsPending = new Gauge({ name: 'vigil_approvals_pending', help: 'Commands held for approval now', registers });
    this.approvalSeconds = new Histogram({
      name: 'vigil_approval_decision_seconds',
      help: 'Time from a hold to its outcome, by outcome',
      labelNames: ['outcome'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.maskedTotal = new Counter({ name: 'vigil_masked_values_total', help: 'Values masked or redacted, by kind (pan, redacted, sad)', labelNames: ['kind'], registers });
    this.commitSeconds = new Histogram({
      name: 'vigil_journal_commit_seconds',
      help: 'Evidence journal group commit (write + fdatasync) latency',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.commitGroup = new Histogram({ name: 'vigil_journal_commit_group_size', help: 'Commits sharing one journal write/fdatasync', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers });
    this.archiveBytesTotal = new Counter({ name: 'vigil_archive_bytes_written_total', help: 'Session archive bytes written (journaled, and whole bulk frames written to the archive directly)', registers });
    this.recorderFailures = new Counter({ name: 'vigil_recorder_failures_total', help: 'Recorder failures, by kind', labelNames: ['kind'], registers });
    this.identityFailures = new Counter({ name: 'vigil_identity_failures_total', help: 'Identities refused, by protocol and reason code', labelNames: ['protocol', 'reason'], registers });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'vigil_' });
  }

  /**
   * Shipping and retention health as gauges, read from `read` when Prometheus scrapes (once per scrape:
   * the figures come from one database read, cached for a second).
   */
  evidenceStorage(read: () => EvidenceStorageFigures): void {
    let cached: { at: number; v: EvidenceStorageFigures } | undefined;
    const get = () => {
      if (!cached || Date.now() - cached.at > 1000) cached = { at: Date.now(), v: read() };
      return cached.v;
    };
    const registers = [this.registry];
    const gauge = (name: string, help: string, pick: (f: EvidenceStorageFigures) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(pick(get()));
        },
      });
    gauge('vigil_shipping_lag_seconds', 'Age of the oldest archive or checkpoint not yet verified in the bucket (0: none pending)', (f) => f.shippingLagSeconds);
    gauge('vigil_shipping_pending', 'Archives and checkpoints queued for the bucket', (f) => f.shippingPending);
    gauge('vigil_shipping_failing', 'Queued items whose last upload attempt failed', (f) => f.shippingFailing);
    gauge('vigil_retention_due', 'Sessions past retention, not on hold, not purged yet', (f) => f.retentionDue);
    gauge('vigil_retention_overdue', 'Sessions due for longer than two retention job intervals', (f) => f.retentionOverdue);
  }

  private l(label: string, v: string): string {
    return this.guard.value(label, v);
  }

  sessionOpened(protocol: string): void {
    this.sessionsOpen.inc({ protocol: this.l('protocol', protocol) });
  }
  sessionClosed(protocol: string, outcome: SessionOutcome): void {
    const p = this.l('protocol', protocol);
    this.sessionsOpen.dec({ protocol: p });
    this.sessionsTotal.inc({ protocol: p, outcome: this.l('outcome', outcome) });
  }
  command(protocol: string, cls: string, decision: string): void {
    this.commands.inc({ protocol: this.l('protocol', protocol), class: this.l('class', cls), decision: this.l('decision', decision) });
  }
  approvalRequested(): void {
    this.approvalsPending.inc();
  }
  approvalEnded(outcome: string, seconds: number): void {
    this.approvalsPending.dec();
    this.approvalSeconds.observe({ outcome: this.l('approval_outcome', outcome) }, seconds);
  }
  masked(kind: string, n: number): void {
    if (n > 0) this.maskedTotal.inc({ kind: this.l('kind', kind) }, n);
  }
  journalCommit(seconds: number, groupSize: number): void {
    this.commitSeconds.observe(seconds);
    this.commitGroup.observe(groupSize);
  }
  archiveBytes(n: number): void {
    this.archiveBytesTotal.inc(n);
  }
  recorderFailure(kind: string): void {
    this.recorderFailures.inc({ kind: this.l('kind', kind) });
  }
  identityFailure(protocol: string, reason: string): void {
    this.identityFailures.inc({ protocol: this.l('protocol', protocol), reason: this.l('reason', reason) });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
