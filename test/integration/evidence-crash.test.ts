/**
 * Durability: a writer killed with SIGKILL leaves an archive without trailer. Recovery seals it as
 * interrupted, every durable frame verifies, and cutting it back below what the log anchored is caught.
 */
import { readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { archiveRecords, newAppliance } from '../helpers/evidence.ts';
import { startScript, vigil } from '../helpers/cli.ts';

describe('crash recovery', () => {
  it('seals a killed session as interrupted; durable frames verify; the log records it', async () => {
    const A = newAppliance();
    const child = await startScript('test/fixtures/crash-writer.ts', [A.configPath, '3', '2']);
    expect(child.line.ready).toBe(true);
    // While the writer lives it holds the directory: recovery must not seal its live session.
    const locked = vigil(['recover', '--config', A.configPath]);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(new RegExp(`in use by process ${child.pid}`));
    await child.kill('SIGKILL');

    const rec = vigil(['recover', '--config', A.configPath]);
    expect(rec.stderr).toBe('');
    expect(rec.stdout).toMatch(/sealed session #1 \(.+\) as interrupted: 5 durable frame\(s\)/);
    expect(vigil(['recover', '--config', A.configPath]).stdout).toMatch(/nothing to recover/);

    const out = join(A.dir, 'crash.vigil');
    expect(vigil(['export', '--config', A.configPath, '--out', out]).code).toBe(0);
    const v = vigil(['verify', out, '--trust', A.trustPath, '--key', join(A.dir, 'auditor.key'), '--json']);
    expect(v.code).toBe(0);
    const report = JSON.parse(v.stdout);
    expect(report.ok).toBe(true);
    expect(report.sessions).toHaveLength(1);
    expect(report.sessions[0]).toMatchObject({ status: 'interrupted', frames: 5, events: child.line.events });
    const db = new Database(join(A.dir, 'appliance', 'data', 'vigil.db'), { readonly: true });
    const types = db.prepare('SELECT type FROM log_entries ORDER BY idx').pluck().all();
    db.close();
    expect(types).toEqual(expect.arrayContaining(['session.started', 'session.anchor', 'session.interrupted']));
    expect(types).not.toContain('session.ended');
  });

  it('a torn last frame is cut off; cutting below the anchored frames is detected', async () => {
    const A = newAppliance();
    const child = await startScript('test/fixtures/crash-writer.ts', [A.configPath, '4', '2']);
    await child.kill('SIGKILL');
    const archive = String(child.line.archive);
    const anchored = Number(child.line.anchored);
    expect(anchored).toBe(4);
    const { records } = archiveRecords(new Uint8Array(readFileSync(archive)));
    // Tear the last frame (a crash in the middle of a write), then also remove two anchored frames.
    truncateSync(archive, records[anchored - 1]!.offset + 7);
    expect(statSync(archive).size).toBeLessThan(records[anchored]!.offset);

    expect(vigil(['recover', '--config', A.configPath]).stdout).toMatch(/as interrupted: 2 durable frame\(s\)/);
    const out = join(A.dir, 'cut.vigil');
    expect(vigil(['export', '--config', A.configPath, '--out', out]).code).toBe(0);
    const v = vigil(['verify', out, '--trust', A.trustPath]);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/#1\s+FAILED/);
    expect(v.stdout).toMatch(/the log attests 4 frames \(entry \d+\) but the archive has 2: frames the log saw are missing/);
  });

  it('a torn frame that was never anchored costs only itself', async () => {
    const A = newAppliance();
    const child = await startScript('test/fixtures/crash-writer.ts', [A.configPath, '2', '3']);
    await child.kill('SIGKILL');
    const archive = String(child.line.archive);
    const { records } = archiveRecords(new Uint8Array(readFileSync(archive)));
    truncateSync(archive, records[records.length - 1]!.offset + 10);
    expect(vigil(['recover', '--config', A.configPath]).stdout).toMatch(/as interrupted: 4 durable frame\(s\)/);
    const out = join(A.dir, 'torn.vigil');
    vigil(['export', '--config', A.configPath, '--out', out]);
    const v = vigil(['verify', out, '--trust', A.trustPath, '--key', join(A.dir, 'auditor.key')]);
    expect(v.stdout).toMatch(/#1\s+interrupted/);
    expect(v.code).toBe(0);
  });
});
