/**
 * Retention: the config refuses less than PCI DSS 10.5.1's 12 months; the job purges what is past
 * retention (dry run first), keeps what is on legal hold, writes signed purge records; the verifier reports
 * purged sessions as purged (pass) and a deleted archive without a record as missing (fail). Real
 * appliance on a clock the test moves forward, real exporter, real verifier, real CLI.
 */
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Appliance } from '../../appliance/appliance.ts';
import { loadConfig } from '../../appliance/config/load-config.ts';
import { placeHold, releaseHold } from '../../appliance/retention/holds.ts';
import { runRetention } from '../../appliance/retention/purge.ts';
import { vigil } from '../helpers/cli.ts';
import { failures, newAppliance, verifyBytes, type TestAppliance } from '../helpers/evidence.ts';
import { exportTo, recordSessions } from '../helpers/viewer-evidence.ts';

const DAY = 86_400_000;

/** An appliance whose clock the test moves: `clock.t` is "now" in ms. */
async function withClock(a: TestAppliance, clock: { t: number }): Promise<Appliance> {
  return Appliance.open(a.configPath, { now: () => new Date(clock.t) });
}

function setRetention(a: TestAppliance, block: string): void {
  writeFileSync(a.configPath, readFileSync(a.configPath, 'utf8') + block);
}

async function sessionRows(app: Appliance): Promise<{ id: string; seq: number; path: string }[]> {
  return app.db.prepare('SELECT id, seq, path FROM sessions ORDER BY seq').all() as { id: string; seq: number; path: string }[];
}

describe('retention config', () => {
  it('refuses a retention below 12 months, with the requirement in the error', () => {
    const a = newAppliance();
    setRetention(a, '\nretention:\n  days: 180\n');
    expect(() => loadConfig(a.configPath)).toThrow(/retention\.days: below PCI DSS 10\.5\.1's minimum of 12 months \(365 days\)/);
    const r = vigil(['retention', 'run', '--config', a.configPath, '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/vigil\.yaml:\d+: retention\.days: below PCI DSS 10\.5\.1/);
  });

  it('defaults to 7 years', () => {
    expect(loadConfig(newAppliance().configPath).config.retention).toEqual({ days: 2557, policy: 'default', intervalHours: 24 });
  });
});

describe('purge and legal hold', () => {
  it('dry run lists, the run purges with a signed record, a held session stays; the verifier tells purged from missing', async () => {
    const a = newAppliance();
    setRetention(a, '\nretention:\n  days: 400\n  policy: pci-13-months\n');
    const clock = { t: Date.now() };
    let app = await withClock(a, clock);
    const ids = await recordSessions(app, [{ subject: 'bot-a', commands: 1 }, { subject: 'bot-b', commands: 1 }, { subject: 'bot-c', commands: 1 }, { subject: 'bot-d', commands: 1 }]);
    const rows = await sessionRows(app);
    placeHold(app, ids[1]!, 'case 2026-114', 'legal');
    placeHold(app, ids[3]!, 'short inquiry', 'legal');
    releaseHold(app, ids[3]!, 'inquiry closed', 'legal');

    clock.t += 399 * DAY; // not yet due
    expect((await runRetention(app, { now: new Date(clock.t) })).due).toEqual([]);
    clock.t += 2 * DAY;
    const dry = await runRetention(app, { now: new Date(clock.t), dryRun: true });
    expect(dry.due.map((s) => s.seq)).toEqual([1, 3, 4]);
    expect(dry.held.map((s) => s.seq)).toEqual([2]);
    for (const r of rows) expect(existsSync(join(a.dir, 'appliance', 'data', r.path)), r.path).toBe(true);

    const before = join(a.dir, 'before-purge.vigil');
    const run = await runRetention(app, { now: new Date(clock.t), exportTo: before });
    expect(run.due.map((s) => s.seq)).toEqual([1, 3, 4]);
    // Exported (and logged) before anything was purged: that bundle still holds every archive.
    expect(run.exportedIn).toMatch(/^[0-9a-f-]{36}$/);
    const exported = await verifyBytes(new Uint8Array(readFileSync(before)), a.trust, a.auditor);
    expect(failures(exported)).toEqual([]);
    expect(exported.sessions.map((s) => s.status)).toEqual(['complete', 'complete', 'complete', 'complete']);
    expect(exported.bundle!.bundleId).toBe(run.exportedIn);
    expect(run.records).toHaveLength(1);
    expect(run.deleted).toEqual({ local: 3, bucket: 0 });
    const exists = rows.map((r) => existsSync(join(a.dir, 'appliance', 'data', r.path)));
    expect(exists).toEqual([false, true, false, false]);
    const entry = JSON.parse(app.db.prepare('SELECT data FROM log_entries WHERE idx = ?').pluck().get(run.records[0]) as string);
    expect(entry).toMatchObject({ type: 'evidence.purged', sessions: 3 });
    const record = JSON.parse(entry.record.signed);
    expect(record).toMatchObject({ format: 'vigil-purge', reason: 'retention', policy: { name: 'pci-13-months', days: 400 }, exportedIn: run.exportedIn });
    expect(record.sessions.map((s: { seq: number }) => s.seq)).toEqual([1, 3, 4]);
    expect(record.sessions[0].archiveSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(record.sessions[0].copies).toEqual(['local']);
    // A second run finds nothing more to do.
    expect((await runRetention(app, { now: new Date(clock.t) })).due).toEqual([]);
    await app.close();

    const bundle = await exportTo(a.configPath, join(a.dir, 'after-purge.vigil'));
    const report = await verifyBytes(bundle, a.trust, a.auditor);
    expect(failures(report)).toEqual([]);
    expect(report.verdict.status).toBe('pass');
    expect(report.sessions.map((s) => [s.seq, s.status])).toEqual([[1, 'purged'], [2, 'complete'], [3, 'purged'], [4, 'purged']]);
    expect(report.sessions[0]!.reasons[0]).toMatch(/purged by signed record at .* under retention policy "pci-13-months" \(400 days after its end/);
    expect(report.checks.find((c) => c.id === 'session-sequence')).toMatchObject({ status: 'pass', covered: 4, total: 4 });
    const cli = vigil(['verify', join(a.dir, 'after-purge.vigil'), '--trust', a.trustPath, '--key', join(a.dir, 'auditor.key')]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/#1 +purged [^\n]*\n +from the signed log; content unavailable[^\n]*\n +purged by signed record at .* under retention policy "pci-13-months"/);
    expect(cli.stdout).toMatch(/PASS: 4 sessions — .*3 purged/);

    // The held session's archive deleted by hand, with no record: missing, a failure, as before.
    app = await withClock(a, clock);
    unlinkSync(join(a.dir, 'appliance', 'data', rows[1]!.path));
    await app.close();
    const deleted = await verifyBytes(await exportTo(a.configPath, join(a.dir, 'deleted.vigil')), a.trust, a.auditor);
    expect(deleted.verdict.status).toBe('fail');
    expect(deleted.sessions.map((s) => [s.seq, s.status])).toEqual([[1, 'purged'], [2, 'failed'], [3, 'purged'], [4, 'purged']]);
    expect(failures(deleted)).toEqual([expect.stringMatching(/session-sequence: .*ended \(log entry \d+\) but its archive is not in the bundle/)]);
  });

  it('the CLI: --dry-run, hold, release, holds, run', async () => {
    const a = newAppliance();
    setRetention(a, '\nretention:\n  days: 365\n');
    // The log's clock never runs backwards, so nothing recorded here is a year old: the CLI is exercised
    // for the dry run, holds and an empty run; the purge itself is proven above on a moved clock.
    const clock = { t: Date.now() };
    const app = await withClock(a, clock);
    const [id] = await recordSessions(app, [{ subject: 'bot', commands: 1 }]);
    await app.close();
    const dry = vigil(['retention', 'run', '--config', a.configPath, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/retention policy "default": 365 days; sessions that ended before .* are due\nwould purge 0 sessions/);
    const hold = vigil(['retention', 'hold', id!.slice(0, 8), '--config', a.configPath, '--reason', 'case 7']);
    expect(hold.code, hold.stderr).toBe(0);
    expect(hold.stdout).toContain(`session ${id} on legal hold`);
    expect(vigil(['retention', 'hold', id!, '--config', a.configPath, '--reason', 'again']).stderr).toMatch(/already on hold/);
    const list = vigil(['retention', 'holds', '--config', a.configPath, '--json']);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ sessionId: id, reason: 'case 7' })]);
    expect(vigil(['retention', 'release', id!, '--config', a.configPath, '--reason', 'closed']).code).toBe(0);
    expect(vigil(['retention', 'holds', '--config', a.configPath]).stdout).toBe('no session is on legal hold\n');
    const run = vigil(['retention', 'run', '--config', a.configPath, '--json']);
    expect(JSON.parse(run.stdout)).toMatchObject({ due: [], held: [], records: [] });
  });
});
