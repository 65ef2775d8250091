import { describe, expect, it } from 'vitest';
import { NameTable } from '../../../../appliance/protocols/postgres/name-table.ts';

/** The operations a name still keeps (private; read only to check that history does not grow). */
function history(t: NameTable<string>, name: string): number {
  const names = Reflect.get(t, 'names') as Map<string, unknown[]>;
  return names.get(name)?.length ?? 0;
}

describe('NameTable: the meaning of a name', () => {
  it('is the latest operation sent, before the server answers', () => {
    const t = new NameTable<string>();
    expect(t.get('s1')).toBeUndefined();
    expect(t.has('s1')).toBe(false);
    t.set('s1', 'A');
    expect(t.get('s1')).toBe('A');
    expect(t.has('s1')).toBe(true);
    t.set('s1', undefined); // Close sent
    expect(t.get('s1')).toBeUndefined();
    expect(t.has('s1')).toBe(false);
  });

  it('names are independent of one another', () => {
    const t = new NameTable<string>();
    t.set('a', 'A').settle(true);
    t.set('b', 'B').settle(false);
    expect(t.get('a')).toBe('A');
    expect(t.get('b')).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it('a failed operation leaves the previous meaning', () => {
    const t = new NameTable<string>();
    t.set('s1', 'A').settle(true);
    const b = t.set('s1', 'B');
    expect(t.get('s1')).toBe('B');
    b.settle(false);
    expect(t.get('s1')).toBe('A');
  });

  it('a failed Close leaves the statement open', () => {
    const t = new NameTable<string>();
    t.set('s1', 'A').settle(true);
    const close = t.set('s1', undefined);
    expect(t.has('s1')).toBe(false);
    close.settle(false);
    expect(t.get('s1')).toBe('A');
  });

  it('a failure removes only itself, never an operation sent after it', () => {
    const t = new NameTable<string>();
    t.set('s1', 'X').settle(true);
    const a = t.set('s1', 'A');
    const b = t.set('s1', 'B');
    a.settle(false);
    expect(t.get('s1')).toBe('B');
    b.settle(true);
    expect(t.get('s1')).toBe('B');
  });

  it('stale undo: s1 existed; Parse(s1=A) fails after DEALLOCATE s1 and Parse(s1=B) were sent: s1 is B', () => {
    const t = new NameTable<string>();
    t.set('s1', 'OLD').settle(true);
    const parseA = t.set('s1', 'A'); // fails on the server: s1 already exists
    const deallocate = t.set('s1', undefined);
    const parseB = t.set('s1', 'B');
    parseA.settle(false);
    expect(t.get('s1')).toBe('B');
    deallocate.settle(true);
    expect(t.get('s1')).toBe('B');
    parseB.settle(true);
    expect(t.get('s1')).toBe('B');
  });

  it('stale undo: the failure of A arriving after B was already confirmed changes nothing', () => {
    const t = new NameTable<string>();
    t.set('s1', 'OLD').settle(true);
    const parseA = t.set('s1', 'A');
    t.set('s1', undefined).settle(true);
    t.set('s1', 'B').settle(true);
    parseA.settle(false);
    expect(t.get('s1')).toBe('B');
  });

  it('everything after a failure skipped up to Sync fails too: back to what was there', () => {
    const t = new NameTable<string>();
    t.set('s1', 'OLD').settle(true);
    const ops = [t.set('s1', 'A'), t.set('s1', undefined), t.set('s1', 'B')];
    for (const op of ops) op.settle(false);
    expect(t.get('s1')).toBe('OLD');
  });

  it('settling the same operation twice has no further effect', () => {
    const t = new NameTable<string>();
    t.set('s1', 'A').settle(true);
    const b = t.set('s1', 'B');
    b.settle(true);
    b.settle(false);
    expect(t.get('s1')).toBe('B');
    const c = t.set('s1', 'C');
    c.settle(false);
    c.settle(true);
    expect(t.get('s1')).toBe('B');
  });

  it('a completed operation supersedes everything sent before it (a late answer for an earlier one is ignored)', () => {
    const t = new NameTable<string>();
    const a = t.set('s1', 'A');
    const b = t.set('s1', 'B');
    b.settle(true);
    a.settle(false);
    expect(t.get('s1')).toBe('B');
    a.settle(true);
    expect(t.get('s1')).toBe('B');
  });
});

describe("NameTable: onFail 'absent' (the unnamed statement)", () => {
  it('a failed Parse of the unnamed statement leaves it empty, not the previous one', () => {
    const t = new NameTable<string>();
    t.set('', 'X', 'absent').settle(true);
    const a = t.set('', 'A', 'absent');
    a.settle(false);
    expect(t.get('')).toBeUndefined();
    expect(t.has('')).toBe(false);
    expect(t.size).toBe(0);
  });

  it("the same failure with 'vanish' (a named statement) keeps the previous one", () => {
    const t = new NameTable<string>();
    t.set('', 'X').settle(true);
    t.set('', 'A').settle(false);
    expect(t.get('')).toBe('X');
  });

  it('a failed unnamed Parse does not hide a later one', () => {
    const t = new NameTable<string>();
    t.set('', 'X', 'absent').settle(true);
    const a = t.set('', 'A', 'absent');
    const b = t.set('', 'B', 'absent');
    a.settle(false);
    expect(t.get('')).toBe('B');
    b.settle(false);
    expect(t.get('')).toBeUndefined();
    expect(t.size).toBe(0);
  });

  it('a successful unnamed Parse is an ordinary operation', () => {
    const t = new NameTable<string>();
    t.set('', 'A', 'absent').settle(true);
    expect(t.get('')).toBe('A');
  });
});

describe('NameTable: retain and clear', () => {
  interface Portal {
    tx: number;
  }

  it('retain drops the values that fail the test, by name', () => {
    const t = new NameTable<Portal>();
    t.set('p1', { tx: 1 }).settle(true);
    t.set('p2', { tx: 2 }).settle(true);
    t.set('p3', { tx: 1 });
    t.retain((p) => p.tx === 2);
    expect(t.get('p1')).toBeUndefined();
    expect(t.get('p2')).toEqual({ tx: 2 });
    expect(t.get('p3')).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it('retain keeps the earlier value when only the latest is dropped', () => {
    const t = new NameTable<Portal>();
    t.set('p', { tx: 1 }).settle(true);
    t.set('p', { tx: 2 });
    t.retain((p) => p.tx === 1);
    expect(t.get('p')).toEqual({ tx: 1 });
  });

  it('a pending Close survives retain and still settles', () => {
    const t = new NameTable<Portal>();
    t.set('p', { tx: 1 }).settle(true);
    const close = t.set('p', undefined);
    t.retain(() => false);
    expect(t.get('p')).toBeUndefined();
    expect(t.size).toBe(1);
    close.settle(true);
    expect(t.size).toBe(0);
  });

  it('an operation dropped by retain settles harmlessly', () => {
    const t = new NameTable<Portal>();
    const p = t.set('p', { tx: 1 });
    t.retain(() => false);
    expect(t.size).toBe(0);
    p.settle(true);
    expect(t.get('p')).toBeUndefined();
    p.settle(false);
    expect(t.size).toBe(0);
  });

  it('clear forgets every name; answers to operations sent before it change nothing', () => {
    const t = new NameTable<string>();
    const a = t.set('a', 'A');
    const b = t.set('b', 'B');
    t.clear();
    expect(t.size).toBe(0);
    a.settle(true);
    b.settle(false);
    expect(t.get('a')).toBeUndefined();
    expect(t.size).toBe(0);
  });

  it('an answer to an operation sent before clear does not touch the name set again after it', () => {
    const t = new NameTable<string>();
    t.set('s1', 'OLD').settle(true);
    const a = t.set('s1', 'A');
    t.clear(); // DEALLOCATE ALL
    const b = t.set('s1', 'B');
    a.settle(true);
    expect(t.get('s1')).toBe('B');
    a.settle(false);
    expect(t.get('s1')).toBe('B');
    b.settle(false);
    expect(t.get('s1')).toBeUndefined();
  });
});

describe('NameTable: pruning', () => {
  it('re-preparing one name many times keeps one operation', () => {
    const t = new NameTable<string>();
    for (let i = 0; i < 10_000; i++) t.set('s', `v${i}`).settle(true);
    expect(t.get('s')).toBe('v9999');
    expect(history(t, 's')).toBe(1);
  });

  it('failures leave no trace', () => {
    const t = new NameTable<string>();
    t.set('s', 'A').settle(true);
    for (let i = 0; i < 10_000; i++) t.set('s', `v${i}`).settle(false);
    expect(t.get('s')).toBe('A');
    expect(history(t, 's')).toBe(1);
  });

  it('names prepared and closed leave nothing behind', () => {
    const t = new NameTable<string>();
    for (let i = 0; i < 1000; i++) {
      t.set(`s${i}`, 'A').settle(true);
      t.set(`s${i}`, undefined).settle(true);
    }
    expect(t.size).toBe(0);
  });

  it('unnamed statements parsed over and over (some failing) keep at most one operation', () => {
    const t = new NameTable<string>();
    for (let i = 0; i < 1000; i++) t.set('', `q${i}`, 'absent').settle(i % 3 !== 1);
    expect(history(t, '')).toBeLessThanOrEqual(1);
    expect(t.get('')).toBe('q999');
    t.set('', 'bad', 'absent').settle(false);
    expect(t.size).toBe(0);
  });

  it('a pipeline answered in order shrinks back to one operation', () => {
    const t = new NameTable<string>();
    const pending = Array.from({ length: 100 }, (_, i) => t.set('s', `v${i}`));
    expect(history(t, 's')).toBe(100);
    pending.forEach((p, i) => p.settle(i % 2 === 0));
    expect(history(t, 's')).toBe(1);
    expect(t.get('s')).toBe('v98');
  });
});
