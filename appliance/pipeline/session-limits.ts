/**
 * When a running session must end, whatever the protocol: its credential (token or certificate) expired,
 * it sat idle too long (PCI DSS 8.2.8), or it reached its maximum duration. The adapter gives the facts
 * and two probes; this module owns the clocks and calls `terminate` once, with what to tell the client and
 * what the archive should record. Nothing here knows PostgreSQL, SSH or Kubernetes: the adapter maps the
 * kind to its protocol's way of ending a session (PostgreSQL: a FATAL 57P01 / 57P05).
 *
 * Timers are unref'd (a session limit never keeps the process alive) and re-check the wall clock when they
 * fire, so a late or early timer (a long delay chained past setTimeout's 24.8-day cap, a clock step)
 * never ends a session before its deadline. `cancel()` stops everything; the adapter calls it when the
 * session closes for any reason.
 */

export type SessionEndKind = 'credential-expired' | 'idle' | 'max-duration';

export interface SessionLimitSettings {
  /** End the session after this long with no message from the client while nothing is running. */
  idleSeconds?: number | undefined;
  /** End the session this long after it started, busy or not. */
  maxSessionSeconds?: number | undefined;
}

export interface SessionLimitsOptions {
  /** When the credential stops being valid (JWT `exp`, certificate notAfter); absent: no expiry. */
  expiresAt?: Date | string | undefined;
  /** Added to `expiresAt`: the same tolerance the verifier accepted the credential with. */
  toleranceSeconds: number;
  /** What the credential is, for messages: 'identity token' (default) or 'client certificate'. */
  credential?: string;
  limits: SessionLimitSettings;
  /** Whether the target is working on something for the client (a running statement is not idle). */
  busy: () => boolean;
  /** When the client last sent anything (Date.now() milliseconds). */
  lastActivity: () => number;
  /**
   * Ends the session. `message` is for the client (what happened and what to do); `reason` is the
   * archive's close reason. Called at most once, never after cancel().
   */
  terminate: (kind: SessionEndKind, message: string, reason: string) => void;
  /** The clock (tests). Default Date.now. */
  now?: () => number;
}

export interface SessionLimits {
  /** The limits in force, for the session's evidence. */
  readonly summary: {
    credentialExpiresAt?: string;
    /** When the credential's session ends: expiry + tolerance. */
    credentialEndsAt?: string;
    toleranceSeconds: number;
    idleSeconds?: number;
    maxSessionSeconds?: number;
    maxSessionEndsAt?: string;
  };
  cancel(): void;
}

/** setTimeout's largest delay (2^31 − 1 ms); longer waits are chained. */
const MAX_DELAY = 0x7fffffff;

export function startSessionLimits(o: SessionLimitsOptions): SessionLimits {
  const now = o.now ?? Date.now;
  const startedAt = now();
  const credential = o.credential ?? 'identity token';
  const timers = new Set<NodeJS.Timeout>();
  let done = false;

  const end = (kind: SessionEndKind, message: string, reason: string) => {
    if (done) return;
    cancel();
    o.terminate(kind, message, reason);
  };

  /** Runs `fn` once the clock reads `at` or later (re-arming if a timer fires early). */
  const at = (deadline: number, fn: () => void) => {
    const arm = () => {
      if (done) return;
      const wait = deadline - now();
      if (wait <= 0) return fn();
      const t = setTimeout(() => {
        timers.delete(t);
        arm();
      }, Math.min(wait, MAX_DELAY));
      t.unref();
      timers.add(t);
    };
    arm();
  };

  const summary: SessionLimits['summary'] = { toleranceSeconds: o.toleranceSeconds };
  const expiry = o.expiresAt === undefined ? Number.NaN : new Date(o.expiresAt).getTime();
  const schedule: (() => void)[] = [];

  if (Number.isFinite(expiry)) {
    const endsAt = expiry + o.toleranceSeconds * 1000;
    const expired = isoSeconds(expiry);
    summary.credentialExpiresAt = expired;
    summary.credentialEndsAt = isoSeconds(endsAt);
    const fresh = credential === 'client certificate' ? 'a renewed certificate' : 'a fresh token';
    schedule.push(() =>
      at(endsAt, () =>
        end(
          'credential-expired',
          `your ${credential} expired at ${expired}; connect again with ${fresh}`,
          `${credential} expired at ${expired} (session ended at ${isoSeconds(endsAt)}, after the ${o.toleranceSeconds} s clock tolerance)`,
        ),
      ),
    );
  }

  const max = o.limits.maxSessionSeconds;
  if (max !== undefined) {
    const endsAt = startedAt + max * 1000;
    summary.maxSessionSeconds = max;
    summary.maxSessionEndsAt = isoSeconds(endsAt);
    schedule.push(() =>
      at(endsAt, () =>
        end('max-duration', `the session reached its maximum duration of ${max} s (policy limits.maxSessionSeconds); connect again`, `maximum session duration reached (limits.maxSessionSeconds ${max} s)`),
      ),
    );
  }

  const idle = o.limits.idleSeconds;
  if (idle !== undefined) {
    summary.idleSeconds = idle;
    const idleMs = idle * 1000;
    // The probes say whether the target is busy now and when the client last spoke, not when the target
    // went quiet; so the clock is sampled every `poll` and idleness is measured from the first sample that
    // saw the target quiet with no new client message since. That is never early (a statement that ran
    // between two samples counts as running until the later one) and at most one poll interval late.
    const poll = Math.min(5_000, Math.max(100, Math.floor(idleMs / 10)));
    let quietSince: number | undefined = startedAt;
    let seenActivity = o.lastActivity();
    const check = () => {
      const t = now();
      const activity = o.lastActivity();
      if (o.busy()) quietSince = undefined;
      else if (quietSince === undefined || activity !== seenActivity) quietSince = t;
      seenActivity = activity;
      if (quietSince !== undefined && t - quietSince >= idleMs) {
        return end('idle', `the session was idle for more than ${idle} s (policy limits.idleSeconds); connect again`, `idle for more than ${idle} s (limits.idleSeconds)`);
      }
      at(quietSince === undefined ? t + poll : Math.min(t + poll, quietSince + idleMs), check);
    };
    schedule.push(() => at(Math.min(startedAt + poll, startedAt + idleMs), check));
  }

  function cancel(): void {
    done = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
  }

  // Armed after the summary is complete; a deadline already past ends the session on the next turn, so the
  // caller has its handle (and can record the summary) before terminate runs.
  const kick = setTimeout(() => {
    timers.delete(kick);
    for (const s of schedule) s();
  }, 0);
  kick.unref();
  timers.add(kick);

  return { summary, cancel };
}

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}
