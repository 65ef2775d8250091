import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CommandResult, Pending } from '../../../../appliance/protocols/postgres/response-tracker.ts';
import { StatementTimer, setsStatementTimeout, timeoutMs, timeoutProblem } from '../../../../appliance/protocols/postgres/statement-limits.ts';
import { SqlClassifier, type ClassifiedStatement } from '../../../../appliance/sql/index.ts';

let classifier: SqlClassifier;
beforeAll(async () => {
  classifier = await SqlClassifier.create();
});

function one(sql: string): ClassifiedStatement {
  const c = classifier.classify(sql);
  expect(c.parseError, sql).toBeUndefined();
  expect(c.statements).toHaveLength(1);
  return c.statements[0]!;
}

describe('timeoutMs', () => {
  it.each([
    ['5', 5],
    ['0', 0],
    ['5ms', 5],
    ['500us', 0.5],
    ['1s', 1000],
    ['1 s', 1000],
    ['2min', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1.5s', 1500],
    ['0.25min', 15_000],
    [' 10 ', 10],
    ['-1', -1],
  ])('%j is %d ms', (v, ms) => expect(timeoutMs(v)).toBe(ms));

  it.each(['', ' ', 'abc', '1x', '1 2', '1sec', '1m', '1e3', '0x10', '+5', '.5', '5.', '1s s', 's', '5constructor', '5__proto__', '5valueof', '5tostring'])('%j is unreadable', (v) => {
    expect(timeoutMs(v)).toBeUndefined();
  });
});

describe('timeoutProblem', () => {
  it('a unit named after an Object member is unreadable, so refused (it read as NaN ms, which passed every check)', () => {
    expect(timeoutProblem('5constructor', 30)).toBe('statement_timeout is set to a value Vigil cannot read');
  });

  it('values within the limit pass', () => {
    expect(timeoutProblem('30s', 30)).toBeUndefined();
    expect(timeoutProblem('30000', 30)).toBeUndefined();
    expect(timeoutProblem('1', 30)).toBeUndefined();
    expect(timeoutProblem('0.5min', 30)).toBeUndefined();
  });

  it('values above the limit are refused, naming the value and the limit', () => {
    expect(timeoutProblem('31s', 30)).toBe("statement_timeout 31s is above the policy's maxStatementSeconds (30 s)");
    expect(timeoutProblem('30001', 30)).toMatch(/above/);
    expect(timeoutProblem('1d', 30)).toMatch(/above/);
  });

  it('0 and negative values mean no limit and are refused', () => {
    expect(timeoutProblem('0', 30)).toMatch(/0 \(no limit\)/);
    expect(timeoutProblem('0ms', 30)).toMatch(/no limit/);
    expect(timeoutProblem('-1', 30)).toMatch(/no limit/);
  });

  it('a value PostgreSQL rounds to 0 ms (no limit) is refused', () => {
    for (const v of ['0.4', '0.5', '400us', '0.0001s']) expect(timeoutProblem(v, 30), v).toMatch(/no limit/);
  });

  it('an unreadable value (or none) is refused', () => {
    expect(timeoutProblem(undefined, 30)).toBe('statement_timeout is set to a value Vigil cannot read');
    expect(timeoutProblem('forever', 30)).toBe('statement_timeout is set to a value Vigil cannot read');
  });
});

describe('setsStatementTimeout', () => {
  it.each([
    ["SET statement_timeout = '5s'", '5s'],
    ['SET statement_timeout TO 5000', '5000'],
    ['SET statement_timeout = 0', '0'],
    ['SET statement_timeout = -1', '-1'],
    ["SET LOCAL statement_timeout = '1min'", '1min'],
    ["SET SESSION statement_timeout = '2s'", '2s'],
    ["SET Statement_Timeout = '3s'", '3s'],
    ["SELECT set_config('statement_timeout', '10s', false)", '10s'],
    ["SELECT pg_catalog.set_config('statement_timeout', '0', true)", '0'],
    ["SELECT set_config('STATEMENT_TIMEOUT', '0', false)", '0'],
    ["SELECT set_config('work_mem', '1MB', false), set_config('statement_timeout', '7s', false)", '7s'],
  ])('%s sets %j', (sql, value) => expect(setsStatementTimeout(one(sql))).toBe(value));

  it.each([
    'RESET statement_timeout',
    'SET statement_timeout TO DEFAULT',
    'RESET ALL',
    "SET work_mem = '1GB'",
    "SELECT set_config('work_mem', '1GB', false)",
    'SELECT 1',
    "SELECT current_setting('statement_timeout')",
  ])('%s does not set it', (sql) => expect(setsStatementTimeout(one(sql))).toBeUndefined());

  it.each([
    "SET statement_timeout = '1s', '2s'",
    "SELECT set_config('statement_timeout', $1, false)",
    "SELECT set_config($1, '0', false)",
    "SELECT set_config('statement_timeout', '0' || '', false)",
  ])('%s sets it to something unreadable', (sql) => expect(setsStatementTimeout(one(sql))).toBe('unreadable'));

  it('a numeric constant with a fraction is read as written', () => {
    expect(setsStatementTimeout(one('SET statement_timeout = 1500.5'))).toBe('1500.5');
  });

  it('of several set_config calls of statement_timeout, the one that lifts it most counts', () => {
    for (const sql of [
      "SELECT set_config('statement_timeout', '1s', false), set_config('statement_timeout', '0', false)",
      "SELECT set_config('statement_timeout', '1s', false) UNION ALL SELECT set_config('statement_timeout', '1h', false)",
      "SELECT set_config('statement_timeout', '1s', false) WHERE set_config('statement_timeout', $1, false) IS NOT NULL",
    ]) {
      const value = setsStatementTimeout(one(sql));
      expect(value, sql).toBeDefined();
      expect(timeoutProblem(value === 'unreadable' ? undefined : value, 30), sql).toBeDefined();
    }
  });

  it('reads the values of this statement, not those of an earlier one of the same shape (the classifier cache)', () => {
    expect(setsStatementTimeout(one("SET statement_timeout = '1s'"))).toBe('1s');
    expect(setsStatementTimeout(one("SET statement_timeout = '1h'"))).toBe('1h');
    expect(setsStatementTimeout(one("SELECT set_config('statement_timeout', '1s', false)"))).toBe('1s');
    expect(setsStatementTimeout(one("SELECT set_config('statement_timeout', '0', false)"))).toBe('0');
  });
});

describe('StatementTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const cmd = (): CommandResult => ({ id: 1, startedAt: 0, plan: undefined, columns: undefined, rows: [], rowsReturned: 0 });
  const query = (): Pending => ({ kind: 'query', cmd: cmd() });

  it('fires once for a head that stays past the limit', () => {
    const fired: Pending[] = [];
    const t = new StatementTimer(2, (p) => fired.push(p));
    const head = query();
    t.check(head);
    vi.advanceTimersByTime(1999);
    expect(fired).toEqual([]);
    t.check(head); // asked again: the clock is not restarted
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([head]);
    t.check(head);
    vi.advanceTimersByTime(10_000);
    expect(fired).toHaveLength(1);
  });

  it('does not fire for a head that changed in time; the clock restarts for the next one', () => {
    const fired: Pending[] = [];
    const t = new StatementTimer(2, (p) => fired.push(p));
    const first = query();
    const second: Pending = { kind: 'execute', cmd: cmd(), portal: undefined };
    t.check(first);
    vi.advanceTimersByTime(1500);
    t.check(second);
    vi.advanceTimersByTime(1500);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(500);
    expect(fired).toEqual([second]);
  });

  it('stops when the queue empties, and on stop()', () => {
    const fired: Pending[] = [];
    const t = new StatementTimer(1, (p) => fired.push(p));
    t.check(query());
    vi.advanceTimersByTime(500);
    t.check(undefined);
    vi.advanceTimersByTime(5000);
    const head = query();
    t.check(head);
    t.stop();
    vi.advanceTimersByTime(5000);
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('watches only commands the server runs: queries, executes and function calls with a result', () => {
    const fired: Pending[] = [];
    const t = new StatementTimer(1, (p) => fired.push(p));
    const pendingName = { settle: () => undefined };
    const ignored: Pending[] = [
      { kind: 'parse', name: pendingName },
      { kind: 'bind', name: pendingName, portal: { name: '', statement: undefined, params: [], paramFormats: [], resultFormats: [], recordedParams: [], fields: undefined, describing: false, boundAt: 0 } },
      { kind: 'sync' },
      { kind: 'describe', target: 'S', portal: undefined, swallow: false },
      { kind: 'query', cmd: undefined },
      { kind: 'probe', rows: [], error: undefined, done: () => undefined },
    ];
    for (const p of ignored) {
      t.check(p);
      vi.advanceTimersByTime(2000);
    }
    expect(fired).toEqual([]);
    const fn: Pending = { kind: 'function', cmd: cmd() };
    t.check(fn);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([fn]);
  });

  it('a head that leaves and another that arrives before the old timer would fire: only the new one fires', () => {
    const fired: Pending[] = [];
    const t = new StatementTimer(1, (p) => fired.push(p));
    const a = query();
    const b = query();
    t.check(a);
    vi.advanceTimersByTime(999);
    t.check(b);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(999);
    expect(fired).toEqual([b]);
  });
});
