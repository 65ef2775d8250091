/**
 * Durability: a writer killed with SIGKILL leaves its commands in the evidence journal (and perhaps
 * partly in its archive). Recovery replays the journal, seals the archive as interrupted, and every
 * committed frame verifies; an archive cut back below what the log anchored is caught even then.
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { replayJournal } from '../../appliance/evidence/journal.ts';
import { archiveRecords, newAppliance } from '../helpers/evidence.ts';
import { startScript, vigil } from '../helpers/cli.ts';

function journalFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
}

describe('crash recovery', () => {
  it('seals a killed session as interrupted from the journal; committed frames verify; the log records it', async () => {
    const A = newAppliance();
    const child = await startScript('test/fixtures/crash-writer.ts', [A.configPath, '3', '2']);
    expect(child.line.ready).toBe(true);
    // While the writer lives it holds the directory: recovery must not seal its live session.
    const locked = vigil(['recover', '--config', A.configPath]);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(new RegExp(`in use by process ${child.pid}`));
    await child.kill('SIGKILL');
    // The archive file itself may hold little or nothing yet: the journal has the committed bytes.
    expect(statSync(String(child.line.archive)).size).toBeLessThan(600);

    const rec = vigil(['recover', '--config', A.configPath]);
    expect(rec.stderr).toBe('');
    expect(rec.stdout).toMatch(/sealed session #1 \(.+\) as interrupted: 5 durable frames/);
    expect(vigil(['recover', '--config', A.configPath]).stdout).toMatch(/nothing to recover/);
    expect(journalFiles(String(child.line.journal)).length).toBe(0); // replayed, then removed (the new run's own file closed empty)

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

  it('bulk output written only to the archive file (not the journal) is durable with the next committed command', async () => {
    const A = newAppliance();
    const child = await startScript('test/fixtures/crash-writer.ts', [A.configPath, '1', '1', '1024']);
    expect(child.line.ready).toBe(true);
    await child.kill('SIGKILL');
    // The journal holds the small command frames, not the 1 MiB of output frames: those are in the archive.
    const journalBytes = journalFiles(String(child.line.journal)).reduce((n, f) => n + statSync(f).size, 0);
    expect(journalBytes).toBeLessThan(64 * 1024);
    expect(statSync(String(child.line.archive)).size).toBeGreaterThan(1024 * 1024);
    const rec = vigil(['recover', '--config', A.configPath]);
    expect(rec.stderr).toBe('');
    const out = join(A.dir, 'bulk.vigil');
    expect(vigil(['export', '--config', A.configPath, '--out', out]).code).toBe(0);
    const v = vigil(['verify', out, '--trust', A.trustPath, '--key', join(A.dir, 'auditor.key'), '--json']);
    expect(v.code).toBe(0);
    const report = JSON.parse(v.stdout);
    expect(report.ok).toBe(true);
    // Every event up to the last committed command (after the bulk output) survived the kill.
    expect(report.sessions[0]).toMatchObject({ status: 'interrupted', events: child.line.events });
  });

  it('an archive cut back below the anchored frames (and its journal destroyed) fails verification', async () => {
    const A = newAppliance();
    const child = await startScript('test/fixtures/crash-writer.ts', [A.configPath, '4', '2']);
    await child.kill('SIGKILL');
    const archive = String(child.line.archive);
    const journal = String(child.line.journal);
    const anchored = Number(child.line.anchored);
    expect(anchored).toBe(4);
    // An attacker with disk access: writes the journal's bytes into the archive, cuts it after frame 1,
    // and removes the journal, so that nothing can restore it.
    const db = new Database(join(A.dir, 'appliance', 'data', 'vigil.db'), { readonly: true });
    const id = db.prepare('SELECT id FROM sessions').pluck().get() as string;
    db.close();
    replayJournal(journal, new Map([[id, archive]]));
    const { records } = archiveRecords(new Uint8Array(readFileSync(archive)));
    truncateSync(archive, records[3]!.offset + 7);
    for (const f of journalFiles(journal)) rmSync(f);

    expect(vigil(['recover', '--config', A.configPath]).stdout).toMatch(/as interrupted: 2 durable frames/);
    const out = join(A.dir, 'cut.vigil');
    expect(vigil(['export', '--config', A.configPath, '--out', out]).code).toBe(0);
    const v = vigil(['verify', out, '--trust', A.trustPath]);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/#1\s+FAILED/);
    expect(v.stdout).toMatch(/the log attests 4 frames \(entry \d+\) but the archive has 2: frames the log saw are missing/);
  });

  it('a torn journal write (never acknowledged) costs only itself', async () => {
    const A = newAppliance();
    const child = await startScript('test/fixtures/crash-writer.ts', [A.configPath, '2', '3']);
    await child.kill('SIGKILL');
    const files = journalFiles(String(child.line.journal));
    const last = files[files.length - 1]!;
    truncateSync(last, statSync(last).size - 10); // the last entry's tail never reached the disk
    expect(vigil(['recover', '--config', A.configPath]).stdout).toMatch(/as interrupted: 4 durable frames/);
    const out = join(A.dir, 'torn.vigil');
    vigil(['export', '--config', A.configPath, '--out', out]);
    const v = vigil(['verify', out, '--trust', A.trustPath, '--key', join(A.dir, 'auditor.key')]);
    expect(v.stdout).toMatch(/#1\s+interrupted/);
    expect(v.code).toBe(0);
  });
});
