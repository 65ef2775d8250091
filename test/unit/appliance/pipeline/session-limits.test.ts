/**
 * The protocol-neutral session clocks: credential expiry (+ tolerance), idle (a running command is not
 * idle) and maximum duration, on fake timers and a fake wall clock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSessionLimits, type SessionEndKind, type SessionLimitsOptions } from '../../../../appliance/pipeline/session-limits.ts';

const T0 = new Date('2030-06-01T12:00:00Z').getTime();

interface Harness {
  ended: { kind: SessionEndKind; message: string; reason: string; at: number }[];
  busy: boolean;
  activity: number;
  /** The client sends a message now. */
  touch(): void;
}

function start(o: Partial<SessionLimitsOptions> = {}): Harness & ReturnType<typeof startSessionLimits> {
  const h: Harness = {
    ended: [],
    busy: false,
    activity: Date.now(),
    touch() {
      h.activity = Date.now();
    },
  };
  const limits = startSessionLimits({
    toleranceSeconds: 0,
    limits: {},
    busy: () => h.busy,
    lastActivity: () => h.activity,
    terminate: (kind, message, reason) => h.ended.push({ kind, message, reason, at: Date.now() - T0 }),
    ...o,
  });
  return Object.assign(h, limits);
}

const advance = (s: number) => vi.advanceTimersByTimeAsync(s * 1000);

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('credential expiry', () => {
  it('ends the session at expiry plus the tolerance, not before', async () => {
    const h = start({ expiresAt: new Date(T0 + 3_000).toISOString(), toleranceSeconds: 2 });
    expect(h.summary).toMatchObject({ credentialExpiresAt: '2030-06-01T12:00:03Z', credentialEndsAt: '2030-06-01T12:00:05Z', toleranceSeconds: 2 });
    await advance(4.99);
    expect(h.ended).toEqual([]);
    await advance(0.02);
    expect(h.ended).toHaveLength(1);
    expect(h.ended[0]).toMatchObject({ kind: 'credential-expired', message: 'your identity token expired at 2030-06-01T12:00:03Z; connect again with a fresh token' });
    expect(h.ended[0]!.reason).toMatch(/^identity token expired at 2030-06-01T12:00:03Z \(session ended at 2030-06-01T12:00:05Z, after the 2 s clock tolerance\)$/);
    expect(h.ended[0]!.at).toBeGreaterThanOrEqual(5_000);
  });

  it('ends a session whose credential is already past its end on the next turn, after the caller has its handle', async () => {
    const h = start({ expiresAt: new Date(T0 - 10_000), toleranceSeconds: 1 });
    expect(h.ended).toEqual([]);
    await advance(0);
    expect(h.ended.map((e) => e.kind)).toEqual(['credential-expired']);
  });

  it('names a certificate as such', async () => {
    const h = start({ expiresAt: new Date(T0 + 1_000), credential: 'client certificate' });
    await advance(1);
    expect(h.ended[0]!.message).toBe('your client certificate expired at 2030-06-01T12:00:01Z; connect again with a renewed certificate');
  });

  it('ends a busy session too', async () => {
    const h = start({ expiresAt: new Date(T0 + 1_000) });
    h.busy = true;
    await advance(1);
    expect(h.ended.map((e) => e.kind)).toEqual(['credential-expired']);
  });

  it('waits past setTimeout’s 24.8-day cap without firing early', async () => {
    const h = start({ expiresAt: new Date(T0 + 30 * 86_400_000) });
    await advance(29 * 86_400);
    expect(h.ended).toEqual([]);
    await advance(86_400);
    expect(h.ended.map((e) => e.kind)).toEqual(['credential-expired']);
  });

  it('does nothing without an expiry', async () => {
    const h = start({ expiresAt: undefined });
    await advance(365 * 86_400);
    expect(h.ended).toEqual([]);
    expect(h.summary.credentialEndsAt).toBeUndefined();
  });
});

describe('idle limit', () => {
  it('ends a session with no client message for idleSeconds', async () => {
    const h = start({ limits: { idleSeconds: 2 } });
    await advance(1.9);
    expect(h.ended).toEqual([]);
    await advance(0.3);
    expect(h.ended).toHaveLength(1);
    expect(h.ended[0]).toMatchObject({ kind: 'idle', message: 'the session was idle for more than 2 s (policy limits.idleSeconds); connect again' });
  });

  it('restarts the idle clock at each client message', async () => {
    const h = start({ limits: { idleSeconds: 2 } });
    for (let i = 0; i < 5; i++) {
      await advance(1.5);
      h.touch();
    }
    expect(h.ended).toEqual([]);
    await advance(2.3);
    expect(h.ended.map((e) => e.kind)).toEqual(['idle']);
    // Not before 2 s after the last message (7.5 s).
    expect(h.ended[0]!.at).toBeGreaterThanOrEqual(9_500);
  });

  it('does not count a running command as idle, and counts from when it finished', async () => {
    const h = start({ limits: { idleSeconds: 2 } });
    await advance(0.5);
    h.touch();
    h.busy = true;
    await advance(5);
    expect(h.ended).toEqual([]);
    h.busy = false; // finished at 5.5 s
    await advance(1.9);
    expect(h.ended).toEqual([]);
    await advance(0.4);
    expect(h.ended.map((e) => e.kind)).toEqual(['idle']);
    expect(h.ended[0]!.at).toBeGreaterThanOrEqual(7_500);
  });

  it('never ends early after a command that ran entirely between two samples', async () => {
    const h = start({ limits: { idleSeconds: 2 } }); // samples every 200 ms
    await advance(1.85);
    h.touch(); // a statement at 1.85 s, finished before the next sample (never seen busy)
    await advance(2.1);
    expect(h.ended).toEqual([]);
    await advance(0.4);
    expect(h.ended.map((e) => e.kind)).toEqual(['idle']);
    expect(h.ended[0]!.at).toBeGreaterThanOrEqual(3_850);
  });
});

describe('maximum duration', () => {
  it('ends the session at maxSessionSeconds, busy or not', async () => {
    const h = start({ limits: { maxSessionSeconds: 3, idleSeconds: 100 } });
    h.busy = true;
    expect(h.summary).toMatchObject({ maxSessionSeconds: 3, maxSessionEndsAt: '2030-06-01T12:00:03Z', idleSeconds: 100 });
    await advance(2.9);
    expect(h.ended).toEqual([]);
    await advance(0.2);
    expect(h.ended).toHaveLength(1);
    expect(h.ended[0]).toMatchObject({ kind: 'max-duration', message: 'the session reached its maximum duration of 3 s (policy limits.maxSessionSeconds); connect again' });
  });

  it('whichever comes first wins, and terminate is called once', async () => {
    const h = start({ expiresAt: new Date(T0 + 2_000), limits: { maxSessionSeconds: 2, idleSeconds: 2 } });
    await advance(10);
    expect(h.ended).toHaveLength(1);
  });
});

describe('cancel', () => {
  it('stops every clock', async () => {
    const h = start({ expiresAt: new Date(T0 + 1_000), limits: { maxSessionSeconds: 1, idleSeconds: 1 } });
    await advance(0.5);
    h.cancel();
    await advance(10);
    expect(h.ended).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('before the first turn, too', async () => {
    const h = start({ expiresAt: new Date(T0 - 1_000) });
    h.cancel();
    await advance(1);
    expect(h.ended).toEqual([]);
  });
});
