import { chmodSync, existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../../appliance/store/database.ts';

const mode = (p: string): number => statSync(p).mode & 0o777;

describe('the appliance database file', () => {
  it('is created owner-only, and so are its WAL and shared-memory files, whatever the umask', () => {
    const old = process.umask(0o022);
    try {
      const path = join(mkdtempSync(join(tmpdir(), 'vigil-db-')), 'vigil.db');
      const db = openDatabase(path);
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('k', 'v');
      for (const p of [path, `${path}-wal`, `${path}-shm`]) {
        expect(existsSync(p), p).toBe(true);
        expect(mode(p), p).toBe(0o600);
      }
      db.close();
    } finally {
      process.umask(old);
    }
  });

  it('tightens a world-readable database an older version left behind', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vigil-db-')), 'vigil.db');
    openDatabase(path).close();
    chmodSync(path, 0o644);
    openDatabase(path).close();
    expect(mode(path)).toBe(0o600);
  });

  it('opens read-only without touching the mode (a reader may not own the file)', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vigil-db-')), 'vigil.db');
    openDatabase(path).close();
    chmodSync(path, 0o640);
    openDatabase(path, { readonly: true }).close();
    expect(mode(path)).toBe(0o640);
  });
});
