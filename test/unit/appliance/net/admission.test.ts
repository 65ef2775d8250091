/** Admission control: per-address and total limits for unauthenticated connections, eviction, deadlines, authenticated capacity. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { normalizeAddress } from '../../../../appliance/net/address.ts';
import { Admission, type AdmissionEnd, type AdmissionEvent, type AdmissionLimits, type AdmissionTicket } from '../../../../appliance/net/admission.ts';
import { AdmissionLog } from '../../../../appliance/net/admission-log.ts';
import { postgresListenerSchema } from '../../../../appliance/protocols/postgres/config.ts';

const LIMITS: AdmissionLimits = { maxAuthenticated: 3, maxUnauthenticated: 6, maxUnauthenticatedPerAddress: 3, deadlineMs: 1_000 };

function setup(limits: Partial<AdmissionLimits> = {}) {
  const events: AdmissionEvent[] = [];
  const ended: { ticket: AdmissionTicket; end: AdmissionEnd }[] = [];
  const admission = new Admission({ ...LIMITS, ...limits }, { onEvent: (e) => events.push(e) });
  const admit = (address: string) => {
    const r = admission.admit(address, (end) => ended.push({ ticket, end }));
    const ticket = r.ok ? r.ticket : (undefined as unknown as AdmissionTicket);
    return r;
  };
  const admitOk = (address: string) => {
    const r = admit(address);
    if (!r.ok) throw new Error(`refused: ${r.refusal.limit}`);
    return r.ticket;
  };
  return { admission, events, ended, admit, admitOk };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('normalizeAddress', () => {
  it('maps IPv4-mapped IPv6 to the IPv4 address, in every spelling', () => {
    for (const a of ['::ffff:127.0.0.2', '::FFFF:127.0.0.2', '0:0:0:0:0:ffff:127.0.0.2', '::ffff:7f00:2', '0000:0000:0000:0000:0000:FFFF:7F00:0002']) {
      expect(normalizeAddress(a), a).toBe('127.0.0.2');
    }
  });

  it('gives one RFC 5952 spelling per IPv6 address', () => {
    expect(normalizeAddress('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(normalizeAddress('2001:0db8:0000:0000:0001:0000:0000:0001')).toBe('2001:db8::1:0:0:1');
    expect(normalizeAddress('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // a single zero group stays
    expect(normalizeAddress('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(normalizeAddress('::')).toBe('::');
    expect(normalizeAddress('fe80::1%ETH0')).toBe('fe80::1%eth0');
    expect(normalizeAddress('::127.0.0.1')).toBe('::7f00:1'); // IPv4-compatible (deprecated) is not IPv4-mapped
  });

  it('keeps IPv4 and says unknown for a missing address', () => {
    expect(normalizeAddress('10.0.0.5')).toBe('10.0.0.5');
    expect(normalizeAddress(undefined)).toBe('unknown');
    expect(normalizeAddress('')).toBe('unknown');
  });
});

describe('Admission', () => {
  it('refuses the connection over the per-address limit, naming it, and counts every spelling of the address as one', () => {
    const { admission, admit, admitOk, events } = setup();
    admitOk('127.0.0.2');
    admitOk('::ffff:127.0.0.2');
    admitOk('::ffff:7f00:2');
    const r = admit('127.0.0.2');
    expect(r).toEqual({ ok: false, refusal: { limit: 'per-address', address: '127.0.0.2', max: 3, setting: 'maxUnauthenticatedPerAddress' } });
    expect(admission.unauthenticatedFrom('::ffff:127.0.0.2')).toBe(3);
    expect(admitOk('127.0.0.3').address).toBe('127.0.0.3'); // another address is not affected
    expect(events).toEqual([{ type: 'refused', limit: 'per-address', address: '127.0.0.2' }]);
  });

  it('releases a place when its connection closes (once, however often release is called)', () => {
    const { admission, admit, admitOk } = setup();
    const t = [admitOk('10.0.0.1'), admitOk('10.0.0.1'), admitOk('10.0.0.1')];
    expect(admit('10.0.0.1').ok).toBe(false);
    t[0]!.release();
    t[0]!.release();
    expect(admission.unauthenticated).toBe(2);
    expect(admit('10.0.0.1').ok).toBe(true);
    expect(admission.unauthenticated).toBe(3);
  });

  it('when the total is full, ends the oldest connection of the busiest address to admit a less busy one', () => {
    const { admission, admitOk, ended, events } = setup();
    const a = [admitOk('10.0.0.1'), admitOk('10.0.0.1'), admitOk('10.0.0.1')];
    const b = [admitOk('10.0.0.2'), admitOk('10.0.0.2')];
    admitOk('10.0.0.3');
    expect(admission.unauthenticated).toBe(6);
    const newcomer = admitOk('10.0.0.4');
    expect(ended.map((e) => e.ticket)).toEqual([a[0]]);
    expect(ended[0]!.end.kind).toBe('evicted');
    expect(a[0]!.state).toBe('ended');
    expect(admission.unauthenticated).toBe(6);
    expect(admission.unauthenticatedFrom('10.0.0.1')).toBe(2);
    // Now 10.0.0.1 and 10.0.0.2 both hold 2: the older of their oldest connections goes (a[1] is older than b[0]).
    admitOk('10.0.0.5');
    expect(ended.map((e) => e.ticket)).toEqual([a[0], a[1]]);
    // Then 10.0.0.2 is the busiest.
    admitOk('10.0.0.6');
    expect(ended.map((e) => e.ticket)).toEqual([a[0], a[1], b[0]]);
    expect(events.filter((e) => e.type === 'evicted')).toEqual([
      { type: 'evicted', address: '10.0.0.1' },
      { type: 'evicted', address: '10.0.0.1' },
      { type: 'evicted', address: '10.0.0.2' },
    ]);
    expect(newcomer.state).toBe('unauthenticated');
    // An ended ticket's release is a no-op: the place was freed at eviction.
    a[0]!.release();
    expect(admission.unauthenticated).toBe(6);
  });

  it('refuses a newcomer whose address already holds at least as many as any other, when the total is full', () => {
    const { admission, admit, admitOk, ended } = setup({ maxUnauthenticated: 4 });
    admitOk('10.0.0.1');
    admitOk('10.0.0.1');
    admitOk('10.0.0.2');
    admitOk('10.0.0.2');
    expect(admit('10.0.0.1')).toEqual({ ok: false, refusal: { limit: 'total', address: '10.0.0.1', max: 4, setting: 'maxUnauthenticated' } });
    expect(ended).toEqual([]);
    expect(admission.unauthenticated).toBe(4);
    // A flat flood (one connection per address) still lets a client from a new address in: the oldest goes.
    const flat = setup({ maxUnauthenticated: 3 });
    const first = flat.admitOk('10.1.0.1');
    flat.admitOk('10.1.0.2');
    flat.admitOk('10.1.0.3');
    flat.admitOk('10.1.0.4');
    expect(flat.ended.map((e) => e.ticket)).toEqual([first]);
  });

  it('ends a connection at its deadline, freeing its place, and not one that authenticated or closed', () => {
    const { admission, admitOk, ended, events } = setup();
    const slow = admitOk('10.0.0.1');
    const quick = admitOk('10.0.0.1');
    const gone = admitOk('10.0.0.1');
    vi.advanceTimersByTime(500);
    expect(quick.authenticate()).toBe(true);
    gone.release();
    vi.advanceTimersByTime(499);
    expect(ended).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ended.map((e) => e.ticket)).toEqual([slow]);
    expect(ended[0]!.end).toEqual({ kind: 'deadline', message: 'authentication timed out: a client must authenticate within 1 s of connecting' });
    expect(events).toEqual([{ type: 'deadline', address: '10.0.0.1' }]);
    expect(admission.unauthenticated).toBe(0);
    expect(admission.authenticated).toBe(1);
    expect(slow.authenticate()).toBe(false); // too late
    vi.advanceTimersByTime(10_000);
    expect(ended).toHaveLength(1);
  });

  it('the handler set by the protocol replaces the listener default', () => {
    const { admitOk, ended } = setup();
    const t = admitOk('10.0.0.1');
    const mine: AdmissionEnd[] = [];
    t.onEnd((e) => mine.push(e));
    vi.advanceTimersByTime(1_000);
    expect(mine.map((e) => e.kind)).toEqual(['deadline']);
    expect(ended).toEqual([]);
  });

  it('cancelDeadline stops the deadline but keeps the place until release', () => {
    const { admission, admitOk, ended } = setup();
    const t = admitOk('10.0.0.1');
    t.cancelDeadline();
    vi.advanceTimersByTime(5_000);
    expect(ended).toEqual([]);
    expect(admission.unauthenticated).toBe(1);
    t.release();
    expect(admission.unauthenticated).toBe(0);
  });

  it('authenticated sessions have their own capacity, which unauthenticated connections never use', () => {
    const { admission, admitOk, events } = setup({ maxAuthenticated: 2, maxUnauthenticated: 2, maxUnauthenticatedPerAddress: 2 });
    const s1 = admitOk('10.0.0.1');
    const s2 = admitOk('10.0.0.2');
    expect(s1.authenticate()).toBe(true);
    expect(s2.authenticate()).toBe(true);
    // The unauthenticated capacity is whole again, and filling it does not touch the sessions.
    const w = [admitOk('10.0.0.3'), admitOk('10.0.0.3')];
    expect(admission.unauthenticated).toBe(2);
    expect(admission.authenticated).toBe(2);
    // A third authentication finds the session capacity full: refused, still counted as waiting until it closes.
    expect(w[0]!.authenticate()).toBe(false);
    expect(w[0]!.state).toBe('unauthenticated');
    expect(events.at(-1)).toEqual({ type: 'authenticated-full', address: '10.0.0.3' });
    s1.release();
    expect(admission.authenticated).toBe(1);
    expect(w[1]!.authenticate()).toBe(true);
    expect(admission.authenticated).toBe(2);
    expect(admission.unauthenticated).toBe(1);
    w[1]!.release();
    expect(admission.authenticated).toBe(1);
  });

  it('the PostgreSQL listener\'s defaults: 2000 sessions, 512 waiting, 64 waiting per address, 10 s to authenticate', () => {
    expect(postgresListenerSchema.parse({})).toMatchObject({ maxConnections: 2000, maxUnauthenticated: 512, maxUnauthenticatedPerAddress: 64, authenticationTimeoutMs: 10_000 });
  });

  it('rejects limits that are not positive integers', () => {
    expect(() => new Admission({ ...LIMITS, maxUnauthenticated: 0 })).toThrow(/maxUnauthenticated/);
  });
});

describe('AdmissionLog', () => {
  it('logs the first event at once, then one summary per interval, and goes quiet after a quiet interval', () => {
    const lines: { o: Record<string, unknown>; msg: string }[] = [];
    const log = new AdmissionLog({ warn: (o, msg) => lines.push({ o: o as Record<string, unknown>, msg }) }, { listener: 'postgres', intervalMs: 1_000 });
    log.note({ type: 'refused', limit: 'per-address', address: '127.0.0.2' });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.o).toMatchObject({ listener: 'postgres', event: 'refusedPerAddress', client: '127.0.0.2', limit: 'per-address' });
    for (let i = 0; i < 5_000; i++) log.note({ type: 'refused', limit: 'per-address', address: '127.0.0.2' });
    for (let i = 0; i < 30; i++) log.note({ type: 'refused', limit: 'total', address: `127.0.1.${i}` });
    log.note({ type: 'deadline', address: '127.0.0.9' });
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]!.msg).toMatch(/5031 more connection\(s\) refused or closed in the last 1 s/);
    expect(lines[1]!.o).toMatchObject({ refusedPerAddress: 5_000, refusedTotal: 30, timedOut: 1, addresses: 32 });
    expect((lines[1]!.o.top as { address: string; count: number }[])[0]).toEqual({ address: '127.0.0.2', count: 5_000 });
    expect((lines[1]!.o.top as unknown[]).length).toBe(5);
    vi.advanceTimersByTime(1_000); // nothing happened: no line, and the interval stops
    expect(lines).toHaveLength(2);
    log.note({ type: 'evicted', address: '10.0.0.1' }); // quiet again: logged at once
    expect(lines).toHaveLength(3);
    log.note({ type: 'evicted', address: '10.0.0.1' });
    log.close(); // flushes what is counted
    expect(lines).toHaveLength(4);
    expect(lines[3]!.o).toMatchObject({ evicted: 1 });
  });
});
