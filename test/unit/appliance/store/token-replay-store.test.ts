/**
 * The SQLite token replay store: a jti is claimed once per issuer, the claim survives reopening the
 * database (an appliance restart), and claims are pruned once their token has expired.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../../appliance/store/database.ts';
import { SqliteTokenReplayStore } from '../../../../appliance/store/token-replay-store.ts';
import { tempDir } from '../../../helpers/evidence.ts';

const T0 = new Date('2030-06-01T12:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const ISS = 'https://token.actions.githubusercontent.com';

let file: string;
let db: Db;

beforeEach(() => {
  file = join(tempDir('vigil-replay-'), 'vigil.db');
  db = openDatabase(file);
});
afterEach(() => {
  if (db.open) db.close();
});

describe('SqliteTokenReplayStore', () => {
  it('claims a jti once; a second claim is a replay; issuers are separate namespaces', () => {
    const s = new SqliteTokenReplayStore(db, { now: T0 });
    expect(s.claim(ISS, 'jti-1', at(300), at(1))).toBe(true);
    expect(s.claim(ISS, 'jti-1', at(300), at(2))).toBe(false);
    expect(s.claim(ISS, 'jti-2', at(300), at(2))).toBe(true);
    expect(s.claim('https://other.example', 'jti-1', at(300), at(2))).toBe(true);
    expect(s.size).toBe(3);
  });

  it('remembers claims across a restart (the database reopened)', () => {
    expect(new SqliteTokenReplayStore(db, { now: T0 }).claim(ISS, 'jti-1', at(300), at(1))).toBe(true);
    db.close();
    db = openDatabase(file);
    const again = new SqliteTokenReplayStore(db, { now: at(10) });
    expect(again.size).toBe(1);
    expect(again.claim(ISS, 'jti-1', at(300), at(11))).toBe(false);
  });

  it('prunes claims whose token has expired: at start-up and, at most once an interval, on a claim', () => {
    const s = new SqliteTokenReplayStore(db, { now: T0, pruneIntervalMs: 60_000 });
    s.claim(ISS, 'short', at(10), at(1));
    s.claim(ISS, 'long', at(1000), at(1));
    expect(s.size).toBe(2);
    s.claim(ISS, 'x', at(1000), at(30)); // within the interval: no prune yet
    expect(s.size).toBe(3);
    s.claim(ISS, 'y', at(1000), at(61)); // interval passed: 'short' (expired at 10 s) goes
    expect(s.size).toBe(3);
    expect(db.prepare('SELECT jti FROM token_replay ORDER BY jti').pluck().all()).toEqual(['long', 'x', 'y']);
    db.close();
    db = openDatabase(file);
    const restarted = new SqliteTokenReplayStore(db, { now: at(2000) });
    expect(restarted.size).toBe(0);
  });

  it('keeps a claim up to its expiry, inclusive', () => {
    const s = new SqliteTokenReplayStore(db, { now: T0 });
    s.claim(ISS, 'j', at(10), at(1));
    expect(s.prune(at(10))).toBe(0);
    expect(s.claim(ISS, 'j', at(10), at(10))).toBe(false);
    expect(s.prune(at(10.001))).toBe(1);
  });

  it('treats a claim past its expiry but not yet pruned as forgotten', () => {
    const s = new SqliteTokenReplayStore(db, { now: T0, pruneIntervalMs: 3_600_000 });
    s.claim(ISS, 'j', at(10), at(1));
    expect(s.claim(ISS, 'j', at(100), at(20))).toBe(true);
    expect(s.claim(ISS, 'j', at(100), at(21))).toBe(false);
  });
});
