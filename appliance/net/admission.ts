/**
 * Admission control for a listener, protocol-neutral (the PostgreSQL listener uses it; SSH and Kubernetes
 * listeners are meant to). A connection is *unauthenticated* from accept until the protocol says its
 * client proved who it is, then *authenticated* until it closes. The two have separate capacity:
 *
 *   - unauthenticated connections are bounded per source address and in total, and each has a deadline
 *     (from accept) to authenticate; at the deadline it is ended;
 *   - authenticated sessions have their own limit, which no number of unauthenticated connections can use
 *     up: a connection that authenticates while it is full is told so by the protocol and closed.
 *
 * When the total unauthenticated capacity is full, a newcomer is not simply refused: if some address holds
 * more waiting connections than the newcomer's address does, that address's oldest waiting connection is
 * ended to make room (it is the likeliest to be a flood, and the closest to its deadline anyway). A flood
 * from many addresses therefore cannot shut out a client from an address with fewer waiting connections;
 * only an address already holding at least as many as every other one is refused.
 *
 *   const admission = new Admission(limits, { onEvent: (e) => log.note(e) });
 *   const r = admission.admit(socket.remoteAddress, () => socket.destroy());
 *   if (!r.ok) { refuse(r.refusal); return; }
 *   socket.once('close', () => r.ticket.release());
 *   … r.ticket.onEnd((end) => …)  … if (!r.ticket.authenticate()) refuse('full');
 */
import { normalizeAddress } from './address.ts';

export interface AdmissionLimits {
  /** Authenticated sessions at once. */
  maxAuthenticated: number;
  /** Unauthenticated connections at once, from all addresses together. */
  maxUnauthenticated: number;
  /** Unauthenticated connections at once from one source address. */
  maxUnauthenticatedPerAddress: number;
  /** Time from accept to authentication; then the connection is ended. */
  deadlineMs: number;
}

export type AdmissionLimit = 'per-address' | 'total';

/** Why a connection was not admitted, for the protocol's answer and the log. */
export interface AdmissionRefusal {
  limit: AdmissionLimit;
  /** The normalised source address. */
  address: string;
  /** The limit's value. */
  max: number;
  /** The configuration key that sets it, for the message. */
  setting: 'maxUnauthenticatedPerAddress' | 'maxUnauthenticated';
}

/** Why an admitted, still unauthenticated connection is being ended. */
export interface AdmissionEnd {
  kind: 'deadline' | 'evicted';
  /** Says what happened in words a client may be shown (no addresses of others, no internals). */
  message: string;
}

export type AdmitResult = { ok: true; ticket: AdmissionTicket } | { ok: false; refusal: AdmissionRefusal };

/** What happened, for a rate-limited log (admission-log.ts). */
export type AdmissionEvent =
  | { type: 'refused'; limit: AdmissionLimit; address: string }
  | { type: 'evicted'; address: string }
  | { type: 'deadline'; address: string }
  | { type: 'authenticated-full'; address: string };

export interface AdmissionOptions {
  onEvent?: (e: AdmissionEvent) => void;
}

type State = 'unauthenticated' | 'authenticated' | 'ended' | 'released';

/** One admitted connection's place: counted as unauthenticated, then authenticated, until release(). */
export class AdmissionTicket {
  private stateNow: State = 'unauthenticated';
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** @internal created by Admission.admit */
  constructor(
    private readonly owner: Admission,
    readonly address: string,
    /** Admission order, oldest first. */
    readonly seq: number,
    private endHandler: (end: AdmissionEnd) => void,
  ) {}

  get state(): State {
    return this.stateNow;
  }

  /** Replaces what happens at the deadline or on eviction (at admission: the listener's default close). */
  onEnd(fn: (end: AdmissionEnd) => void): void {
    this.endHandler = fn;
  }

  /**
   * The client authenticated: stops the deadline and moves the connection to authenticated capacity.
   * False (and nothing changes) when that capacity is full or the connection was already ended; the
   * protocol then refuses it, and release() at close frees its place.
   */
  authenticate(): boolean {
    if (this.stateNow !== 'unauthenticated') return false;
    if (!this.owner.moveToAuthenticated(this)) return false;
    this.stopTimer();
    this.stateNow = 'authenticated';
    return true;
  }

  /** Stops the deadline without authenticating: the protocol is refusing the connection itself. */
  cancelDeadline(): void {
    this.stopTimer();
  }

  /** The connection closed: frees its place (idempotent). */
  release(): void {
    if (this.stateNow === 'released') return;
    this.stopTimer();
    this.owner.forget(this, this.stateNow);
    this.stateNow = 'released';
  }

  /** @internal */
  arm(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.end({ kind: 'deadline', message: `authentication timed out: a client must authenticate within ${formatMs(ms)} of connecting` }, 'deadline');
    }, ms);
    this.timer.unref();
  }

  /** @internal ends an unauthenticated connection: frees its place at once, then runs the handler. */
  end(why: AdmissionEnd, event: 'deadline' | 'evicted'): void {
    if (this.stateNow !== 'unauthenticated') return;
    this.stopTimer();
    this.owner.forget(this, 'unauthenticated');
    this.stateNow = 'ended';
    this.owner.emit({ type: event, address: this.address });
    this.endHandler(why);
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export class Admission {
  /** Unauthenticated tickets by address; each set in admission order (oldest first). */
  private readonly waiting = new Map<string, Set<AdmissionTicket>>();
  private unauthenticatedCount = 0;
  private authenticatedCount = 0;
  private seq = 0;

  constructor(
    readonly limits: AdmissionLimits,
    private readonly options: AdmissionOptions = {},
  ) {
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`admission limit ${k} must be a positive integer, got ${v}`);
    }
  }

  get unauthenticated(): number {
    return this.unauthenticatedCount;
  }

  get authenticated(): number {
    return this.authenticatedCount;
  }

  /** Unauthenticated connections from `address` (any spelling) right now. */
  unauthenticatedFrom(address: string | undefined): number {
    return this.waiting.get(normalizeAddress(address))?.size ?? 0;
  }

  /**
   * Admits a new connection from `remoteAddress` as unauthenticated and starts its deadline, or says which
   * limit refuses it. `onEnd` is what ends the connection at the deadline or on eviction until the protocol
   * sets its own with ticket.onEnd(); it must close the connection.
   */
  admit(remoteAddress: string | undefined, onEnd: (end: AdmissionEnd) => void): AdmitResult {
    const address = normalizeAddress(remoteAddress);
    const mine = this.waiting.get(address);
    const n = mine?.size ?? 0;
    const { maxUnauthenticatedPerAddress: perAddress, maxUnauthenticated: total } = this.limits;
    if (n >= perAddress) return this.refuse({ limit: 'per-address', address, max: perAddress, setting: 'maxUnauthenticatedPerAddress' });
    if (this.unauthenticatedCount >= total) {
      const victim = this.evictionCandidate(n);
      if (!victim) return this.refuse({ limit: 'total', address, max: total, setting: 'maxUnauthenticated' });
      victim.end({ kind: 'evicted', message: 'closed to make room: this listener has too many connections waiting to authenticate, and yours came from the address holding the most' }, 'evicted');
    }
    const ticket = new AdmissionTicket(this, address, this.seq++, onEnd);
    let set = this.waiting.get(address);
    if (!set) this.waiting.set(address, (set = new Set()));
    set.add(ticket);
    this.unauthenticatedCount++;
    ticket.arm(this.limits.deadlineMs);
    return { ok: true, ticket };
  }

  /** @internal */
  moveToAuthenticated(t: AdmissionTicket): boolean {
    if (this.authenticatedCount >= this.limits.maxAuthenticated) {
      this.emit({ type: 'authenticated-full', address: t.address });
      return false;
    }
    this.forget(t, 'unauthenticated');
    this.authenticatedCount++;
    return true;
  }

  /** @internal removes a ticket from the count of its state. */
  forget(t: AdmissionTicket, state: State): void {
    if (state === 'authenticated') {
      this.authenticatedCount--;
      return;
    }
    if (state !== 'unauthenticated') return;
    const set = this.waiting.get(t.address);
    if (!set?.delete(t)) return;
    this.unauthenticatedCount--;
    if (set.size === 0) this.waiting.delete(t.address);
  }

  /** @internal */
  emit(e: AdmissionEvent): void {
    this.options.onEvent?.(e);
  }

  /**
   * The oldest waiting connection of the address holding the most, if it holds more than `newcomerCount`
   * (ties between addresses: the one whose oldest connection is oldest). Linear in the number of waiting
   * addresses, which is at most maxUnauthenticated, and only run when the total is full.
   */
  private evictionCandidate(newcomerCount: number): AdmissionTicket | undefined {
    let best: AdmissionTicket | undefined;
    let bestCount = newcomerCount;
    for (const set of this.waiting.values()) {
      const oldest = set.values().next().value as AdmissionTicket;
      if (set.size > bestCount || (best && set.size === bestCount && oldest.seq < best.seq)) {
        best = oldest;
        bestCount = set.size;
      }
    }
    return best;
  }

  private refuse(refusal: AdmissionRefusal): AdmitResult {
    this.emit({ type: 'refused', limit: refusal.limit, address: refusal.address });
    return { ok: false, refusal };
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
