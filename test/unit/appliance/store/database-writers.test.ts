/**
 * Two writers on one appliance database: the gateway (owner) and `vigil export` beside it (joinRunning).
 * Their transactions must serialise — a transaction that reads, then writes, must not be broken by the
 * other writer committing in between (what SQLite's deferred transactions do: SQLITE_BUSY_SNAPSHOT).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../../appliance/store/database.ts';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'vigil-db-')), 'vigil.db');

describe('two writers on the appliance database', () => {
  it('a transaction holds the write lock from its start: the other writer waits, the transaction commits', () => {
    const path = fresh();
    const gateway = openDatabase(path);
    const exporter = openDatabase(path, { joinRunning: true });
    exporter.pragma('busy_timeout = 0'); // fail at once instead of waiting (one thread: waiting would be for nothing)
    const insert = (db: typeof gateway, k: string) => db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(k, 'v');
    gateway.transaction(() => {
      gateway.prepare('SELECT count(*) FROM meta').pluck().get(); // read first, as the recorder does
      expect(() => insert(exporter, 'exporter')).toThrow(/database is locked/);
      insert(gateway, 'gateway');
    })();
    insert(exporter, 'exporter'); // and gets its turn afterwards
    expect(gateway.prepare('SELECT key FROM meta WHERE key IN (?, ?) ORDER BY key').pluck().all('exporter', 'gateway')).toEqual(['exporter', 'gateway']);
    gateway.close();
    exporter.close();
  });

  it('joining a running appliance never creates or migrates its database', () => {
    expect(() => openDatabase(fresh(), { joinRunning: true })).toThrow(expect.objectContaining({ code: 'E_STORE' }));
    const path = fresh();
    const db = openDatabase(path);
    db.pragma('user_version = 1'); // as an older Vigil left it
    db.close();
    expect(() => openDatabase(path, { joinRunning: true })).toThrow(/schema version 1, this Vigil expects \d+/);
  });
});
