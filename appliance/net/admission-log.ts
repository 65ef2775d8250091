/**
 * The log of admission events, rate-limited so that a flood cannot flood the log: the first event after a
 * quiet interval is logged on its own, at once; everything after it is counted and logged as one summary
 * per interval (counts by kind and the addresses seen most), until an interval passes with no event.
 * At most one line per interval, plus one, whatever the rate of connections.
 */
import type { AdmissionEvent } from './admission.ts';

export interface AdmissionLogger {
  warn(o: object, msg: string): void;
}

export interface AdmissionLogOptions {
  /** Names the listener in every line, e.g. 'postgres'. */
  listener: string;
  /** Default 10 s. */
  intervalMs?: number;
  /** Addresses named in a summary (the most frequent). Default 5. */
  topAddresses?: number;
}

/** Distinct addresses counted per interval; beyond this, events still count but under `other`. */
const MAX_TRACKED_ADDRESSES = 1024;

type Kind = 'refusedPerAddress' | 'refusedTotal' | 'evicted' | 'timedOut' | 'authenticatedFull';

function kindOf(e: AdmissionEvent): Kind {
  switch (e.type) {
    case 'refused':
      return e.limit === 'per-address' ? 'refusedPerAddress' : 'refusedTotal';
    case 'evicted':
      return 'evicted';
    case 'deadline':
      return 'timedOut';
    case 'authenticated-full':
      return 'authenticatedFull';
  }
}

const FIRST_MESSAGE: Record<Kind, string> = {
  refusedPerAddress: 'connection refused: too many unauthenticated connections from its address',
  refusedTotal: 'connection refused: too many unauthenticated connections in total',
  evicted: 'unauthenticated connection closed to make room for a client from a less busy address',
  timedOut: 'connection closed: it did not authenticate in time',
  authenticatedFull: 'authenticated session refused: the listener is at its session limit',
};

export class AdmissionLog {
  private readonly intervalMs: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private counts = new Map<Kind, number>();
  private addresses = new Map<string, number>();

  constructor(
    private readonly logger: AdmissionLogger,
    private readonly options: AdmissionLogOptions,
  ) {
    this.intervalMs = options.intervalMs ?? 10_000;
  }

  note(e: AdmissionEvent): void {
    const kind = kindOf(e);
    if (!this.timer) {
      // Quiet until now: this one is logged in full, and an interval starts.
      this.logger.warn({ listener: this.options.listener, event: kind, client: e.address, ...('limit' in e ? { limit: e.limit } : {}) }, FIRST_MESSAGE[kind]);
      this.startInterval();
      return;
    }
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    if (this.addresses.has(e.address) || this.addresses.size < MAX_TRACKED_ADDRESSES) this.addresses.set(e.address, (this.addresses.get(e.address) ?? 0) + 1);
    else this.addresses.set('other', (this.addresses.get('other') ?? 0) + 1);
  }

  /** Logs what is counted and stops (the listener is closing). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }

  private startInterval(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.flush()) this.startInterval();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Logs the summary of the interval; false when there was nothing to log. */
  private flush(): boolean {
    let total = 0;
    for (const n of this.counts.values()) total += n;
    if (total === 0) return false;
    const top = [...this.addresses]
      .sort((a, b) => b[1] - a[1])
      .slice(0, this.options.topAddresses ?? 5)
      .map(([address, count]) => ({ address, count }));
    this.logger.warn(
      { listener: this.options.listener, intervalMs: this.intervalMs, ...Object.fromEntries(this.counts), addresses: this.addresses.size, top },
      `admission limits: ${total} more connection(s) refused or closed in the last ${this.intervalMs / 1000} s`,
    );
    this.counts = new Map();
    this.addresses = new Map();
    return true;
  }
}
